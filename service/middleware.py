"""Pure ASGI middleware: the request body limit, HEAD, and the one-line-per-request access log.

Both run inside service.request_id.RequestID, so the request's id is in the scope.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.request_id import request_id_of

access_logger = logging.getLogger("service.access")


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the streamed body passes the limit; FastAPI answers it as 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=body_limit_message(limit))


def body_limit_message(limit: int) -> str:
    return f"Request body is larger than the limit of {limit} bytes (MAX_BODY_BYTES)"


class BodySizeLimit:
    """413 for a body over `max_bytes`: by its Content-Length, or by counting the bytes streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_json(scope, send, 413, body_limit_message(self.max_bytes))
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            # Reached only when no handler turned it into a response already.
            if started:
                raise
            await _send_json(scope, send, 413, body_limit_message(self.max_bytes))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _path(scope: Scope) -> str:
    # The raw, still percent-encoded path: a decoded one could carry a newline into the log.
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if isinstance(raw, bytes) else repr(scope["path"])


async def _send_json(scope: Scope, send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail, "request_id": request_id_of(scope) or "-"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HeadAsGet:
    """HEAD answers as GET would, headers only (FastAPI routes a GET route's HEAD to a 405)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class AccessLog:
    """One log line per request: client, method, path (no query, no body), status, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        def log(status: int, seconds: float) -> None:
            if access_logger.isEnabledFor(logging.INFO):
                _log_access(scope, status, seconds * 1000)

        await watch_response(self.app, scope, receive, send, log)


async def watch_response(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, done: Callable[[int, float], None]
) -> None:
    """Run `app`, then call done(status, seconds) even if it raised: the access log and the
    request metrics both see every response this way."""
    start = time.perf_counter()
    status = 500  # what the client gets if the app raises before answering

    async def watched_send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    try:
        await app(scope, receive, watched_send)
    finally:
        done(status, time.perf_counter() - start)


def _log_access(scope: Scope, status: int, duration_ms: float) -> None:
    client = scope.get("client")
    fields = {
        "client": f"{client[0]}:{client[1]}" if client else "-",
        "method": scope["method"],
        "path": _path(scope),
        "status": status,
        "duration_ms": round(duration_ms, 1),
    }
    # The text line for a terminal; the same fields as `extra`, for LOG_FORMAT=json.
    access_logger.info(
        '%s "%s %s" %d %.1fms id=%s',
        *fields.values(),
        request_id_of(scope) or "-",
        extra=fields,
    )
