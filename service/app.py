"""The app factory: settings and a verified artifact in, a FastAPI app out."""

from __future__ import annotations

from anyio import CapacityLimiter
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from model.artifact import Artifact
from model.version import package_version
from service import errors
from service.metrics import Metrics, RequestMetrics
from service.middleware import AccessLog, BodySizeLimit
from service.predictor import Predictor, load_predictor
from service.readiness import Readiness, lifespan_for
from service.request_id import HEADER as REQUEST_ID_HEADER
from service.request_id import RequestID
from service.routes import demo, health, lstm, meta, metrics, models, predict
from service.schemas import MessageResponse
from service.settings import Settings

DESCRIPTION = (
    "A character-level RNN (27 symbols: space and a-z) trained with hand-written BPTT in NumPy on "
    "Darwin's *On the Origin of Species*, plus one step of an LSTM cell. Every answer is JSON; "
    "bad input gets a 4xx naming the field."
)


def create_app(settings: Settings, artifact: Artifact | None = None) -> FastAPI:
    """The service on `artifact`, or on the one at settings.artifact (ArtifactError if unusable)."""
    predictor = (
        Predictor(artifact, settings.max_text_chars, settings.predict_cache_size)
        if artifact is not None
        else load_predictor(settings.artifact_path, settings.max_text_chars, settings.predict_cache_size)
    )
    readiness, service_metrics = Readiness(), Metrics(predictor.cache)
    app = FastAPI(
        title="char-rnn-service",
        lifespan=lifespan_for(predictor, readiness, service_metrics),
        version=package_version(),
        description=DESCRIPTION,
        debug=False,
        responses={
            400: {"model": MessageResponse, "description": "Request body that cannot be decoded (not UTF-8)"},
            413: {"model": MessageResponse, "description": "Request body over MAX_BODY_BYTES"},
        },
    )
    app.state.settings = settings
    app.state.predictor = predictor
    app.state.evaluation_limiter = CapacityLimiter(settings.max_concurrent_evaluations)
    app.state.readiness = readiness
    app.state.metrics = service_metrics
    for module in (meta, models, health, metrics, predict, lstm, demo):
        app.include_router(module.router)
    errors.install(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER],
        )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Added last, so outermost: they also count and log the 413s, and the id is set for both.
    app.add_middleware(RequestMetrics, metrics=service_metrics)
    app.add_middleware(AccessLog)
    app.add_middleware(RequestID)
    return app
