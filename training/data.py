"""Corpus reading and the training / held-out windows, as offsets in the simplified text."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.accuracy import Positions
from model.alphabet import encode, simplify
from training.config import CORPUS_ENV, DEFAULT_CORPUS

HELDOUT_FRACTION = 0.1  # the test split: never trained on, never used for a choice
VALIDATION_FRACTION = 0.05  # early stopping and the best epoch are chosen on it; a refit trains on it


class CorpusNotFoundError(FileNotFoundError):
    """The corpus file is missing; the message says where to get it."""


def default_corpus_path() -> Path:
    """$CHAR_RNN_CORPUS if set, else data/origin_of_species.txt."""
    return Path(os.environ.get(CORPUS_ENV) or DEFAULT_CORPUS)


def read_corpus(path: str | Path) -> tuple[str, str]:
    """(simplified text, sha256 of the file's bytes); CorpusNotFoundError if missing."""
    corpus = Path(path)
    if not corpus.is_file():
        raise CorpusNotFoundError(
            f"corpus not found at {corpus}: download 'On the Origin of Species' as plain text "
            f"(Project Gutenberg eBook #1228), then pass --corpus PATH or set {CORPUS_ENV}"
        )
    raw = corpus.read_bytes()
    return simplify(raw.decode("utf-8", errors="replace")), hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Span:
    """Windows start at s = start, start + stride, ... while s + seq_length < end."""

    start: int
    end: int
    stride: int

    def starts(self, seq_length: int) -> NDArray[np.int64]:
        last_start = self.end - seq_length - 1  # the window's target must lie inside the span
        return np.arange(self.start, max(last_start + 1, self.start), self.stride, dtype=np.int64)

    def as_dict(self) -> dict[str, int]:
        return {"start": self.start, "end": self.end, "stride": self.stride}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        return cls(start=int(data["start"]), end=int(data["end"]), stride=int(data["stride"]))


def train_span(n_chars: int, seq_length: int, samples: int, stride: int) -> Span:
    """`samples` windows from offset 0, never reaching into the validation or test text."""
    end = min(samples * stride - stride + seq_length + 1, validation_start(n_chars))
    return Span(start=0, end=end, stride=stride)


def heldout_start(n_chars: int) -> int:
    """Where the test split, the last HELDOUT_FRACTION of the text, begins."""
    return n_chars - int(n_chars * HELDOUT_FRACTION)


def validation_start(n_chars: int) -> int:
    """Where the validation split, the VALIDATION_FRACTION just before the test split, begins."""
    return heldout_start(n_chars) - int(n_chars * VALIDATION_FRACTION)


def evaluation_splits(n_chars: int) -> dict[str, Positions]:
    """The positions of the validation and test splits; each is predicted from the text before it,
    which may lie in the split before."""
    return {
        "validation": Positions(validation_start(n_chars), heldout_start(n_chars)),
        "test": Positions(heldout_start(n_chars), n_chars),
    }


def trained_positions(span: Span, seq_length: int) -> Positions:
    """The positions the last character of each training window predicts (stride 1 windows)."""
    return Positions(span.start + seq_length, span.end)


def windows(
    indices: NDArray[np.int64], span: Span, seq_length: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(inputs, targets), each of shape (n_windows, seq_length); targets are inputs shifted by one."""
    starts = span.starts(seq_length)
    offsets = starts[:, None] + np.arange(seq_length)[None, :]
    return indices[offsets], indices[offsets + 1]


def encode_text(simplified: str) -> NDArray[np.int64]:
    return encode(simplified)
