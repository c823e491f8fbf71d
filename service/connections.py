"""Connections that cannot pile up: a header read timeout and a cap on open connections.

uvicorn closes a keep-alive connection idle between requests (timeout_keep_alive), but not
one that never finishes its headers, and it accepts connections until the process runs out
of file descriptors. This h11 protocol adds both bounds. Beyond MAX_CONNECTIONS, up to
PROBE_CONNECTIONS more are kept for the probes and /metrics only, so an orchestrator still
sees a live process while slow clients hold every other connection; each refusal is logged
and counted (char_rnn_connections_refused_total in /metrics). The body's own deadline is
service.middleware.BodyLimits'.

uvicorn offers no public hook for any of this, so this subclasses its H11Protocol and relies on
its attributes `connections`, `conn`, `transport`, `loop` and `app` and on the methods
overridden below. pyproject.toml pins uvicorn to the exact version this was written against,
and tests/service/test_server_connections.py exercises each of them in a real process.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter

import h11
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

BUSY_BODY = json.dumps({"detail": "Too many open connections (MAX_CONNECTIONS)", "request_id": "-"}).encode()
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + f"content-length: {len(BUSY_BODY)}\r\n\r\n".encode()
    + BUSY_BODY
)
PROBE_CONNECTIONS = 16
PROBE_PATHS = frozenset(
    {"/health", "/health/live", "/health/ready", "/metrics", "/v2/health/live", "/v2/health/ready"}
)
# Refusals of this process by reason, read by service.metrics at scrape time.
REFUSALS: Counter[str] = Counter()
logger = logging.getLogger("service.connections")


def refused(reason: str, message: str) -> None:
    REFUSALS[reason] += 1
    logger.warning("%s", message, extra={"reason": reason})


class ProbesOnly:
    """The app of a connection past MAX_CONNECTIONS: the probes and /metrics, else 503."""

    def __init__(self, app: ASGIApp, max_connections: int) -> None:
        self.app = app
        self.max_connections = max_connections

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        refused("max_connections", f"503 for {scope['method']} past MAX_CONNECTIONS={self.max_connections}")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BUSY_BODY)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": BUSY_BODY})


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections past the cap or slow to send their headers.

    Subclasses made by `guarded_protocol` set the two bounds.
    """

    header_timeout: float = 10.0
    max_connections: int = 1000
    header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        over = len(self.connections) - self.max_connections
        if over > PROBE_CONNECTIONS:
            # Answered before the request is read, so the descriptor is freed at once.
            refused("max_connections", f"connection refused: MAX_CONNECTIONS={self.max_connections} open")
            transport.write(BUSY_RESPONSE)
            transport.close()
            return
        if over > 0:
            self.app = ProbesOnly(self.app, self.max_connections)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # a request's headers are in
            self._disarm_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_timer()  # the next request's headers get the same time

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self.header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _disarm_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _header_timed_out(self) -> None:
        self.header_timer = None
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            if self.cycle is None:  # not a keep-alive connection idle after its answers
                refused("header_timeout", "connection closed: no complete headers (HEADER_TIMEOUT_SECONDS)")
            self.transport.close()


def guarded_protocol(header_timeout: float, max_connections: int) -> type[GuardedH11Protocol]:
    """The protocol class for uvicorn.Config(http=...), with these bounds."""
    bounds = {"header_timeout": header_timeout, "max_connections": max_connections}
    return type("BoundedH11Protocol", (GuardedH11Protocol,), bounds)


class WorkerH11Protocol(GuardedH11Protocol):
    """The protocol of each WORKERS > 1 process, named by import string (the supervisor starts
    workers by spawning them, and a class made at run time cannot be sent); `worker_app` sets
    its bounds from the settings before the worker accepts a connection."""


WORKER_PROTOCOL = "service.connections:WorkerH11Protocol"


def configure_worker_protocol(header_timeout: float, max_connections: int) -> None:
    WorkerH11Protocol.header_timeout = header_timeout
    WorkerH11Protocol.max_connections = max_connections
