"""Optional OpenTelemetry tracing of every route, continuing an incoming W3C `traceparent`.

Off unless both hold: the `otel` extra is installed (pip install 'char-rnn-service[otel]') and
the standard OTEL_* variables ask for traces (an OTLP endpoint, or OTEL_TRACES_EXPORTER). The
SDK reads the rest itself: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER,
OTEL_PROPAGATORS, OTEL_EXPORTER_OTLP_* (docs/deployment.md). Without the extra the service
runs as it is and nothing here imports OpenTelemetry.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from fastapi import FastAPI

from service.settings import SettingsError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

logger = logging.getLogger("service.tracing")
SERVICE_NAME = "char-rnn-service"  # unless OTEL_SERVICE_NAME says otherwise
PACKAGES = ("opentelemetry.sdk", "opentelemetry.instrumentation.fastapi")
ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
EXPORTERS = ("otlp", "console")  # the values of OTEL_TRACES_EXPORTER this module builds
# Polled by probes and scrapers many times a minute: their spans would drown the requests'.
EXCLUDED_URLS = "/health,/health/live,/health/ready,/metrics"


def installed() -> bool:
    """Whether the `otel` extra's packages can be imported."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in PACKAGES)
    except ModuleNotFoundError:  # a parent package (opentelemetry) is absent
        return False


def exporter_name(environ: Mapping[str, str]) -> str | None:
    """The span exporter the OTEL_* variables ask for, or None when they ask for no tracing."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    chosen = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if chosen:
        return None if chosen == "none" else chosen
    return "otlp" if any(environ.get(name) for name in ENDPOINTS) else None


def install(app: FastAPI, tracer_provider: TracerProvider | None = None) -> bool:
    """Trace `app`'s routes with `tracer_provider`, or with one built from the OTEL_* variables
    when they ask for tracing and the extra is installed; whether tracing is on."""
    if tracer_provider is None:
        name = exporter_name(os.environ)
        if name is None:
            return False
        if not installed():
            logger.warning("OTEL_* variables ask for traces, but the otel extra is not installed")
            return False
        tracer_provider = provider_from_environment(name)
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=tracer_provider, excluded_urls=EXCLUDED_URLS)
    return True


def provider_from_environment(exporter: str) -> TracerProvider:
    """A TracerProvider (resource and sampler from the environment) exporting in batches."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    if exporter not in EXPORTERS:
        raise SettingsError(f"invalid setting OTEL_TRACES_EXPORTER={exporter!r}: expected one of {EXPORTERS}")
    span_exporter: SpanExporter
    if exporter == "console":
        span_exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter()  # endpoint, headers, timeout from OTEL_EXPORTER_OTLP_*
    resource = Resource.create()  # OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    return provider
