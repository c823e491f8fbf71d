"""The Open Inference Protocol (KServe V2) REST routes, spoken by tritonclient and KServe's SDK.

Errors here take the protocol's shape, {"error": "..."}, not the rest of the API's
{"detail": ...}: the protocol's clients read that field (service.errors gives the framework's
own 404, 405, 413 and 408 under /v2 the same shape). Every model route looks its model up by
name through `model_named`, the one place that knows which models are served; each is also
served under /versions/1, the one version the metadata advertises.

An infer body is JSON, or a JSON header and binary tensors. tritonclient sends it without a
Content-Type, so none is accepted; a Content-Type that a cross-site form may send (text/plain)
is refused with 415, as are others but JSON and application/octet-stream.
"""

from __future__ import annotations

import email.message
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from model.errors import ArgumentError
from model.names import clipped
from model.version import package_version
from service.body import INLINE_BODY_BYTES
from service.deps import ReadinessDep, SettingsDep
from service.inference_protocol import (
    HEADER_LENGTH,
    VERSION,
    InferenceRequest,
    InferenceResponse,
    ModelMetadata,
    ProtocolError,
    ProtocolErrorResponse,
    metadata,
    parse_request,
    response_body,
)
from service.registry import ModelRegistry, UnknownModel
from service.served import OnChunk, ServedModel

router = APIRouter(prefix="/v2", tags=["open inference protocol"])
probes = APIRouter(prefix="/v2", tags=["open inference protocol"])  # open even with an API key
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ProtocolErrorResponse, "description": "No model of that name"}
}
NOT_READY: dict[int | str, dict[str, Any]] = {503: {"description": "Warming up, or draining after SIGTERM"}}


def model_named(request: Request, name: str) -> ServedModel | None:
    """The served model called `name` (any model GET /models lists), or None."""
    models: ModelRegistry = request.app.state.models
    try:
        return models.get(name)
    except UnknownModel:
        return None


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its nested models written in place of their $refs."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        return [resolve(item) for item in node] if isinstance(node, list) else node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def protocol_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def unknown_model(name: str) -> JSONResponse:
    return protocol_error(404, f"model {clipped(name)} is not served here")


def model_version(request: Request, name: str, version: str | None) -> ServedModel | JSONResponse:
    """The served model, or the protocol's 404 for an unknown model or version."""
    served = model_named(request, name)
    if served is None:
        return unknown_model(name)
    if version is not None and version != VERSION:
        return protocol_error(
            404, f"model {clipped(name)} has no version {clipped(version)} (versions: {VERSION})"
        )
    return served


UNSUPPORTED_MEDIA = (
    "Expected Content-Type application/json, or application/octet-stream with "
    "Inference-Header-Content-Length, or none"
)


def acceptable_content_type(content_type: str | None, binary: bool) -> bool:
    """No Content-Type (tritonclient's), JSON, or octet-stream for the binary extension."""
    if content_type is None:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    kind, subtype = message.get_content_maintype(), message.get_content_subtype()
    json = kind == "application" and (subtype == "json" or subtype.endswith("+json"))
    return json or (binary and message.get_content_type() == "application/octet-stream")


@router.get("")
async def server_metadata() -> dict[str, Any]:
    """Server metadata: name, version and the protocol extensions it supports."""
    return {"name": "char-rnn-service", "version": package_version(), "extensions": ["binary_tensor_data"]}


@probes.get("/health/live")
async def server_live() -> dict[str, bool]:
    """Liveness: 200 {"live": true} while the process serves HTTP."""
    return {"live": True}


@probes.get("/health/ready", responses=NOT_READY)
async def server_ready(readiness: ReadinessDep) -> JSONResponse:
    """Readiness: 200 once every model is loaded and warmed up; 503 before that and while draining."""
    ready = readiness.state == "ready"
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


@router.get("/models/{name}", response_model=ModelMetadata, responses=NOT_FOUND)
async def model_metadata(name: str, request: Request) -> Response:
    """Model metadata: the input and output tensors' names, datatypes and shapes."""
    return _metadata(request, name, None)


@router.get("/models/{name}/versions/{version}", response_model=ModelMetadata, responses=NOT_FOUND)
async def model_version_metadata(name: str, version: str, request: Request) -> Response:
    """A version's metadata: the model's (version 1 is the only one)."""
    return _metadata(request, name, version)


def _metadata(request: Request, name: str, version: str | None) -> Response:
    served = model_version(request, name, version)
    return served if isinstance(served, Response) else JSONResponse(metadata(name).model_dump())


@router.get("/models/{name}/ready", responses={**NOT_FOUND, **NOT_READY})
async def model_ready(name: str, request: Request, readiness: ReadinessDep) -> Response:
    """Model readiness: 200 {"name", "ready": true} once the model is warmed up."""
    return _ready(request, name, None, readiness.state == "ready")


@router.get("/models/{name}/versions/{version}/ready", responses={**NOT_FOUND, **NOT_READY})
async def model_version_ready(name: str, version: str, request: Request, readiness: ReadinessDep) -> Response:
    """A version's readiness: the model's."""
    return _ready(request, name, version, readiness.state == "ready")


def _ready(request: Request, name: str, version: str | None, ready: bool) -> Response:
    served = model_version(request, name, version)
    if isinstance(served, Response):
        return served
    return JSONResponse({"name": name, "ready": ready}, status_code=200 if ready else 503)


INFER_OPTIONS: dict[str, Any] = {
    "response_model": InferenceResponse,
    "responses": {
        **NOT_FOUND,
        400: {"model": ProtocolErrorResponse, "description": "A request the model cannot use"},
        415: {"model": ProtocolErrorResponse, "description": "A Content-Type other than JSON"},
    },
    # The body is read raw (JSON, or JSON and binary tensors), so its schema is declared here.
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_schema(InferenceRequest)}},
        }
    },
}


@router.post("/models/{name}/infer", **INFER_OPTIONS)
async def infer(name: str, request: Request, settings: SettingsDep) -> Response:
    """Inference: texts (BYTES, [N]) in; next characters (BYTES, [N]), probabilities (FP32, [N, 27]) out."""
    return await _answer(request, name, None, settings.max_batch)


@router.post("/models/{name}/versions/{version}/infer", **INFER_OPTIONS)
async def infer_version(name: str, version: str, request: Request, settings: SettingsDep) -> Response:
    """Inference on a version: the model's (version 1 is the only one)."""
    return await _answer(request, name, version, settings.max_batch)


async def _answer(request: Request, name: str, version: str | None, max_batch: int) -> Response:
    served = model_version(request, name, version)
    if isinstance(served, Response):
        return served
    header_length = request.headers.get(HEADER_LENGTH)
    if not acceptable_content_type(request.headers.get("content-type"), header_length is not None):
        return protocol_error(415, UNSUPPORTED_MEDIA)
    body = await request.body()
    try:
        # Parsed as the other routes parse a large body: in a thread, two at a time.
        if len(body) <= INLINE_BODY_BYTES:
            inference, texts = parse_request(body, header_length)
        else:
            limiter = request.app.state.parse_limiter
            inference, texts = await to_thread.run_sync(parse_request, body, header_length, limiter=limiter)
        del body
        # In the model's admission queue, as every expensive route: a bounded share of the
        # workers, and the work stops between chunks when the client goes away.
        return await served.admit(request.receive, _infer, served, max_batch, name, inference, texts)
    except ProtocolError as error:
        return protocol_error(400, str(error))


def _infer(
    served: ServedModel,
    max_batch: int,
    name: str,
    inference: InferenceRequest,
    texts: list[str],
    on_chunk: OnChunk,
) -> Response:
    if len(texts) > max_batch:
        raise ProtocolError(f"input 'text': at most {max_batch} texts (MAX_BATCH), got {len(texts)}")
    try:
        windows = served.windows(texts, on_chunk)
    except ArgumentError as error:
        raise ProtocolError(f"input 'text', element {error.path[-1]}: {error.message}") from None
    probabilities = served.probabilities(windows, on_chunk)
    return Response(response_body(name, inference.id, probabilities), media_type="application/json")
