"""The Open Inference Protocol (KServe V2) REST routes, spoken by tritonclient and KServe's SDK.

Errors here take the protocol's shape, {"error": "..."}, not the rest of the API's
{"detail": ...}: the protocol's clients read that field. Every model route looks its model
up by name through `predictor_for`, the one place that knows which models are served.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from model.errors import ArgumentError
from model.version import package_version
from service.deps import ReadinessDep, SettingsDep
from service.inference_protocol import (
    HEADER_LENGTH,
    InferenceRequest,
    InferenceResponse,
    ModelMetadata,
    ProtocolError,
    ProtocolErrorResponse,
    metadata,
    parse_request,
    response_body,
)
from service.models import ModelRegistry, UnknownModel
from service.predictor import Predictor

router = APIRouter(prefix="/v2", tags=["open inference protocol"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ProtocolErrorResponse, "description": "No model of that name"}
}
NOT_READY: dict[int | str, dict[str, Any]] = {503: {"description": "Warming up, or draining after SIGTERM"}}


def predictor_for(request: Request, name: str) -> Predictor | None:
    """The predictor serving the model called `name` (any model GET /models lists), or None."""
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
    return protocol_error(404, f"model {name!r} is not served here")


@router.get("")
async def server_metadata() -> dict[str, Any]:
    """Server metadata: name, version and the protocol extensions it supports."""
    return {"name": "char-rnn-service", "version": package_version(), "extensions": ["binary_tensor_data"]}


@router.get("/health/live")
async def server_live() -> dict[str, bool]:
    """Liveness: 200 {"live": true} while the process serves HTTP."""
    return {"live": True}


@router.get("/health/ready", responses=NOT_READY)
async def server_ready(readiness: ReadinessDep) -> JSONResponse:
    """Readiness: 200 once every model is loaded and warmed up; 503 before that and while draining."""
    ready = readiness.state == "ready"
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


@router.get("/models/{name}", response_model=ModelMetadata, responses=NOT_FOUND)
async def model_metadata(name: str, request: Request) -> Response:
    """Model metadata: the input and output tensors' names, datatypes and shapes."""
    if predictor_for(request, name) is None:
        return unknown_model(name)
    return JSONResponse(metadata(name).model_dump())


@router.get("/models/{name}/ready", responses={**NOT_FOUND, **NOT_READY})
async def model_ready(name: str, request: Request, readiness: ReadinessDep) -> JSONResponse:
    """Model readiness: 200 {"name", "ready": true} once the model is warmed up."""
    if predictor_for(request, name) is None:
        return unknown_model(name)
    ready = readiness.state == "ready"
    return JSONResponse({"name": name, "ready": ready}, status_code=200 if ready else 503)


@router.post(
    "/models/{name}/infer",
    response_model=InferenceResponse,
    responses={
        **NOT_FOUND,
        400: {"model": ProtocolErrorResponse, "description": "A request the model cannot use"},
    },
    # The body is read raw (JSON, or JSON and binary tensors), so its schema is declared here.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_schema(InferenceRequest)}},
        }
    },
)
async def infer(name: str, request: Request, settings: SettingsDep) -> Response:
    """Inference: texts (BYTES, [N]) in; next characters (BYTES, [N]), probabilities (FP32, [N, 27]) out."""
    predictor = predictor_for(request, name)
    if predictor is None:
        return unknown_model(name)
    body = await request.body()
    try:
        header_length = request.headers.get(HEADER_LENGTH)
        return await run_in_threadpool(_infer, predictor, settings.max_batch, name, body, header_length)
    except ProtocolError as error:
        return protocol_error(400, str(error))


def _infer(
    predictor: Predictor, max_batch: int, name: str, body: bytes, header_length: str | None
) -> Response:
    inference, texts = parse_request(body, header_length)
    if len(texts) > max_batch:
        raise ProtocolError(f"input 'text': at most {max_batch} texts (MAX_BATCH), got {len(texts)}")
    try:
        windows = predictor.windows(texts)
    except ArgumentError as error:
        raise ProtocolError(f"input 'text', element {error.path[-1]}: {error.message}") from None
    probabilities = predictor.probabilities(windows)
    return Response(response_body(name, inference.id, probabilities), media_type="application/json")
