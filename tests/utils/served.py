"""The probabilities the service must answer, computed from model/ alone."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.batching import model_block, model_probabilities
from model.language_model import LanguageModel


def served_probabilities(model: LanguageModel, windows: NDArray[Any]) -> NDArray[Any]:
    """The model's probabilities in blocks whose every row position computes alike."""
    return model_probabilities(model, np.asarray(windows), model_block(model))
