"""Dependencies as `Annotated` aliases. They are `async def` so they run inline, not in the pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.metrics import Metrics
from service.readiness import Readiness
from service.registry import ModelRegistry
from service.settings import Settings


async def get_models(request: Request) -> ModelRegistry:
    """The served models by name (service.registry); each owns its caches, batcher and queue."""
    models: ModelRegistry = request.app.state.models
    return models


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_readiness(request: Request) -> Readiness:
    readiness: Readiness = request.app.state.readiness
    return readiness


ModelsDep = Annotated[ModelRegistry, Depends(get_models)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ReadinessDep = Annotated[Readiness, Depends(get_readiness)]
