"""The character RNN at work: next-character prediction, generation and accuracy on a text."""

from __future__ import annotations

import json
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Body, Response
from fastapi.concurrency import run_in_threadpool

from service.deps import EvaluationLimiterDep, MetricsDep, PredictorDep, SettingsDep
from service.predictor import InputError, Predictor, Ranking
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

TEXT_LOC = ("body", "text")
INLINE_TEXT_CHARS = 1000  # longer texts are windowed in the thread pool

PREDICT_EXAMPLES: dict[str, Any] = {
    "darwin": {"summary": "The seed's prompt", "value": {"text": "harles dar", "top_k": 5}},
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
}


@router.post("/predict-next", response_model=PredictNextResponse)
async def predict_next(
    request: Annotated[PredictNextRequest, Body(openapi_examples=PREDICT_EXAMPLES)],
    predictor: PredictorDep,
) -> Response:
    """The most probable next characters after the last seq_length simplified characters of a text."""
    # The one async handler, for throughput: a short text whose window was seen before is
    # answered on the event loop with a bounded amount of string work and no NumPy; the
    # forward pass and any long text go to the thread pool.
    if len(request.text) <= INLINE_TEXT_CHARS:
        window = predictor.window(request.text, TEXT_LOC)
        cached = predictor.cache.get(window)
        ranking = (
            cached if cached is not None else await run_in_threadpool(predictor.computed_ranking, window)
        )
    else:
        window, ranking = await run_in_threadpool(_window_and_ranking, predictor, request.text)
    # The JSON was encoded when the ranking was computed; a test checks that it is what the
    # response model would give, so FastAPI's second validation and serialisation are skipped.
    return Response(ranking.response_json(window, request.top_k), media_type="application/json")


def _window_and_ranking(predictor: Predictor, text: str) -> tuple[str, Ranking]:
    window = predictor.window(text, TEXT_LOC)
    return window, predictor.ranking(window)


@router.post("/predict-next/batch", response_model=PredictBatchResponse)
def predict_next_batch(
    request: Annotated[PredictBatchRequest, Body(openapi_examples=BATCH_EXAMPLES)],
    predictor: PredictorDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> Response:
    """/predict-next for up to MAX_BATCH texts at once, in one vectorised forward pass."""
    if len(request.texts) > settings.max_batch:
        raise InputError(
            ("body", "texts"), f"List should have at most {settings.max_batch} items (MAX_BATCH)", "too_long"
        )
    windows = [predictor.window(text, ("body", "texts", index)) for index, text in enumerate(request.texts)]
    metrics.batch_sizes.observe(len(windows))
    tops = predictor.top(predictor.probabilities(windows), request.top_k)
    predictions = [
        {"next_char": top[0]["char"], "top": top, "window": window}
        for window, top in zip(windows, tops, strict=True)
    ]
    # Plain dicts encoded once: validating 1000 responses through the model, twice (here and
    # in FastAPI), cost as much as the forward pass; a test checks the JSON against the model.
    return Response(json.dumps({"predictions": predictions}).encode(), media_type="application/json")


@router.post("/generate")
def generate(
    request: Annotated[GenerateRequest, Body(openapi_examples=GENERATE_EXAMPLES)],
    predictor: PredictorDep,
) -> GenerateResponse:
    """Continue a text by n characters, greedily (temperature 0) or by sampling."""
    window = predictor.window(request.text, TEXT_LOC)
    continuation = predictor.generate(window, request.n, request.temperature, request.seed)
    return GenerateResponse(window=window, continuation=continuation)


@router.post("/accuracy")
async def measure_accuracy(
    request: Annotated[AccuracyRequest, Body(openapi_examples=ACCURACY_EXAMPLES)],
    predictor: PredictorDep,
    limiter: EvaluationLimiterDep,
) -> AccuracyResponse:
    """Next-character accuracy over every seq_length window of the given text."""
    # A long text costs seconds and tens of MB, so only a few run at once; the others wait on
    # the event loop, not in a pool thread, so they never starve the other endpoints.
    result = await to_thread.run_sync(predictor.accuracy, request.text, TEXT_LOC, limiter=limiter)
    return AccuracyResponse(accuracy=result.accuracy, correct=result.correct, total=result.total)
