"""Dependencies as `Annotated` aliases. They are `async def` so they run inline, not in the pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.admission import Admission
from service.batcher import DynamicBatcher
from service.metrics import Metrics
from service.readiness import Readiness
from service.registry import ModelRegistry
from service.settings import Settings


async def get_models(request: Request) -> ModelRegistry:
    models: ModelRegistry = request.app.state.models
    return models


async def get_batchers(request: Request) -> dict[str, DynamicBatcher]:
    """One dynamic batcher per model, by name: a pass never mixes two models' windows."""
    batchers: dict[str, DynamicBatcher] = request.app.state.batchers
    return batchers


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_admissions(request: Request) -> dict[str, Admission]:
    """Each model's admission queue for expensive work, by name (service.admission)."""
    admissions: dict[str, Admission] = request.app.state.admissions
    return admissions


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_readiness(request: Request) -> Readiness:
    readiness: Readiness = request.app.state.readiness
    return readiness


ModelsDep = Annotated[ModelRegistry, Depends(get_models)]
BatchersDep = Annotated[dict[str, DynamicBatcher], Depends(get_batchers)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
AdmissionsDep = Annotated[dict[str, Admission], Depends(get_admissions)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ReadinessDep = Annotated[Readiness, Depends(get_readiness)]
