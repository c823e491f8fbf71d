"""The demo page at GET /: the model in a browser, from files shipped inside the package.

The page, its script and its style sheet are read once at import; the page loads nothing
from elsewhere, and its Content-Security-Policy says so to the browser.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, HTTPException, Response

router = APIRouter(include_in_schema=False)

_DIRECTORY = files("service") / "demo"
MEDIA_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "demo.js": "text/javascript; charset=utf-8",
    "demo.css": "text/css; charset=utf-8",
}
ASSETS = {name: (_DIRECTORY / name).read_bytes() for name in MEDIA_TYPES}
HEADERS = {
    # Only this origin: no CDN, no inline script; the favicon is an empty data: URL.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


@router.get("/")
async def page() -> Response:
    """The demo page."""
    return _asset("index.html")


@router.get("/demo/{name}")
async def asset(name: str) -> Response:
    """The page's script or style sheet; 404 for any other name."""
    if name == "index.html" or name not in ASSETS:
        raise HTTPException(status_code=404)
    return _asset(name)


def _asset(name: str) -> Response:
    return Response(ASSETS[name], media_type=MEDIA_TYPES[name], headers=HEADERS)
