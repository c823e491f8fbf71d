"""Central finite differences, in float64, for the gradient checks of tests/model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPS = 1e-6


def central_differences(loss: Callable[[], float], array: np.ndarray, eps: float = EPS) -> np.ndarray:
    """d loss / d array, entry by entry: (loss(a + eps) - loss(a - eps)) / 2 eps, `array` changed
    in place and restored."""
    numeric = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = loss()
        array[index] = original - eps
        minus = loss()
        array[index] = original
        numeric[index] = (plus - minus) / (2 * eps)
    return numeric


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(float(np.linalg.norm(a) + np.linalg.norm(b)), 1e-300))
