"""The models this process serves: one, the loaded artifact, which answers every request."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import PredictorDep
from service.schemas import ModelEntry, ModelList

router = APIRouter(tags=["model"])


@router.get("/models")
async def list_models(predictor: PredictorDep) -> ModelList:
    """Every served model with its description; `default` marks the one that answers by default."""
    return ModelList(models=[ModelEntry(**predictor.info.model_dump(), default=True)])
