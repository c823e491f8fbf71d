"""uvicorn's Server with a drain: after SIGTERM, report not-ready for DRAIN_SECONDS, then stop.

A load balancer (a Kubernetes Service, say) notices a pod is going away only through its
readiness probe, some seconds after the SIGTERM. Closing the listening socket at once would
refuse the requests still routed here meanwhile; instead the server keeps answering, with
/health/ready at 503, and begins uvicorn's graceful shutdown when the drain ends. Requests
still running GRACEFUL_SHUTDOWN_SECONDS later get 503 (service.middleware.ShutdownCutoff),
and `exit_without_request_threads` ends the process even if their threads still compute.

DrainingServer overrides uvicorn.Server's `handle_exit`, `on_tick` and `shutdown` and sets its
`should_exit`: methods without an underscore, but not a documented extension interface.
pyproject.toml pins uvicorn to the exact version they were written against, and
tests/service/test_server_drain.py and test_server_shutdown.py exercise each in a real process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import resource
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from service.app import create_app
from service.connections import WORKER_PROTOCOL, configure_worker_protocol, guarded_protocol
from service.logs import configure_logging
from service.readiness import Readiness
from service.settings import Settings, SettingsError, load_settings

# Descriptors beyond the connections: the listening socket, the artifact, logs, the event loop.
SPARE_DESCRIPTORS = 64


class DrainingServer(uvicorn.Server):
    """A first SIGTERM starts the drain; a second signal, or SIGINT, shuts down at once."""

    def __init__(self, config: uvicorn.Config, readiness: Readiness, drain_seconds: float) -> None:
        super().__init__(config)
        self.readiness = readiness
        self.drain_seconds = drain_seconds
        self.drain_deadline: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.readiness.drain()
        if sig == signal.SIGTERM and self.drain_seconds > 0 and self.drain_deadline is None:
            # Not passed on: the server stops at the drain's end, and `serve` returns (exit 0).
            self.drain_deadline = time.monotonic() + self.drain_seconds
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        # Called every 0.1 s by uvicorn's main loop: the drain ends on the first tick past it.
        if self.drain_deadline is not None and time.monotonic() >= self.drain_deadline:
            self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.readiness.drain()  # whatever stopped the server, it is no longer ready
        await super().shutdown(sockets)


def serve(app: FastAPI, settings: Settings, listener: socket.socket) -> None:
    """Serve `app` on `listener` until a signal ends the drain and the graceful shutdown.

    With WORKERS above 1, uvicorn's supervisor starts that many processes on the listener, each
    building its own app from the environment (`worker_app`), and `app` only proved at start
    that the settings and the artifacts are usable.
    """
    if settings.workers > 1:
        config = uvicorn.Config(
            WORKER_APP, factory=True, workers=settings.workers, http=WORKER_PROTOCOL, **_options(settings)
        )
        Multiprocess(config, sockets=[listener]).run()
        return
    http = guarded_protocol(settings.header_timeout_seconds, settings.max_connections)
    config = uvicorn.Config(app, http=http, **_options(settings))
    DrainingServer(config, app.state.readiness, settings.drain_seconds).run(sockets=[listener])


WORKER_APP = "service.server:worker_app"


def worker_app() -> FastAPI:
    """One worker's app, from the environment that `python -m service` set up (a factory);
    its connections get the bounds of the same settings."""
    return_large_buffers_to_the_system()
    die_with_the_supervisor()
    settings = load_settings()
    configure_logging(settings)
    configure_worker_protocol(settings.header_timeout_seconds, settings.max_connections)
    return create_app(settings)


def _options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "log_level": settings.log_level,
        "access_log": False,  # service.middleware.AccessLog writes it, with the request id
        "server_header": False,
        "timeout_graceful_shutdown": settings.graceful_shutdown_seconds,
    }


IDLE_THREADS_SECONDS = 1.0


def exit_without_request_threads(status: int) -> None:
    """End the process now if request threads still run after the graceful shutdown.

    Python cannot stop a thread, and the interpreter waits for every one at exit: a forward
    pass cancelled by the deadline would otherwise hold the process (and the pod) until it ends.
    Their requests have had their 503 already.
    """
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    deadline = time.monotonic() + IDLE_THREADS_SECONDS
    for thread in others:  # idle pool threads end at once once the event loop has closed
        thread.join(max(deadline - time.monotonic(), 0))
    running = [thread for thread in others if thread.is_alive()]
    if not running:
        return
    plural = "s" if len(running) != 1 else ""
    logging.getLogger("service").warning(
        "exiting with %d request thread%s still running past GRACEFUL_SHUTDOWN_SECONDS", len(running), plural
    )
    logging.shutdown()
    os._exit(status)


PR_SET_PDEATHSIG = 1  # prctl(2)


def die_with_the_supervisor() -> None:
    """Ask Linux for a SIGTERM when this worker's supervisor dies, even by SIGKILL: without it
    the workers keep the port and a restart cannot listen. SIGTERM is their graceful shutdown,
    which closes the listening socket at once. A no-op off Linux."""
    supervisor = multiprocessing.parent_process()  # the process that spawned this one
    prctl = getattr(_libc(), "prctl", None)
    if prctl is None or supervisor is None:
        return
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor.pid:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name is not None else None


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD_BYTES = 128 << 10


def return_large_buffers_to_the_system() -> None:
    """Make glibc allocate every buffer over 128 kB (request bodies) by mmap, returned to the
    system when freed. Without it glibc raises that threshold after the first freed buffer and
    keeps later ones in its heap: 128 MB of bodies, once closed, still held 249 MB of RSS
    (docs/reliability.md). A no-op where the C library is not glibc."""
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def bind(settings: Settings) -> socket.socket:
    """A socket bound to HOST:PORT (listening starts with the server), or SettingsError naming them.

    Bound here rather than by uvicorn, whose failure is a multi-line log and exit status 1.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as error:
        raise SettingsError(f"invalid setting HOST={settings.host!r}: {_reason(error)}") from None
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
    except OSError as error:
        listener.close()
        raise SettingsError(
            f"cannot listen on HOST={settings.host!r} PORT={settings.port}: {_reason(error)}"
        ) from None
    listener.set_inheritable(True)
    return listener


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


def ensure_descriptors(max_connections: int) -> None:
    """Raise the soft limit on open files to fit MAX_CONNECTIONS, or SettingsError if it cannot."""
    needed = max_connections + SPARE_DESCRIPTORS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise SettingsError(
                f"invalid setting MAX_CONNECTIONS={max_connections}: needs {needed} open files, "
                f"the process may have at most {hard} (ulimit -n)"
            )
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
