"""Probes for an orchestrator: liveness (restart me if this fails) and readiness (route to me)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from service.deps import ReadinessDep
from service.schemas import HealthResponse, ReadinessResponse

router = APIRouter(tags=["health"])
_ALIVE = HealthResponse(status="ok")


@router.get("/health", tags=["model"])
async def health() -> HealthResponse:
    """Liveness: 200 {"status": "ok"} whenever the app runs, which is only with a verified model."""
    return _ALIVE


@router.get("/health/live")
async def live() -> HealthResponse:
    """Liveness: 200 {"status": "ok"} while the process serves HTTP at all."""
    return _ALIVE


@router.get(
    "/health/ready",
    responses={503: {"model": ReadinessResponse, "description": "Warming up, or draining after SIGTERM"}},
)
async def ready(readiness: ReadinessDep, response: Response) -> ReadinessResponse:
    """Readiness: 200 once the model is loaded and warmed up; 503 before that and while draining."""
    state = readiness.state
    if state != "ready":
        response.status_code = 503
    return ReadinessResponse(status=state)
