"""Pure ASGI middleware: the request body's limits, HEAD, the one-line-per-request access log,
and the answer to requests cut off by the shutdown deadline.

All run inside service.request_id.RequestID, so the request's id is in the scope.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.request_id import request_id_of

access_logger = logging.getLogger("service.access")
logger = logging.getLogger("service.requests")


BODY_LIMIT_STATUS = 413
PROTOCOL_PREFIX = "/v2"  # the Open Inference Protocol's paths, whose errors are {"error": "..."}


def body_limit_message(limit: int) -> str:
    return f"Request body is larger than the limit of {limit} bytes (MAX_BODY_BYTES)"


def body_timeout_message(seconds: float) -> str:
    return f"Request body did not arrive within {seconds:g} s (BODY_TIMEOUT_SECONDS)"


BODY_BUDGET_MESSAGE = "Too many request bodies arriving at once (BODY_BUFFER_BYTES); retry shortly"


class BodyTimeout(HTTPException):
    """Raised from `receive` once the body's deadline passes; answered as 408, then closed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, body_timeout_message(seconds), headers={"Connection": "close"})


class BodyBudgetExceeded(HTTPException):
    """Raised from `receive` when the bodies being received at once pass BODY_BUFFER_BYTES."""

    def __init__(self) -> None:
        super().__init__(503, BODY_BUDGET_MESSAGE, headers={"Connection": "close", "Retry-After": "1"})


class BodyLimits:
    """The deadline and the memory of request bodies; their size is Starlette's to count.

    - The bytes of a streamed body are counted by Starlette's limit (service.app includes every
      router with `max_body_size`, FastAPI >= 0.165), whose 413 service.errors answers with the
      project's message. A Content-Length over `max_bytes` is still answered here, before
      routing: Starlette's limit would answer it with a plain-text 413 whenever the route does
      not read the body (a GET, a 404).
    - A body must be complete within `timeout` seconds of the request's start (a client that
      trickles a byte at a time would hold its connection forever): else 408, and the
      connection is closed.
    - The bytes of every body being received, summed over the requests in progress, stay under
      `budget`: past it a request gets 503 with Retry-After, so MAX_CONNECTIONS slow bodies
      cannot pin MAX_CONNECTIONS x MAX_BODY_BYTES of memory.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float, budget: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.budget = budget
        self.buffered = 0  # bytes of the bodies of requests in progress (one event loop: no lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_json(scope, send, BODY_LIMIT_STATUS, body_limit_message(self.max_bytes))
            return
        deadline = time.monotonic() + self.timeout
        held = 0
        complete = False

        async def limited_receive() -> Message:
            nonlocal held, complete
            if complete:  # after the body: a wait for the client's disconnect, unbounded
                return await receive()
            try:
                with anyio.fail_after(max(deadline - time.monotonic(), 0)):
                    message = await receive()
            except TimeoutError:
                logger.warning("%s", body_timeout_message(self.timeout), extra=_request_fields(scope))
                raise BodyTimeout(self.timeout) from None
            if message["type"] == "http.request":
                size = len(message.get("body", b""))
                held, self.buffered = held + size, self.buffered + size
                complete = not message.get("more_body", False)
                if self.buffered > self.budget:
                    logger.warning("%s", BODY_BUDGET_MESSAGE, extra=_request_fields(scope))
                    raise BodyBudgetExceeded
            return message

        try:
            await self.app(scope, limited_receive, send)
        finally:
            self.buffered -= held


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


def error_content(scope: Scope, detail: Any, request_id: str) -> dict[str, Any]:
    """An error's JSON: {"detail", "request_id"}, or under /v2 the protocol's {"error": "..."}."""
    if not str(scope.get("path", "")).startswith(PROTOCOL_PREFIX):
        return {"detail": detail, "request_id": request_id}
    if isinstance(detail, list):  # FastAPI's 422 items, as one line
        detail = "; ".join(".".join(map(str, item["loc"])) + ": " + item["msg"] for item in detail)
    return {"error": str(detail)}


def _request_fields(scope: Scope) -> dict[str, Any]:
    return {"request_id": request_id_of(scope) or "-", "method": scope["method"], "path": _path(scope)}


async def _send_json(
    scope: Scope, send: Send, status: int, detail: str, extra_headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    body = json.dumps(error_content(scope, detail, request_id_of(scope) or "-")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [*headers, *extra_headers]})
    await send({"type": "http.response.body", "body": body})


SHUTDOWN_MESSAGE = "The server shut down before the request finished (GRACEFUL_SHUTDOWN_SECONDS)"


class ShutdownCutoff:
    """503, not uvicorn's 500, for a request that the shutdown deadline cancels.

    After GRACEFUL_SHUTDOWN_SECONDS uvicorn cancels the requests still running; their
    response has not started, so this answers 503 and logs why.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except asyncio.CancelledError:
            if started:
                raise
            logger.warning("%s", SHUTDOWN_MESSAGE, extra=_request_fields(scope))
            await _send_json(scope, send, 503, SHUTDOWN_MESSAGE, ((b"connection", b"close"),))


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
