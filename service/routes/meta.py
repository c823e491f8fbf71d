"""What is being served: the models' descriptions and their recorded accuracy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from service.deps import ModelsDep
from service.schemas import MessageResponse, ModelInfo, ModelList, RecordedAccuracy

router = APIRouter(tags=["model"])
UNKNOWN_MODEL: dict[int | str, dict[str, Any]] = {
    404: {"model": MessageResponse, "description": "No model of that name is served"}
}
ModelQuery = Annotated[
    str | None, Query(description="A model named by GET /models; without it, the default model.")
]


@router.get("/models")
async def list_models(models: ModelsDep) -> ModelList:
    """Every model served, each as GET /model describes it; `default` marks the default one."""
    return ModelList(models=models.infos())


@router.get("/model", responses=UNKNOWN_MODEL)
async def model_info(models: ModelsDep, model: ModelQuery = None) -> ModelInfo:
    """The default model, or the one ?model= names: architecture, context, metrics, checksum."""
    return models.info(model)


@router.get("/accuracy", responses=UNKNOWN_MODEL)
async def recorded_accuracy(models: ModelsDep, model: ModelQuery = None) -> RecordedAccuracy:
    """A model's accuracy as recorded at training, beside the n-gram's on the same positions."""
    return models.get(model).recorded
