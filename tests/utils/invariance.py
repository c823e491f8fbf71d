"""python -m tests.utils.invariance ARCHITECTURE float32|float64 N: batch invariance on N windows.

Builds a model of the architecture (model/language_model.py: rnn, lstm, lstm-contexts) with
random weights, scores N random windows one at a time, then the same windows shuffled and cut
into batches of random sizes, all through model.batching as the service does; prints one JSON
line with how many rows differ bit for bit, the block used and the number of batches.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np

from model.batching import model_block, model_probabilities
from model.language_model import LanguageModel, architecture

HIDDEN = {"rnn": 400, "lstm": 256, "lstm-contexts": 256}
CONTEXT = 10


def language_model(name: str, dtype: Any) -> LanguageModel:
    kind = architecture(name)
    params = kind.init_params(27, HIDDEN[name], 27, 3, dtype)
    if "R" in params:  # R starts at zero; a trained model's direct path computes, so this one's does
        params["R"] = np.random.default_rng(4).standard_normal(params["R"].shape).astype(dtype)
    return LanguageModel(kind, params, CONTEXT)


def check(name: str, dtype: Any, count: int) -> dict[str, int]:
    model = language_model(name, dtype)
    block = model_block(model)
    rng = np.random.default_rng(7)
    windows = rng.integers(0, 27, (count, CONTEXT))
    alone = np.concatenate([model_probabilities(model, windows[i : i + 1], block) for i in range(count)])
    order, start, batches, differing = rng.permutation(count), 0, 0, 0
    while start < count:
        chosen = order[start : start + int(rng.integers(1, 300))]
        together = model_probabilities(model, windows[chosen], block)
        differing += int((together != alone[chosen]).any(axis=1).sum())
        start, batches = start + len(chosen), batches + 1
    return {"windows": count, "rows_differing": differing, "block": block, "batches": batches}


if __name__ == "__main__":
    print(json.dumps(check(sys.argv[1], np.dtype(sys.argv[2]), int(sys.argv[3]))))
