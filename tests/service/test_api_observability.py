"""GET /metrics, X-Request-ID and JSON logs, over ASGI."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from asgi_correlation_id import correlation_id
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.logs import JsonFormatter
from service.request_id import is_safe, log_filter
from tests.utils.client import ASGIClient, ExplicitSettings
from tests.utils.errors import error_body

GENERATED = re.compile(r"[0-9a-f]{32}")
JSON = {"content-type": "application/json"}


def samples(client: ASGIClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of GET /metrics by (name, sorted labels)."""
    text = client.get("/metrics").text
    return {
        (item.name, tuple(sorted(item.labels.items()))): float(item.value)
        for family in text_string_to_metric_families(text)
        for item in family.samples
    }


def labels(method: str, route: str, status: int) -> tuple[tuple[str, str], ...]:
    return (("method", method), ("route", route), ("status", str(status)))


def test_metrics_count_requests_by_route_template_and_status(make_client: Callable[..., ASGIClient]) -> None:
    client = make_client(MAX_BODY_BYTES=300)
    for _ in range(2):
        client.get("/health")
        client.post("/predict-next", json={"text": "harles dar"})
    client.post("/predict-next", json={"text": "harles dar", "top_k": 0})
    client.get("/no/such/path")
    client.post("/predict-next", content=b" " * 301, headers=JSON)
    found = samples(client)
    assert found["http_requests_total", labels("GET", "/health", 200)] == 2
    assert found["http_requests_total", labels("POST", "/predict-next", 200)] == 2
    assert found["http_requests_total", labels("POST", "/predict-next", 422)] == 1
    # Unrouted requests share one label: raw paths would make the series unbounded.
    assert found["http_requests_total", labels("GET", "unmatched", 404)] == 1
    assert found["http_requests_total", labels("POST", "unmatched", 413)] == 1
    assert found["http_request_duration_seconds_count", labels("GET", "/health", 200)] == 2
    bucket = (("le", "+Inf"), *labels("POST", "/predict-next", 200))
    assert found["http_request_duration_seconds_bucket", tuple(sorted(bucket))] == 2
    assert not any("/no/such/path" in str(key) for key in found)


def test_metrics_count_cache_hits_and_misses_and_batch_sizes(make_client: Callable[..., ASGIClient]) -> None:
    client = make_client()
    for text in ("harles dar", "harles dar", "xharles dar", "origin of species", "x" * 2000, "x" * 2001):
        assert client.post("/predict-next", json={"text": text}).status_code == 200
    for texts in (["a"], ["a", "b", "c"], ["a"] * 40):
        assert client.post("/predict-next/batch", json={"texts": texts}).status_code == 200
    assert client.post("/predict-next/batch", json={"texts": ["a", "  "]}).status_code == 422
    found = samples(client)
    # Windows: "harles dar" twice (the second from "xharles dar" too), two distinct others,
    # and the two long texts share the window "xxxxxxxxxx".
    model = (("model", "test-rnn-16"),)
    assert found["char_rnn_predict_cache_hits_total", model] == 3
    assert found["char_rnn_predict_cache_misses_total", model] == 3
    assert found["char_rnn_predict_cache_entries", model] == 3
    assert found["char_rnn_batch_size_count", model] == 3  # the refused batch is not counted
    assert found["char_rnn_batch_size_sum", model] == 44
    assert found["char_rnn_batch_size_bucket", (("le", "2.0"), *model)] == 1
    assert found["char_rnn_batch_size_bucket", (("le", "4.0"), *model)] == 2


def test_metrics_follow_the_scrapers_accept_header(client: ASGIClient) -> None:
    plain = client.get("/metrics")
    assert plain.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    openmetrics = client.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")


def test_a_request_id_is_generated_and_echoed(client: ASGIClient) -> None:
    first, second = client.get("/health"), client.get("/health")
    assert GENERATED.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize(
    "given", ["abc-123", "0af7651916cd43dd8448eb211c80319c", "a" * 128, "trace:1/2@x=y+z"]
)
def test_a_safe_request_id_is_kept_and_named_in_error_bodies(client: ASGIClient, given: str) -> None:
    ok = client.post("/predict-next", json={"text": "harles dar"}, headers={"X-Request-ID": given})
    assert ok.headers["x-request-id"] == given
    refused = client.post("/predict-next", json={"text": ""}, headers={"x-request-id": given})
    assert (refused.status_code, refused.json()["request_id"]) == (422, given)
    missing = client.get("/nowhere", headers={"x-request-id": given})
    assert missing.json() == {"detail": "Not Found", "request_id": given}


@pytest.mark.parametrize("given", ["", "a" * 129, "two words", 'quote"d', "semi;colon", "caf\xe9"])
def test_an_unsafe_request_id_is_replaced(client: ASGIClient, given: str) -> None:
    response = client.get("/nowhere", headers={"x-request-id": given.encode("latin-1")})
    echoed = response.headers["x-request-id"]
    assert GENERATED.fullmatch(echoed)
    assert error_body(response) == {"detail": "Not Found"}


def test_the_id_is_checked_as_given() -> None:
    assert is_safe("abc")
    assert not is_safe("a\r\nb")
    assert not is_safe("")


def test_cors_allows_and_exposes_the_request_id(make_client: Callable[..., ASGIClient]) -> None:
    client = make_client(CORS_ORIGINS="https://example.org")
    preflight = client.request(
        "OPTIONS",
        "/predict-next",
        headers={
            "origin": "https://example.org",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, x-request-id",
        },
    )
    assert preflight.status_code == 200
    assert "x-request-id" in preflight.headers["access-control-allow-headers"].lower()
    simple = client.get("/health", headers={"origin": "https://example.org", "x-request-id": "r1"})
    assert simple.headers["access-control-expose-headers"] == "X-Request-ID"
    assert simple.headers["x-request-id"] == "r1"


def test_the_access_log_names_the_request_id(client: ASGIClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="service.access"):
        client.get("/health", headers={"x-request-id": "find-me-42"})
    (record,) = [record for record in caplog.records if record.name == "service.access"]
    assert record.getMessage().endswith(" id=find-me-42")
    assert (record.method, record.path, record.status) == ("GET", "/health", 200)  # type: ignore[attr-defined]


def record(message: str, **extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("service", logging.WARNING, __file__, 1, message, (), None)
    entry.__dict__.update(extra)
    return entry


def test_json_log_lines_carry_the_request_id_and_access_fields() -> None:
    formatter, request_filter = JsonFormatter(), log_filter()
    outside = record("plain")
    request_filter.filter(outside)
    assert json.loads(formatter.format(outside)) | {"time": "t"} == {
        "time": "t",
        "level": "warning",
        "logger": "service",
        "message": "plain",
        "request_id": "-",
    }
    token = correlation_id.set("rid-7")
    try:
        inside = record("line\nbreak", status=200, duration_ms=1.5)
        request_filter.filter(inside)
    finally:
        correlation_id.reset(token)
    line = formatter.format(inside)
    assert "\n" not in line
    parsed = json.loads(line)
    assert (parsed["request_id"], parsed["message"], parsed["status"], parsed["duration_ms"]) == (
        "rid-7",
        "line\nbreak",
        200,
        1.5,
    )


def test_json_log_lines_carry_the_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failing = record("failed", exc_info=sys.exc_info())
    parsed = json.loads(JsonFormatter().format(failing))
    assert parsed["exception"].startswith("Traceback") and "ValueError: boom" in parsed["exception"]


def test_a_bugs_log_record_and_500_name_the_request_id(
    small_artifact: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(ExplicitSettings(CHAR_RNN_ARTIFACT=small_artifact))

    @app.get("/broken")
    def broken() -> dict[str, str]:
        raise RuntimeError("a bug")

    client = ASGIClient(app, raise_app_exceptions=False)
    caplog.handler.addFilter(log_filter())
    try:
        with caplog.at_level(logging.ERROR, logger="service.errors"):
            response = client.get("/broken", headers={"x-request-id": "bug-1"})
    finally:
        client.close()
    assert (response.status_code, response.headers.get_list("x-request-id")) == (500, ["bug-1"])
    assert response.json() == {"detail": "Internal server error", "request_id": "bug-1"}
    (logged,) = [entry for entry in caplog.records if entry.name == "service.errors"]
    assert json.loads(JsonFormatter().format(logged))["request_id"] == "bug-1"
