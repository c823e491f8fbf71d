"""The assignment's question (d): how often is the next character guessed right?

Shared by training (which records it in the manifest) and the service (which measures it on a
posted text), so it lives beside the model, not in either of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from model.rnn import Params, predict_next

EVAL_BATCH = 4096


class Windows(Protocol):
    """Where windows start in a text (training.data.Span is one)."""

    def starts(self, seq_length: int) -> NDArray[np.int64]: ...


@dataclass(frozen=True)
class Accuracy:
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "samples": self.total}


def batches(starts: NDArray[np.int64]) -> Iterator[NDArray[np.int64]]:
    """The window starts in chunks of EVAL_BATCH, so memory stays bounded on a long text."""
    for first in range(0, starts.size, EVAL_BATCH):
        yield starts[first : first + EVAL_BATCH]


def correct_in(params: Params, indices: NDArray[np.int64], starts: NDArray[np.int64], seq_length: int) -> int:
    """How many windows starting at `starts` predict the character that follows them."""
    offsets = starts[:, None] + np.arange(seq_length)[None, :]
    predicted = predict_next(params, indices[offsets])
    return int(np.count_nonzero(predicted == indices[starts + seq_length]))


def count_correct(params: Params, indices: NDArray[np.int64], windows: Windows, seq_length: int) -> Accuracy:
    """Windows of `windows`: is the most probable character after each the actual next one?"""
    return _count(params, indices, windows.starts(seq_length), seq_length)


def accuracy_on_text(params: Params, indices: NDArray[np.int64], seq_length: int) -> Accuracy:
    """Every window of the text (stride 1): total = len(indices) - seq_length."""
    starts = np.arange(max(len(indices) - seq_length, 0), dtype=np.int64)
    return _count(params, indices, starts, seq_length)


def _count(
    params: Params, indices: NDArray[np.int64], starts: NDArray[np.int64], seq_length: int
) -> Accuracy:
    correct = sum(correct_in(params, indices, chunk, seq_length) for chunk in batches(starts))
    return Accuracy(correct=correct, total=int(starts.size))


def sentence(train: Accuracy, heldout: Accuracy) -> str:
    return (
        f"The RNN guesses the next character correctly {train.accuracy:.1%} of the time on "
        f"{train.total:,} training windows (held-out text: {heldout.accuracy:.1%} on "
        f"{heldout.total:,} windows)"
    )
