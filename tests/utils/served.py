"""The probabilities the service must answer, computed from model/ alone."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.accuracy import evaluate, text_positions
from model.alphabet import encode, simplify
from model.batching import model_block, model_probabilities
from model.language_model import LanguageModel


def served_probabilities(model: LanguageModel, windows: NDArray[Any]) -> NDArray[Any]:
    """The model's probabilities in blocks whose every row position computes alike."""
    return model_probabilities(model, np.asarray(windows), model_block(model))


def served_accuracy(model: LanguageModel, text: str) -> dict[str, Any]:
    """The body POST /accuracy must answer for `text`: model.accuracy.evaluate on every position
    of the simplified text after its first letter."""
    indices = encode(simplify(text))
    positions = text_positions(indices)
    assert positions is not None
    expected = evaluate(model, indices, positions)
    return {
        "accuracy": expected.accuracy,
        "bits_per_char": expected.bits_per_char,
        "correct": expected.correct,
        "total": expected.total,
    }
