"""What is being served: liveness, the model's description and its recorded accuracy."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import PredictorDep
from service.schemas import HealthResponse, ModelInfo, RecordedAccuracy

router = APIRouter(tags=["model"])
_OK = HealthResponse(status="ok")


@router.get("/health")
async def health() -> HealthResponse:
    """Liveness: 200 {"status": "ok"} whenever the app runs, which is only with a verified model."""
    return _OK


@router.get("/model")
async def model_info(predictor: PredictorDep) -> ModelInfo:
    """The served model: name, dimensions, hyperparameters, recorded metrics and weights checksum."""
    return predictor.info


@router.get("/accuracy")
async def recorded_accuracy(predictor: PredictorDep) -> RecordedAccuracy:
    """Next-character accuracy on the training and held-out windows, as recorded at training."""
    return predictor.recorded
