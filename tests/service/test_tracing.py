"""Optional tracing: with the otel extra a route is traced and an incoming traceparent
continued; without the extra or the OTEL_* variables, nothing is traced and the service runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from service import tracing
from service.app import create_app
from service.settings import SettingsError
from tests.utils.client import ASGIClient, ExplicitSettings

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"


def test_a_route_is_traced_and_the_callers_trace_continued(small_artifact: Path) -> None:
    if not tracing.installed():
        pytest.skip("the otel extra is not installed (pip install -e '.[otel]')")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(ExplicitSettings(CHAR_RNN_ARTIFACT=small_artifact))
    assert tracing.install(app, tracer_provider=provider)
    client = ASGIClient(app)
    try:
        traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
        response = client.post(
            "/predict-next", json={"text": "harles dar"}, headers={"traceparent": traceparent}
        )
        client.get("/health")  # probes are not traced
    finally:
        client.close()
    assert response.status_code == 200
    (server,) = [span for span in exporter.get_finished_spans() if span.parent and span.parent.is_remote]
    assert server.name == "POST /predict-next"
    assert server.context is not None and server.parent is not None
    assert (format(server.context.trace_id, "032x"), format(server.parent.span_id, "016x")) == (
        TRACE_ID,
        PARENT_ID,
    )
    assert all("/health" not in span.name for span in exporter.get_finished_spans())


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": "Console"}, "console"),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, None),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, None),
    ],
)
def test_only_the_otel_variables_turn_tracing_on(environ: dict[str, str], expected: str | None) -> None:
    assert tracing.exporter_name(environ) == expected


def test_without_the_extra_the_service_runs_untraced(
    monkeypatch: pytest.MonkeyPatch, small_artifact: Path
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setattr(tracing, "installed", lambda: False)
    app = FastAPI()
    assert not tracing.install(app)
    client = ASGIClient(create_app(ExplicitSettings(CHAR_RNN_ARTIFACT=small_artifact)))
    try:
        assert client.get("/health").status_code == 200
    finally:
        client.close()


def test_an_exporter_this_service_cannot_build_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    if not tracing.installed():
        pytest.skip("the otel extra is not installed (pip install -e '.[otel]')")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(SettingsError, match="OTEL_TRACES_EXPORTER='zipkin'"):
        tracing.install(FastAPI())


def test_the_console_exporter_is_built_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    if not tracing.installed():
        pytest.skip("the otel extra is not installed (pip install -e '.[otel]')")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "my-name")
    provider = tracing.provider_from_environment("console")
    try:
        assert provider.resource.attributes["service.name"] == "my-name"
    finally:
        provider.shutdown()
    monkeypatch.delenv("OTEL_SERVICE_NAME")
    provider = tracing.provider_from_environment("otlp")
    try:
        assert provider.resource.attributes["service.name"] == "char-rnn-service"
    finally:
        provider.shutdown()
