"""One step of an LSTM cell with every gate value: the assignment's example weights or your own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from model.lstm import EXAMPLE_C0, EXAMPLE_H0, EXAMPLE_INPUTS, WEIGHT_NAMES, check_example_sizes, step
from service.body import ThreadedBodyRoute
from service.schemas import LSTMStepRequest, LSTMStepResponse, ValidationErrorResponse

router = APIRouter(
    tags=["lstm"], responses={422: {"model": ValidationErrorResponse}}, route_class=ThreadedBodyRoute
)

LSTM_EXAMPLES: dict[str, Any] = {
    f"example_{index}": {"summary": f"The assignment's input {index}: x = {x}", "value": {"x": x}}
    for index, x in enumerate(EXAMPLE_INPUTS, start=1)
}
LSTM_EXAMPLES["own_weights"] = {
    "summary": "Weights of your own (H = 1, X = 1)",
    "value": {
        "x": [0.5],
        "h": [0.1],
        "c": [0.2],
        "weights": {name: ([[0.3, -0.2]] if name.startswith("W") else [0.1]) for name in WEIGHT_NAMES},
    },
}


@router.post("/lstm/step")
def lstm_step(body: Annotated[LSTMStepRequest, Body(openapi_examples=LSTM_EXAMPLES)]) -> LSTMStepResponse:
    """f, i, o, c_tilde, c and h of one LSTM step; without weights, the assignment's example weights."""
    if body.weights is None:
        weights = None
        h = body.h if body.h is not None else list(EXAMPLE_H0)
        c = body.c if body.c is not None else list(EXAMPLE_C0)
        check_example_sizes(body.x, h, c)
    else:
        weights = body.weights.model_dump()
        # An omitted state is zeros, as long as the other state given (else as the biases).
        size = len(body.h or body.c or body.weights.b_f)
        h = body.h if body.h is not None else [0.0] * size
        c = body.c if body.c is not None else [0.0] * size
    return LSTMStepResponse.model_validate(step(body.x, h, c, weights).as_lists())
