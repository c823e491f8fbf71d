"""uvicorn's Server with a drain: after SIGTERM, report not-ready for DRAIN_SECONDS, then stop.

A load balancer (a Kubernetes Service, say) notices a pod is going away only through its
readiness probe, some seconds after the SIGTERM. Closing the listening socket at once would
refuse the requests still routed here meanwhile; instead the server keeps answering, with
/health/ready at 503, and begins uvicorn's graceful shutdown when the drain ends.
"""

from __future__ import annotations

import signal
import socket
import time
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from service.app import create_app
from service.logs import configure_logging
from service.readiness import Readiness
from service.settings import Settings, load_settings


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
            # Recorded as uvicorn records it, so the signal is raised again after shutdown.
            self._captured_signals.append(sig)
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


def serve(app: FastAPI, settings: Settings) -> None:
    """Serve `app` on HOST:PORT until a signal ends the drain and the graceful shutdown.

    With WORKERS above 1, uvicorn's supervisor starts that many processes on one socket, each
    building its own app from the environment (`worker_app`), and `app` only proved at start
    that the settings and the artifact are usable.
    """
    if settings.workers > 1:
        uvicorn.run(WORKER_APP, factory=True, workers=settings.workers, **_options(settings))
        return
    config = uvicorn.Config(app, **_options(settings))
    DrainingServer(config, app.state.readiness, settings.drain_seconds).run()


WORKER_APP = "service.server:worker_app"


def worker_app() -> FastAPI:
    """One worker's app, from the environment that `python -m service` set up (a factory)."""
    settings = load_settings()
    configure_logging(settings)
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
