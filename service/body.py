"""Request bodies read on the event loop, then parsed and validated in a worker thread.

FastAPI parses and validates a JSON body on the event loop: 64 valid 1 MB bodies at once keep
every other request (/health included) waiting for seconds. `ThreadedBodyRoute` does both in
the thread pool first and hands FastAPI the validated model, which it passes through as it is.
List lengths with a limit from the settings (`texts` and MAX_BATCH) are checked before any
item, so an oversized list costs one error, not one per item.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from anyio import to_thread
from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from model.errors import ArgumentError
from model.names import clipped

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
PARSE_ERROR = "There was an error parsing the body"
INLINE_BODY_BYTES = 16_384  # smaller bodies parse in well under a millisecond, on the event loop


class ValidatedRequest(Request):
    """The request with its body already read, and `json()` answering the validated model."""

    def __init__(self, request: Request, raw: bytes, validated: Any) -> None:
        super().__init__(request.scope, request.receive)
        self._raw = raw
        self._validated = validated

    async def body(self) -> bytes:
        return self._raw

    async def json(self) -> Any:
        return self._validated


class ThreadedBodyRoute(APIRoute):
    """An APIRoute whose JSON body is parsed and validated in the thread pool."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        body_field = self.body_field

        async def validated_then_handled(request: Request) -> Response:
            check_content_type(request.headers.get("content-type"))
            raw = await request.body()
            if raw:  # an empty body is FastAPI's "missing" 422
                limits = list_limits(request)
                if len(raw) <= INLINE_BODY_BYTES:  # cheaper than the hop to a thread and back
                    validated = parse_and_validate(raw, body_field.validate, limits)
                else:
                    validated = await to_thread.run_sync(
                        parse_and_validate,
                        raw,
                        body_field.validate,
                        limits,
                        limiter=request.app.state.parse_limiter,
                    )
                request = ValidatedRequest(request, raw, validated)
            return await handler(request)

        return validated_then_handled


def list_limits(request: Request) -> dict[str, tuple[int, str]]:
    """Top-level list fields whose length a setting bounds: name -> (limit, setting name)."""
    return {"texts": (request.app.state.settings.max_batch, "MAX_BATCH")}


def check_content_type(content_type: str | None) -> None:
    """A 422 naming the content type unless it is application/json or application/*+json."""
    if content_type:
        message = email.message.Message()
        message["content-type"] = content_type
        subtype = message.get_content_subtype()
        if message.get_content_maintype() == "application" and (
            subtype == "json" or subtype.endswith("+json")
        ):
            return
    given = f"Content-Type {clipped(content_type)}" if content_type else "no Content-Type"
    msg = f"Expected a JSON object sent with Content-Type: application/json, got {given}"
    raise RequestValidationError([{"type": "content_type", "loc": ("body",), "msg": msg}])


Validate = Callable[..., tuple[Any, list[dict[str, Any]]]]


def parse_and_validate(raw: bytes, validate: Validate, limits: Mapping[str, tuple[int, str]]) -> Any:
    """The body's model, or the error FastAPI would give, with list lengths checked first."""
    data = parse(raw)
    check_list_lengths(data, limits)
    value, errors = validate(data, {}, loc=("body",))
    if errors:
        raise RequestValidationError(errors)
    return value


def parse(raw: bytes) -> Any:
    """json.loads, with FastAPI's answers: 422 json_invalid at the error's position, else 400.

    The 400 covers what json.loads refuses beyond syntax: bytes that are not UTF-8 (nor
    UTF-16/32), nesting deeper than Python's recursion limit, integers over 4,300 digits.
    """
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        item = {"type": "json_invalid", "loc": ("body", error.pos), "msg": "JSON decode error"}
        raise RequestValidationError([{**item, "ctx": {"error": error.msg}}]) from None
    except (ValueError, RecursionError):
        raise HTTPException(status_code=400, detail=PARSE_ERROR) from None


def check_list_lengths(data: Any, limits: Mapping[str, tuple[int, str]]) -> None:
    """ArgumentError for a top-level list longer than its limit, before any item is validated."""
    if not isinstance(data, dict):
        return
    for name, (limit, setting) in limits.items():
        value = data.get(name)
        if isinstance(value, list) and len(value) > limit:
            raise ArgumentError((name,), f"List should have at most {limit} items ({setting})", "too_long")
