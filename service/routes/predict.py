"""The models at work: next-character prediction and accuracy on a text (generation: routes.generate).

Every body may name a model (GET /models); without a name the default one answers.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.concurrency import run_in_threadpool

from service.accuracy_details import accuracy_details
from service.body import ThreadedBodyRoute
from service.deps import AdmissionsDep, BatchersDep, MetricsDep, ModelsDep
from service.predictor import OnChunk, Predictor
from service.responses import batch_response, prediction_response
from service.schemas import (
    AccuracyRequest,
    AccuracyResponse,
    MessageResponse,
    PredictBatchRequest,
    PredictBatchResponse,
    PredictNextRequest,
    PredictNextResponse,
    ValidationErrorResponse,
)

router = APIRouter(
    tags=["prediction"],
    responses={
        404: {"model": MessageResponse, "description": "No model of that name is served"},
        422: {"model": ValidationErrorResponse},
        429: {
            "model": MessageResponse,
            "description": "The model's queue is full (batch, accuracy); see Retry-After",
        },
        503: {"model": MessageResponse, "description": "Waited past QUEUE_TIMEOUT_SECONDS, or draining"},
    },
    route_class=ThreadedBodyRoute,
)

INLINE_TEXT_CHARS = 1000  # longer texts are windowed in the thread pool

PREDICT_EXAMPLES: dict[str, Any] = {
    "darwin": {"summary": "The assignment's prompt", "value": {"text": "harles dar", "top_k": 5}},
}
BATCH_EXAMPLES: dict[str, Any] = {
    "two": {"summary": "Two texts", "value": {"texts": ["harles dar", "origin of spe"], "top_k": 3}},
}
ACCURACY_EXAMPLES: dict[str, Any] = {
    "sentence": {
        "summary": "One sentence of Darwin",
        "value": {
            "text": "When we look to the individuals of the same variety or sub-variety of our older "
            "cultivated plants and animals, one of the first points which strikes us"
        },
    },
    "details": {
        "summary": "With the guess at every position",
        "value": {"text": "On the Origin of Species by Means of Natural Selection", "details": True},
    },
}


@router.post("/predict-next", response_model=PredictNextResponse)
async def predict_next(
    body: Annotated[PredictNextRequest, Body(openapi_examples=PREDICT_EXAMPLES)],
    request: Request,
    models: ModelsDep,
    batchers: BatchersDep,
    admissions: AdmissionsDep,
) -> Response:
    """The most probable next characters after the last `context` simplified characters of a text."""
    predictor = models.get(body.model)
    if body.adapt:  # the weights adapt to this text alone: no cache, no shared pass
        window = await run_in_threadpool(predictor.window, body.text)
        ranking = await admissions[predictor.name].run(request.receive, predictor.adaptive_ranking, window)
        return prediction_response(window, ranking, body.top_k)
    # The one async handler, for throughput: a short text is windowed on the event loop (a
    # bounded amount of string work), a window seen before is answered from the cache, and
    # the others share forward passes with concurrent requests to the same model in its
    # dynamic batcher.
    if len(body.text) <= INLINE_TEXT_CHARS:
        window = predictor.window(body.text)
    else:
        window = await run_in_threadpool(predictor.window, body.text)
    cached = predictor.cache.get(window)
    ranking = cached if cached is not None else await batchers[predictor.name].rank(window)
    return prediction_response(window, ranking, body.top_k)


@router.post("/predict-next/batch", response_model=PredictBatchResponse)
async def predict_next_batch(
    body: Annotated[PredictBatchRequest, Body(openapi_examples=BATCH_EXAMPLES)],
    request: Request,
    models: ModelsDep,
    admissions: AdmissionsDep,
    metrics: MetricsDep,
) -> Response:
    """/predict-next for up to MAX_BATCH texts at once, in shared forward passes."""
    # MAX_BATCH is checked before the items are validated (service.body).
    predictor = models.get(body.model)
    response = await admissions[predictor.name].run(request.receive, _batch, predictor, body)
    metrics.batch_sizes.labels(predictor.name).observe(len(body.texts))
    return response


def _batch(predictor: Predictor, body: PredictBatchRequest, on_chunk: OnChunk) -> Response:
    # The answer's JSON is written here too: for 1000 texts it is milliseconds of the loop's time.
    windows = predictor.windows(body.texts, on_chunk)
    on_chunk(len(windows))
    probabilities = predictor.probabilities(windows, on_chunk)
    return batch_response(windows, predictor.top(probabilities, body.top_k), body.top_k)


@router.post("/accuracy", response_model_exclude_none=True)
async def measure_accuracy(
    body: Annotated[AccuracyRequest, Body(openapi_examples=ACCURACY_EXAMPLES)],
    request: Request,
    models: ModelsDep,
    admissions: AdmissionsDep,
) -> AccuracyResponse:
    """Share of the text's characters the model ranks first, each from the text before it;
    with details, the guess at each of those positions."""
    predictor = models.get(body.model)
    # A long text costs seconds: it waits its turn in the model's admission queue
    # (service.admission), and a client that disconnects stops it at the next chunk.
    predictor.check_adapt(body.adapt)
    admission = admissions[predictor.name]
    if body.details:
        result, details = await admission.run(
            request.receive, partial(accuracy_details, predictor, body.text, adapt=body.adapt)
        )
    else:
        result = await admission.run(
            request.receive, partial(predictor.accuracy, body.text, adapt=body.adapt)
        )
        details = None
    return AccuracyResponse(
        accuracy=result.accuracy,
        bits_per_char=result.bits_per_char,
        correct=result.correct,
        total=result.total,
        details=details,
    )
