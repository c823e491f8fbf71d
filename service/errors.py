"""Error responses: every 4xx is JSON in FastAPI's {"detail": ...} shape plus the request's id
(under /v2, the Open Inference Protocol's {"error": "..."}), and no input echoes back.

422 bodies keep FastAPI's standard list of {"type", "loc", "msg"} items; the "input" FastAPI
would add is left out so that a rejected request (up to 1 MB) is never copied into the answer,
and a value quoted in a message is cut to model.names.ECHO_CHARS characters.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.utils import is_body_allowed_for_status_code
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from model.errors import ArgumentError
from service.admission import Refused
from service.cancellation import Cancelled
from service.middleware import BODY_LIMIT_STATUS, body_limit_message, error_content
from service.registry import UnknownModel
from service.request_id import HEADER as REQUEST_ID_HEADER
from service.request_id import request_id_of

logger = logging.getLogger("service.errors")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_LISTED_ERRORS = 20


def error_response(
    request: Request,
    status: int,
    detail: Any,
    headers: dict[str, str] | None = None,
    openai_code: tuple[str | None, str] | None = None,
) -> JSONResponse:
    """{"detail": ..., "request_id": ...}: the id lets a client's report be found in the logs.

    Under /v1, OpenAI's shape instead (openai_error), with `openai_code` as (param, code).
    """
    if request.url.path == "/v1" or request.url.path.startswith("/v1/"):
        status, content = openai_error(status, detail, openai_code)
        return JSONResponse(status_code=status, content=content, headers=headers)
    request_id = request_id_of(request.scope) or "-"
    content = error_content(request.scope, detail, request_id)
    return JSONResponse(status_code=status, content=content, headers=headers)


OPENAI_TYPES = {429: "requests", 500: "server_error", 503: "server_error"}
OPENAI_CODES = {404: "not_found", 405: "method_not_allowed", 499: "client_closed", 500: "internal_error"}


def openai_error(
    status: int, detail: Any, param_and_code: tuple[str | None, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """OpenAI's {"error": {"message", "type", "param", "code"}}; a 422 becomes OpenAI's 400,
    naming its first field as `param` (and its message), with the count of the others."""
    param = code = None
    if isinstance(detail, list):  # the 422 items of `unprocessable`
        first = detail[0]
        loc = [str(part) for part in first["loc"][1:]]
        param = ".".join(loc) or None
        message = f"{param}: {first['msg']}" if param else str(first["msg"])
        if len(detail) > 1:
            message += f" (and {len(detail) - 1} more errors)"
        status, code = 400, str(first["type"])
    else:
        message = str(detail)
        param, code = param_and_code or (None, OPENAI_CODES.get(status))
    error_type = OPENAI_TYPES.get(status, "invalid_request_error")
    return status, {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def unprocessable(request: Request, errors: Sequence[Mapping[str, Any]]) -> JSONResponse:
    """422 with FastAPI's {"detail": [{"type", "loc", "msg"}, ...]} body.

    Only the first MAX_LISTED_ERRORS are listed, then one item that counts the rest, so a list
    of a thousand bad items gets an answer of a few kB.
    """
    listed = errors[:MAX_LISTED_ERRORS]
    detail = [{"type": error["type"], "loc": list(error["loc"]), "msg": _message(error)} for error in listed]
    if len(errors) > len(listed):
        more = len(errors) - len(listed)
        detail.append({"type": "too_many_errors", "loc": ["body"], "msg": f"{more} more errors not listed"})
    return error_response(request, 422, detail)


def _message(error: Mapping[str, Any]) -> str:
    if error["type"] == "json_invalid" and "error" in error.get("ctx", {}):
        return f"{error['msg']}: {error['ctx']['error']}"
    return str(error["msg"])


async def request_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    """The body did not match the request model."""
    assert isinstance(exc, RequestValidationError)
    return unprocessable(request, exc.errors())


async def argument_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A well-formed value the model cannot use (too long, only spaces, wrong shapes).

    Every argument of the domain is a field of the request body under the same name.
    """
    assert isinstance(exc, ArgumentError)
    return unprocessable(request, [{"type": exc.kind, "loc": ("body", *exc.path), "msg": exc.message}])


async def unknown_model_handler(request: Request, exc: Exception) -> JSONResponse:
    """A model name that is not served: 404, naming those that are."""
    assert isinstance(exc, UnknownModel)
    return error_response(request, 404, str(exc), openai_code=("model", "model_not_found"))


async def refused_handler(request: Request, exc: Exception) -> JSONResponse:
    """Expensive work not admitted (service.admission): 429 or 503, with Retry-After."""
    assert isinstance(exc, Refused)
    headers = {"Retry-After": str(exc.retry_after)}
    return error_response(request, exc.status, exc.message, headers, (None, exc.reason))


async def cancelled_handler(request: Request, exc: Exception) -> JSONResponse:
    """The client went away mid-work, which stopped: 499 (nginx's code) for the logs and metrics."""
    assert isinstance(exc, Cancelled)
    logger.info("%s", exc, extra={"work_done": exc.done})
    return error_response(request, 499, "Client closed the request")


async def client_disconnect_handler(request: Request, exc: Exception) -> JSONResponse:
    """The client went away while its body was arriving: 499 in the log and the metrics, no
    traceback (the answer itself goes nowhere)."""
    logger.info("client went away while sending its body")
    return error_response(request, 499, "Client closed the request")


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's own 404/405 answers; a 405's Allow lists every method of the path, not one route's.
    Starlette's body limit (FastAPI(max_body_size=...)) answers 413 with the project's message."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if not is_body_allowed_for_status_code(exc.status_code):
        return Response(status_code=exc.status_code, headers=headers)
    detail = exc.detail
    if exc.status_code == 405:
        allowed = [method for method in HTTP_METHODS if _route_exists(request, method)]
        headers["Allow"] = ", ".join(allowed)
    elif exc.status_code == BODY_LIMIT_STATUS:
        detail = body_limit_message(request.app.state.settings.max_body_bytes)
    return error_response(request, exc.status_code, detail, headers)


def _route_exists(request: Request, method: str) -> bool:
    scope = {**request.scope, "method": method}
    return any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes)


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A bug: log it with its traceback and answer 500 JSON without details."""
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    # This handler runs outside every middleware, so it echoes the request id itself.
    return error_response(
        request, 500, "Internal server error", {REQUEST_ID_HEADER: request_id_of(request.scope) or "-"}
    )


def install(app: FastAPI) -> None:
    """Register the handlers above on `app`."""
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.add_exception_handler(ArgumentError, argument_error_handler)
    app.add_exception_handler(UnknownModel, unknown_model_handler)
    app.add_exception_handler(Cancelled, cancelled_handler)
    app.add_exception_handler(ClientDisconnect, client_disconnect_handler)
    app.add_exception_handler(Refused, refused_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
