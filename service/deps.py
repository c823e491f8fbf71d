"""Dependencies as `Annotated` aliases. They are `async def` so they run inline, not in the pool."""

from __future__ import annotations

from typing import Annotated

from anyio import CapacityLimiter
from fastapi import Depends, Request

from service.predictor import Predictor
from service.settings import Settings


async def get_predictor(request: Request) -> Predictor:
    predictor: Predictor = request.app.state.predictor
    return predictor


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_evaluation_limiter(request: Request) -> CapacityLimiter:
    limiter: CapacityLimiter = request.app.state.evaluation_limiter
    return limiter


PredictorDep = Annotated[Predictor, Depends(get_predictor)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
EvaluationLimiterDep = Annotated[CapacityLimiter, Depends(get_evaluation_limiter)]
