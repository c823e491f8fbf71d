"""One step of an LSTM cell with every gate value: the seed's preset or weights of your own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from model.lstm import SEED_C0, SEED_H0, WEIGHT_NAMES, step
from service.predictor import InputError, Loc
from service.schemas import LSTMStepRequest, LSTMStepResponse, ValidationErrorResponse

router = APIRouter(tags=["lstm"], responses={422: {"model": ValidationErrorResponse}})

SEED_INPUTS = ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0])
PRESET_X, PRESET_H = 3, len(SEED_H0)
LSTM_EXAMPLES: dict[str, Any] = {
    f"seed_{index}": {"summary": f"The seed's input {index}: x = {x}", "value": {"x": x}}
    for index, x in enumerate(SEED_INPUTS, start=1)
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
def lstm_step(request: Annotated[LSTMStepRequest, Body(openapi_examples=LSTM_EXAMPLES)]) -> LSTMStepResponse:
    """f, i, o, c_tilde, c and h of one LSTM step; without weights, the seed's preset."""
    if request.weights is None:
        _check_preset_sizes(request)
        weights = None
        h = request.h if request.h is not None else list(SEED_H0)
        c = request.c if request.c is not None else list(SEED_C0)
    else:
        weights = request.weights.model_dump()
        # An omitted state is zeros, as long as the other state given (else as the biases).
        size = len(request.h or request.c or request.weights.b_f)
        h = request.h if request.h is not None else [0.0] * size
        c = request.c if request.c is not None else [0.0] * size
    try:
        result = step(request.x, h, c, weights)
    except ValueError as error:
        raise InputError(_field_of(str(error)), str(error)) from None
    return LSTMStepResponse.model_validate(result.as_lists())


def _check_preset_sizes(request: LSTMStepRequest) -> None:
    expected = {"x": (request.x, PRESET_X), "h": (request.h, PRESET_H), "c": (request.c, PRESET_H)}
    for name, (vector, size) in expected.items():
        if vector is not None and len(vector) != size:
            raise InputError(
                ("body", name),
                f"{name}: the seed's preset takes x of length {PRESET_X} and h, c of length {PRESET_H}; "
                f"got {len(vector)} (send weights for other sizes)",
            )


def _field_of(message: str) -> Loc:
    """model.lstm's errors start with the argument's name: "W_f: expected shape ..."."""
    name = message.split(":", 1)[0].strip()
    if name in WEIGHT_NAMES:
        return ("body", "weights", name)
    if name in ("x", "h", "c"):
        return ("body", name)
    return ("body",)
