"""Error responses: every 4xx is JSON in FastAPI's {"detail": ...} shape plus the request's id,
and no input echoes back.

422 bodies keep FastAPI's standard list of {"type", "loc", "msg"} items; the "input" FastAPI
would add is left out so that a rejected request (up to 1 MB) is never copied into the answer.
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
from starlette.routing import Match

from model.errors import ArgumentError
from service.cancellation import Cancelled
from service.models import UnknownModel
from service.request_id import HEADER as REQUEST_ID_HEADER
from service.request_id import request_id_of

logger = logging.getLogger("service.errors")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_LISTED_ERRORS = 20


def error_response(
    request: Request, status: int, detail: Any, headers: dict[str, str] | None = None
) -> JSONResponse:
    """{"detail": ..., "request_id": ...}: the id lets a client's report be found in the logs."""
    request_id = request_id_of(request.scope) or "-"
    return JSONResponse(
        status_code=status, content={"detail": detail, "request_id": request_id}, headers=headers
    )


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
    return error_response(request, 404, str(exc))


async def cancelled_handler(request: Request, exc: Exception) -> JSONResponse:
    """The client went away mid-work, which stopped: 499 (nginx's code) for the logs and metrics."""
    assert isinstance(exc, Cancelled)
    logger.info("%s", exc, extra={"work_done": exc.done})
    return error_response(request, 499, "Client closed the request")


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's own 404/405 answers; a 405's Allow lists every method of the path, not one route's."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if not is_body_allowed_for_status_code(exc.status_code):
        return Response(status_code=exc.status_code, headers=headers)
    if exc.status_code == 405:
        allowed = [method for method in HTTP_METHODS if _route_exists(request, method)]
        headers["Allow"] = ", ".join(allowed)
    return error_response(request, exc.status_code, exc.detail, headers)


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
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
