"""Error bodies: {"detail": ..., "request_id": ...}, the id being the X-Request-ID echoed."""

from __future__ import annotations

from typing import Any

import httpx


def error_body(response: httpx.Response) -> dict[str, Any]:
    """The error JSON without its request_id, once that id is checked against the response header."""
    body = response.json()
    assert isinstance(body, dict)
    assert body.pop("request_id") == response.headers["x-request-id"], "the body names the echoed id"
    return body


def error(loc: list[str | int], kind: str, msg: str) -> dict[str, Any]:
    """A 422 body with one item, as service/errors.py writes it (error_body leaves out the id)."""
    return {"detail": [{"type": kind, "loc": loc, "msg": msg}]}
