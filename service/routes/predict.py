"""The models at work: next-character prediction and accuracy on a text (generation: routes.generate).

Every body may name a model (GET /models); without a name the default one answers.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from service.accuracy_details import accuracy_details
from service.body import ThreadedBodyRoute
from service.deps import MetricsDep, ModelsDep
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
from service.served import OnChunk, ServedModel

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
) -> Response:
    """The most probable next characters after the last `context` simplified characters of a text."""
    # For throughput, the model answers a window seen before from its cache and the others in
    # forward passes shared with concurrent requests (ServedModel.predict_next).
    served = models.get(body.model)
    window, ranking = await served.predict_next(body.text, request.receive, body.adapt)
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
    served = models.get(body.model)
    response = await served.admit(request.receive, _batch, served, body)
    metrics.batch_sizes.labels(served.name).observe(len(body.texts))
    return response


def _batch(served: ServedModel, body: PredictBatchRequest, on_chunk: OnChunk) -> Response:
    # The answer's JSON is written here too: for 1000 texts it is milliseconds of the loop's time.
    windows = served.windows(body.texts, on_chunk)
    on_chunk(len(windows))
    probabilities = served.probabilities(windows, on_chunk)
    return batch_response(windows, served.top(probabilities, body.top_k), body.top_k)


@router.post("/accuracy", response_model_exclude_none=True)
async def measure_accuracy(
    body: Annotated[AccuracyRequest, Body(openapi_examples=ACCURACY_EXAMPLES)],
    request: Request,
    models: ModelsDep,
) -> AccuracyResponse:
    """Share of the text's characters the model ranks first, each from the text before it;
    with details, the guess at each of those positions."""
    served = models.get(body.model)
    # A long text costs seconds: it waits its turn in the model's admission queue
    # (service.admission), and a client that disconnects stops it at the next chunk.
    served.check_adapt(body.adapt)
    if body.details:
        result, details = await served.admit(
            request.receive, partial(accuracy_details, served, body.text, adapt=body.adapt)
        )
    else:
        result = await served.admit(request.receive, partial(served.accuracy, body.text, adapt=body.adapt))
        details = None
    return AccuracyResponse(
        accuracy=result.accuracy,
        bits_per_char=result.bits_per_char,
        correct=result.correct,
        total=result.total,
        details=details,
    )
