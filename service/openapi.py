"""The OpenAPI document and the interactive docs, served without any outside host.

- operationIds are the handlers' names (`predict_next`), not FastAPI's path-derived ones.
- The settings' limits appear in the schema: MAX_TEXT_CHARS as every text's maxLength and
  MAX_BATCH as maxItems of the batch's texts, so a client reads the limits this server holds.
- The bearer key (service.auth) is declared only when the server has one (API_KEY).
- 400 (undecodable body) and 413 (body over MAX_BODY_BYTES) are listed on routes that take a
  body only.
- /docs is Swagger UI from the swagger-ui-bundle package's files, served under /docs/assets,
  so it works on a machine without internet access. Only the three files the page loads are
  served (not the package's index.html, which loads petstore.swagger.io, nor its .map files),
  and the page and its assets carry a Content-Security-Policy that allows this origin and the
  page's one inline script (by its hash), and forbid framing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from swagger_ui_bundle import swagger_ui_path

from service.settings import Settings

ASSETS = "/docs/assets"
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
BODY_STATUSES = ("400", "413")
TEXT_FIELDS = {"text", "prompt"}
LIST_OF_TEXT_FIELDS = {"texts"}
# A completion's text is the echoed prompt and up to max_tokens characters: not one text.
UNBOUNDED_SCHEMAS = {"CompletionChoice"}


def operation_id(route: APIRoute) -> str:
    """The handler's name: unique across the app (a test checks it)."""
    return route.name


def install(app: FastAPI, settings: Settings) -> None:
    """The schema with the settings' limits, and Swagger UI on the service's own assets."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema = with_limits(without_body_errors_on_gets(schema), settings)
            open_server = settings.api_key is None and settings.api_key_file is None
            app.openapi_schema = without_security(schema) if open_server else schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
    ).body
    headers = docs_headers(bytes(page))
    assets = {name: (Path(swagger_ui_path) / name).read_bytes() for name in ASSET_TYPES}

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    @app.get(ASSETS + "/{name}", include_in_schema=False)
    async def swagger_ui_asset(name: str) -> Response:
        if name not in assets:
            raise HTTPException(status_code=404)
        return Response(assets[name], media_type=ASSET_TYPES[name], headers=headers)


def docs_headers(page: bytes) -> dict[str, str]:
    """The page's protections: its own origin, its inline scripts by hash, no framing.

    Swagger UI sets style attributes and draws its icons from data: URLs, hence those two.
    """
    scripts = re.findall(rb"<script>(.*?)</script>", page, re.DOTALL)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in scripts)
    policy = (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    return {"Content-Security-Policy": policy, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}


def without_security(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema of a server without API_KEY: no operation asks for the bearer key."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
    schema.get("components", {}).pop("securitySchemes", None)
    return schema


def without_body_errors_on_gets(schema: dict[str, Any]) -> dict[str, Any]:
    for operations in schema["paths"].values():
        for method, operation in operations.items():
            if method == "get":
                for status in BODY_STATUSES:
                    operation["responses"].pop(status, None)
    return schema


def with_limits(schema: dict[str, Any], settings: Settings) -> dict[str, Any]:
    for component_name, component in schema.get("components", {}).get("schemas", {}).items():
        if component_name in UNBOUNDED_SCHEMAS:
            continue
        for name, field in component.get("properties", {}).items():
            if name in TEXT_FIELDS and field.get("type") == "string":
                field["maxLength"] = settings.max_text_chars
            elif name in LIST_OF_TEXT_FIELDS and field.get("type") == "array":
                field["maxItems"] = settings.max_batch
                field["items"]["maxLength"] = settings.max_text_chars
    return schema
