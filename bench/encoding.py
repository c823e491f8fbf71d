"""The cost of writing the prediction JSON, in process: service/responses.py's one json.dumps of
plain dicts against returning the response models through FastAPI's response_model path
(dump, validate, serialise, encode), beside the forward pass it accompanies.

python -m bench.encoding
"""

from __future__ import annotations

import asyncio
import timeit
from collections.abc import Callable

import numpy as np
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, serialize_response

from model.alphabet import ALPHABET
from model.artifact import DEFAULT_ARTIFACT, load
from service.responses import batch_response, prediction, prediction_response
from service.routes import predict
from service.schemas import PredictBatchResponse, PredictNextResponse
from service.served import ServedModel

TEXTS = 1000


def through_fastapi(route: APIRoute, content: object) -> bytes:
    """What FastAPI does with a returned model: validate against response_model, serialise, encode."""

    async def encode() -> bytes:
        assert route.response_field is not None
        data = await serialize_response(field=route.response_field, response_content=content)
        return bytes(JSONResponse(data).body)

    return asyncio.run(encode())


def best_microseconds(function: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(function, number=number, repeat=5)) / number * 1e6


def main() -> None:
    served = ServedModel(load(DEFAULT_ARTIFACT), 100_000)
    rng = np.random.default_rng(0)
    texts = ["".join(rng.choice(list(ALPHABET), 10)) for _ in range(TEXTS)]
    windows = served.windows(texts)
    rankings = served.top(served.probabilities(windows), 5)
    one = served.ranking("harles dar")
    routes = {route.path: route for route in predict.router.routes if isinstance(route, APIRoute)}

    def single_model() -> bytes:
        model = PredictNextResponse.model_validate(prediction("harles dar", one, 5))
        return through_fastapi(routes["/predict-next"], model)

    def batch_model() -> bytes:
        content = {"predictions": [prediction(w, r, 5) for w, r in zip(windows, rankings, strict=True)]}
        return through_fastapi(routes["/predict-next/batch"], PredictBatchResponse.model_validate(content))

    loop = best_microseconds(lambda: asyncio.run(asyncio.sleep(0)), 2000)
    figures = {
        "single, json.dumps": best_microseconds(lambda: prediction_response("harles dar", one, 5), 20_000),
        "single, response model via FastAPI": best_microseconds(single_model, 2000) - loop,
        f"batch {TEXTS}, json.dumps": best_microseconds(lambda: batch_response(windows, rankings, 5), 20),
        f"batch {TEXTS}, response model via FastAPI": best_microseconds(batch_model, 20) - loop,
        f"batch {TEXTS}, windows + forward pass + top": best_microseconds(
            lambda: served.top(served.probabilities(served.windows(texts)), 5), 20
        ),
    }
    for name, microseconds in figures.items():
        print(f"{name:46s} {microseconds:10.1f} us")
    print(f"(asyncio.run's own {loop:.0f} us subtracted from the FastAPI figures)")


if __name__ == "__main__":
    main()
