"""Prometheus metrics of this process, in the format the scraper asks for (Accept header)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder

from service.deps import MetricsDep

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_PLAIN_0_0_4: {}}, "description": "Prometheus text format"}},
)
def metrics(metrics: MetricsDep, accept: Annotated[str, Header()] = "") -> Response:
    """Requests per route and status, latency, batch sizes, predict cache, loaded models."""
    # Prometheus itself asks for OpenMetrics; curl and other clients get the plain text format.
    encode, content_type = choose_encoder(accept)
    return Response(encode(metrics.registry), media_type=content_type)
