"""The models at work: next-character prediction, generation and accuracy on a text.

Every body may name a model (GET /models); without a name the default one answers.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.concurrency import run_in_threadpool

from service.accuracy_details import accuracy_details
from service.body import ThreadedBodyRoute
from service.cancellation import run_until_disconnect
from service.deps import BatchersDep, EvaluationLimiterDep, MetricsDep, ModelsDep
from service.predictor import OnChunk, Predictor
from service.responses import batch_response, prediction_response
from service.schemas import (
    AccuracyRequest,
    AccuracyResponse,
    GenerateRequest,
    GenerateResponse,
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
GENERATE_EXAMPLES: dict[str, Any] = {
    "greedy": {"summary": "Greedy", "value": {"text": "harles dar", "n": 40, "temperature": 0}},
    "sampled": {
        "summary": "Sampled, reproducible",
        "value": {"text": "harles dar", "n": 40, "temperature": 0.8, "seed": 7},
    },
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
    limiter: EvaluationLimiterDep,
) -> Response:
    """The most probable next characters after the last `context` simplified characters of a text."""
    predictor = models.get(body.model)
    if body.adapt:  # the weights adapt to this text alone: no cache, no shared pass
        window = await run_in_threadpool(predictor.window, body.text)
        ranking = await run_until_disconnect(
            request.receive, predictor.adaptive_ranking, window, limiter=limiter
        )
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
    metrics: MetricsDep,
) -> Response:
    """/predict-next for up to MAX_BATCH texts at once, in shared forward passes."""
    # MAX_BATCH is checked before the items are validated (service.body).
    predictor = models.get(body.model)
    response = await run_until_disconnect(request.receive, _batch, predictor, body)
    metrics.batch_sizes.labels(predictor.name).observe(len(body.texts))
    return response


def _batch(predictor: Predictor, body: PredictBatchRequest, on_chunk: OnChunk) -> Response:
    # The answer's JSON is written here too: for 1000 texts it is milliseconds of the loop's time.
    windows = predictor.windows(body.texts, on_chunk)
    on_chunk(len(windows))
    probabilities = predictor.probabilities(windows, on_chunk)
    return batch_response(windows, predictor.top(probabilities, body.top_k), body.top_k)


@router.post("/generate")
def generate(
    body: Annotated[GenerateRequest, Body(openapi_examples=GENERATE_EXAMPLES)],
    models: ModelsDep,
) -> GenerateResponse:
    """Continue a text by n characters, greedily (temperature 0) or by sampling."""
    predictor = models.get(body.model)
    window = predictor.window(body.text)
    continuation = predictor.generate(window, body.n, body.temperature, body.seed)
    return GenerateResponse(window=window, continuation=continuation)


@router.post("/accuracy", response_model_exclude_none=True)
async def measure_accuracy(
    body: Annotated[AccuracyRequest, Body(openapi_examples=ACCURACY_EXAMPLES)],
    request: Request,
    models: ModelsDep,
    limiter: EvaluationLimiterDep,
) -> AccuracyResponse:
    """Share of the text's characters the model ranks first, each from the text before it;
    with details, the guess at each of those positions."""
    predictor = models.get(body.model)
    # A long text costs seconds and tens of MB, so only a few run at once; the others wait on
    # the event loop, not in a pool thread, so they never starve the other endpoints. A client
    # that disconnects stops its work at the next forward pass.
    predictor.check_adapt(body.adapt)
    if body.details:
        result, details = await run_until_disconnect(
            request.receive,
            partial(accuracy_details, predictor, body.text, adapt=body.adapt),
            limiter=limiter,
        )
    else:
        result = await run_until_disconnect(
            request.receive, partial(predictor.accuracy, body.text, adapt=body.adapt), limiter=limiter
        )
        details = None
    return AccuracyResponse(
        accuracy=result.accuracy,
        bits_per_char=result.bits_per_char,
        correct=result.correct,
        total=result.total,
        details=details,
    )
