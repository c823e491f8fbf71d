"""Connections that cannot pile up: a header read timeout and a cap on open connections.

uvicorn closes a keep-alive connection idle between requests (timeout_keep_alive), but not
one that never finishes its headers, and it accepts connections until the process runs out
of file descriptors. This h11 protocol adds both bounds.
"""

from __future__ import annotations

import asyncio
import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

BUSY_BODY = json.dumps({"detail": "Too many open connections (MAX_CONNECTIONS)", "request_id": "-"}).encode()
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + f"content-length: {len(BUSY_BODY)}\r\n\r\n".encode()
    + BUSY_BODY
)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections past the cap or slow to send their headers.

    Subclasses made by `guarded_protocol` set the two bounds.
    """

    header_timeout: float = 10.0
    max_connections: int = 1000
    header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            # Answered before the request is read, so the descriptor is freed at once.
            transport.write(BUSY_RESPONSE)
            transport.close()
            return
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
