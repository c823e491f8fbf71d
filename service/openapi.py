"""The OpenAPI document and the interactive docs, served without any outside host.

- operationIds are the handlers' names (`predict_next`), not FastAPI's path-derived ones.
- The settings' limits appear in the schema: MAX_TEXT_CHARS as every text's maxLength and
  MAX_BATCH as maxItems of the batch's texts, so a client reads the limits this server holds.
- 400 (undecodable body) and 413 (body over MAX_BODY_BYTES) are listed on routes that take a
  body only.
- /docs is Swagger UI from the swagger-ui-bundle package's files, served under /docs/assets,
  so it works on a machine without internet access.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from service.settings import Settings

ASSETS = "/docs/assets"
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
            app.openapi_schema = with_limits(without_body_errors_on_gets(schema), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="swagger-ui-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )


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
