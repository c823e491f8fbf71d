"""Error responses: every 4xx is JSON in FastAPI's {"detail": ...} shape, and no input echoes back.

422 bodies keep FastAPI's standard list of {"type", "loc", "msg"} items; the "input" FastAPI
would add is left out so that a rejected request (up to 1 MB) is never copied into the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from model.errors import ArgumentError

logger = logging.getLogger("service.errors")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def unprocessable(errors: Iterable[Mapping[str, Any]]) -> JSONResponse:
    """422 with FastAPI's {"detail": [{"type", "loc", "msg"}, ...]} body."""
    detail = [{"type": error["type"], "loc": list(error["loc"]), "msg": _message(error)} for error in errors]
    return JSONResponse(status_code=422, content={"detail": detail})


def _message(error: Mapping[str, Any]) -> str:
    if error["type"] == "json_invalid" and "error" in error.get("ctx", {}):
        return f"{error['msg']}: {error['ctx']['error']}"
    return str(error["msg"])


async def request_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    """The body did not match the request model."""
    assert isinstance(exc, RequestValidationError)
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and "json" not in content_type.lower():
        # FastAPI reads only JSON bodies, so without the header any body looks like "not an
        # object": say what is missing instead (curl -d sends a form type by default).
        return unprocessable(
            [{"type": "content_type", "loc": ("body",), "msg": _content_type_message(content_type)}]
        )
    return unprocessable(exc.errors())


def _content_type_message(content_type: str) -> str:
    given = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
    return f"Expected a JSON object sent with Content-Type: application/json, got {given}"


async def argument_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A well-formed value the model cannot use (too long, only spaces, wrong shapes).

    Every argument of the domain is a field of the request body under the same name.
    """
    assert isinstance(exc, ArgumentError)
    return unprocessable([{"type": exc.kind, "loc": ("body", *exc.path), "msg": exc.message}])


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own 404/405 answers; a 405's Allow lists every method of the path, not one route's."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code != 405:
        response = await http_exception_handler(request, exc)
        assert isinstance(response, JSONResponse)
        return response
    allowed = [method for method in HTTP_METHODS if _route_exists(request, method)]
    allow = {"Allow": ", ".join(allowed)}
    return JSONResponse(status_code=405, content={"detail": exc.detail}, headers=allow)


def _route_exists(request: Request, method: str) -> bool:
    scope = {**request.scope, "method": method}
    return any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes)


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A bug: log it with its traceback and answer 500 JSON without details."""
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "Internal server error"})


def install(app: FastAPI) -> None:
    """Register the handlers above on `app`."""
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.add_exception_handler(ArgumentError, argument_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
