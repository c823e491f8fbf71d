"""The prediction answers' JSON, written in this one place for /predict-next and its batch.

The routes declare PredictNextResponse and PredictBatchResponse for OpenAPI, and a test checks
that these bytes validate against them; encoding plain dicts once skips FastAPI's validation
and serialisation of every prediction (figures in docs/performance.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi import Response

from service.served import Ranking


def prediction(window: str, ranking: Ranking, k: int) -> dict[str, Any]:
    """One PredictNextResponse as a dict: the first k entries of the ranking."""
    top = [
        {"char": char, "probability": probability}
        for char, probability in zip(ranking.chars[:k], ranking.probabilities[:k], strict=True)
    ]
    return {"next_char": ranking.chars[0], "top": top, "window": window}


def prediction_response(window: str, ranking: Ranking, k: int) -> Response:
    """The /predict-next answer."""
    return _json(prediction(window, ranking, k))


def batch_response(windows: Sequence[str], rankings: Sequence[Ranking], k: int) -> Response:
    """The /predict-next/batch answer: one prediction per window, in order."""
    predictions = [prediction(window, ranking, k) for window, ranking in zip(windows, rankings, strict=True)]
    return _json({"predictions": predictions})


def _json(content: dict[str, Any]) -> Response:
    return Response(json.dumps(content, separators=(",", ":")).encode(), media_type="application/json")
