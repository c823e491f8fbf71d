"""The app factory: settings and a verified artifact in, a FastAPI app out."""

from __future__ import annotations

from anyio import CapacityLimiter
from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from model.version import package_version
from service import errors, openapi, tracing
from service.auth import API_KEY_REQUIRED
from service.metrics import Metrics, RequestMetrics
from service.middleware import AccessLog, BodyLimits, HeadAsGet, ShutdownCutoff
from service.readiness import Readiness, lifespan_for
from service.registry import load_registry
from service.request_id import HEADER as REQUEST_ID_HEADER
from service.request_id import is_safe, new_request_id
from service.routes import demo, generate, health, inference_protocol, lstm, meta, metrics, openai, predict
from service.schemas import MessageResponse
from service.settings import Settings

PARSE_THREADS = 2
DESCRIPTION = (
    "Character-level language models (27 symbols: space and a-z; RNNs and LSTMs trained with "
    "hand-written BPTT in NumPy) on Darwin's *On the Origin of Species*, several served at once "
    "(GET /models), plus one step of an LSTM cell. Every answer is JSON; bad input gets a 4xx "
    "naming the field."
)


def create_app(settings: Settings) -> FastAPI:
    """The service on the artifacts the settings name (ArtifactError if one is unusable,
    SettingsError if DEFAULT_MODEL is not among them)."""
    readiness = Readiness()
    service_metrics = Metrics()
    # Each served model owns its caches, its dynamic batcher and its admission queue; the
    # queues count their refusals here and close once the server drains.
    models = load_registry(
        settings,
        refusals=service_metrics.refusals,
        observe_pass=service_metrics.pass_sizes.observe,
        draining=lambda: readiness.state == "draining",
    )
    service_metrics.count_caches({model.name: model.cache for model in models.served})
    app = FastAPI(
        title="char-rnn-service",
        lifespan=lifespan_for(models, readiness, service_metrics),
        version=package_version(),
        description=DESCRIPTION,
        debug=False,
        docs_url=None,  # service.openapi serves /docs from local assets
        # Starlette's redirect for a trailing slash is an absolute URL built from the Host header.
        redirect_slashes=False,
        redoc_url=None,
        generate_unique_id_function=openapi.operation_id,
        responses={
            400: {"model": MessageResponse, "description": "Request body that cannot be decoded (not UTF-8)"},
            413: {"model": MessageResponse, "description": "Request body over MAX_BODY_BYTES"},
        },
    )
    app.state.settings = settings
    app.state.models = models
    # Large bodies parsed at once: parsing holds the GIL, so more threads than cores only
    # make the event loop wait longer for it (measured in docs/reliability.md).
    app.state.parse_limiter = CapacityLimiter(PARSE_THREADS)
    app.state.readiness = readiness
    app.state.metrics = service_metrics
    app.state.api_key = settings.api_key_bytes
    # Starlette counts each route's streamed body (service.middleware.BodyLimits). The probes,
    # /metrics and the demo page's files stay open; the page's calls send the key.
    for router in (health.router, metrics.router, inference_protocol.probes, demo.router):
        app.include_router(router, max_body_size=settings.max_body_bytes)
    for router in (
        meta.router,
        predict.router,
        generate.router,
        openai.router,
        lstm.router,
        inference_protocol.router,
    ):
        app.include_router(router, max_body_size=settings.max_body_bytes, dependencies=[API_KEY_REQUIRED])
    errors.install(app)
    openapi.install(app, settings)
    tracing.install(app)  # only with the otel extra and OTEL_* variables asking for traces
    app.add_middleware(HeadAsGet)  # innermost: the access log and the metrics still see HEAD
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER],
        )
    app.add_middleware(
        BodyLimits,
        max_bytes=settings.max_body_bytes,
        timeout=settings.body_timeout_seconds,
        budget=settings.body_buffer_bytes,
    )
    app.add_middleware(ShutdownCutoff)  # inside the metrics and the log: they see its 503
    # Added last, so outermost: they also count and log the 413s and 408s, and the id is set for all.
    app.add_middleware(RequestMetrics, metrics=service_metrics)
    app.add_middleware(AccessLog)
    app.add_middleware(
        CorrelationIdMiddleware, header_name=REQUEST_ID_HEADER, generator=new_request_id, validator=is_safe
    )
    return app
