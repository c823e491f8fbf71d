"""X-Request-ID: taken from the client when it is safe to echo and log, generated otherwise.

The id travels with the request in three places: the ASGI scope's state (for the error
handlers, some of which run outside this middleware), a context variable (for every log
record, see service.logs) and the response's X-Request-ID header.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
_HEADER_KEY = HEADER.lower().encode()
# Letters, digits and a few separators, at most 128: nothing that could forge a log line,
# break a JSON log or a header, and long enough for a UUID, a W3C trace id or a ULID.
SAFE_ID = re.compile(r"[A-Za-z0-9._:@=+/-]{1,128}")

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: bytes | None) -> str:
    """The client's id if it is safe, else a fresh one."""
    if value is not None:
        text = value.decode("latin-1")
        if SAFE_ID.fullmatch(text):
            return text
    return new_request_id()


def request_id_of(scope: Scope) -> str | None:
    """The id RequestID gave this request, or None outside it."""
    state = scope.get("state")
    return state.get("request_id") if isinstance(state, dict) else None


class RequestID:
    """Outermost middleware: choose the id, expose it to logs and handlers, echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == _HEADER_KEY), None)
        request_id = accepted_request_id(given)
        scope.setdefault("state", {})["request_id"] = request_id
        header = (_HEADER_KEY, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [item for item in message.get("headers", []) if item[0].lower() != _HEADER_KEY]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        token = current_request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
