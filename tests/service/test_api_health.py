"""Liveness and readiness over ASGI: starting, ready once warmed up, draining at shutdown."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from service.readiness import Readiness
from tests.utils.client import ASGIClient, lifespan


def sample(client: ASGIClient, name: str, **labels: str) -> float | None:
    """One sample's value from GET /metrics, or None if the series does not exist."""
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for item in family.samples:
            if item.name == name and item.labels == labels:
                return float(item.value)
    return None


def test_live_answers_before_start_up_and_ready_waits_for_the_warm_up(
    make_client: Callable[..., ASGIClient],
) -> None:
    client = make_client()
    live = client.get("/health/live")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    starting = client.get("/health/ready")
    assert (starting.status_code, starting.json()) == (503, {"status": "starting"})
    assert sample(client, "char_rnn_model_loaded", model="test-rnn-16") is None
    with lifespan(client.app):
        ready = client.get("/health/ready")
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
        assert sample(client, "char_rnn_model_loaded", model="test-rnn-16") == 1.0
        # The warm-up's forward pass bypasses the cache: no entry, no miss counted.
        assert client.app.state.models.default.cache.stats() == (0, 0, 0)
    draining = client.get("/health/ready")
    assert (draining.status_code, draining.json()) == (503, {"status": "draining"})
    assert client.get("/health/live").status_code == 200
    with lifespan(client.app):  # started again, as a test client may do
        assert client.get("/health/ready").status_code == 200
    health = client.get("/health")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})


def test_a_drain_that_begins_during_the_warm_up_is_not_undone() -> None:
    readiness = Readiness()
    before = readiness.state
    readiness.drain()
    readiness.mark_ready()
    assert (before, readiness.state) == ("starting", "draining")
    fresh = Readiness()
    fresh.mark_ready()
    assert fresh.state == "ready"


def test_probes_are_documented_in_openapi(client: ASGIClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    ready = paths["/health/ready"]["get"]["responses"]
    schema = {"$ref": "#/components/schemas/ReadinessResponse"}
    assert ready["200"]["content"]["application/json"]["schema"] == schema
    assert ready["503"]["content"]["application/json"]["schema"] == schema
    assert set(paths["/metrics"]["get"]["responses"]["200"]["content"]) == {
        "text/plain; version=0.0.4; charset=utf-8"
    }
