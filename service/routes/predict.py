"""The character RNN at work: next-character prediction, generation and accuracy on a text."""

from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Body, Response
from fastapi.concurrency import run_in_threadpool

from model.errors import ArgumentError
from service.accuracy_details import accuracy_details
from service.deps import EvaluationLimiterDep, MetricsDep, PredictorDep, SettingsDep
from service.predictor import Predictor, Ranking
from service.responses import batch_response, prediction_response
from service.schemas import (
    AccuracyRequest,
    AccuracyResponse,
    GenerateRequest,
    GenerateResponse,
    PredictBatchRequest,
    PredictBatchResponse,
    PredictNextRequest,
    PredictNextResponse,
    ValidationErrorResponse,
)

router = APIRouter(tags=["prediction"], responses={422: {"model": ValidationErrorResponse}})

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
    predictor: PredictorDep,
) -> Response:
    """The most probable next characters after the last seq_length simplified characters of a text."""
    # The one async handler, for throughput: a short text whose window was seen before is
    # answered on the event loop with a bounded amount of string work and no NumPy; the
    # forward pass and any long text go to the thread pool.
    if len(body.text) <= INLINE_TEXT_CHARS:
        window = predictor.window(body.text)
        cached = predictor.cache.get(window)
        ranking = (
            cached if cached is not None else await run_in_threadpool(predictor.computed_ranking, window)
        )
    else:
        window, ranking = await run_in_threadpool(_window_and_ranking, predictor, body.text)
    return prediction_response(window, ranking, body.top_k)


def _window_and_ranking(predictor: Predictor, text: str) -> tuple[str, Ranking]:
    window = predictor.window(text)
    return window, predictor.ranking(window)


@router.post("/predict-next/batch", response_model=PredictBatchResponse)
def predict_next_batch(
    body: Annotated[PredictBatchRequest, Body(openapi_examples=BATCH_EXAMPLES)],
    predictor: PredictorDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> Response:
    """/predict-next for up to MAX_BATCH texts at once, in one vectorised forward pass."""
    if len(body.texts) > settings.max_batch:
        raise ArgumentError(
            ("texts",), f"List should have at most {settings.max_batch} items (MAX_BATCH)", "too_long"
        )
    windows = predictor.windows(body.texts)
    metrics.batch_sizes.observe(len(windows))
    return batch_response(windows, predictor.top(predictor.probabilities(windows), body.top_k), body.top_k)


@router.post("/generate")
def generate(
    body: Annotated[GenerateRequest, Body(openapi_examples=GENERATE_EXAMPLES)],
    predictor: PredictorDep,
) -> GenerateResponse:
    """Continue a text by n characters, greedily (temperature 0) or by sampling."""
    window = predictor.window(body.text)
    continuation = predictor.generate(window, body.n, body.temperature, body.seed)
    return GenerateResponse(window=window, continuation=continuation)


@router.post("/accuracy", response_model_exclude_none=True)
async def measure_accuracy(
    body: Annotated[AccuracyRequest, Body(openapi_examples=ACCURACY_EXAMPLES)],
    predictor: PredictorDep,
    limiter: EvaluationLimiterDep,
) -> AccuracyResponse:
    """Next-character accuracy over every seq_length window of the given text; with details, each guess."""
    # A long text costs seconds and tens of MB, so only a few run at once; the others wait on
    # the event loop, not in a pool thread, so they never starve the other endpoints.
    result = await to_thread.run_sync(predictor.accuracy, body.text, limiter=limiter)
    details = (
        await to_thread.run_sync(accuracy_details, predictor, body.text, limiter=limiter)
        if body.details
        else None
    )
    return AccuracyResponse(
        accuracy=result.accuracy, correct=result.correct, total=result.total, details=details
    )
