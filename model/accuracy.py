"""How often is the next character guessed right? One definition, used everywhere.

Accuracy is the share of positions whose character the model ranks first, each predicted from
the text before it, exactly as /predict-next answers that text: for a model that reads
windows, the (at most) `context` characters before the position, read from the zero state;
for a model that reads whole texts, all the text before the position, read from the text's
first character with the state carried. A split of the book is, for the latter, a text of its
own: the book from the character before the split's first position (`evaluate_split`). Bits
per character is the mean of -log2 of the probability given to the actual character.

Shared by training (which records it in the manifest) and the service (which measures it on a
posted text), so it lives beside the model, not in either of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.language_model import LanguageModel
from model.numerics import log_softmax

EVAL_BATCH = 2048  # windows per forward pass: bounded memory on any text
STREAM_CHUNK = 256  # characters read between two on_chunk calls by a model that reads whole texts
Indices = NDArray[np.int64]


@dataclass(frozen=True)
class Positions:
    """Target positions start <= p < end of a text."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 1 <= self.start <= self.end:
            raise ValueError(f"positions: need 1 <= start <= end, got {self.start}..{self.end}")

    def as_dict(self) -> dict[str, int]:
        return {"start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Positions:
        return cls(start=int(data["start"]), end=int(data["end"]))


@dataclass(frozen=True)
class Accuracy:
    correct: int
    total: int
    bits: float = 0.0  # sum over the positions of -log2 p(actual character)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def bits_per_char(self) -> float:
        return self.bits / self.total if self.total else 0.0

    def __add__(self, other: Accuracy) -> Accuracy:
        return Accuracy(self.correct + other.correct, self.total + other.total, self.bits + other.bits)

    def as_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "bits_per_char": self.bits_per_char, "samples": self.total}


def agrees(recorded: dict[str, Any], measured: Accuracy) -> bool:
    """Whether a recorded measurement is this one: the same count and accuracy, and bits per
    character to 1e-6 (float32 sums taken in another order, as another BLAS thread count
    takes them, move their last digits)."""
    exact = (recorded.get("accuracy"), recorded.get("samples")) == (measured.accuracy, measured.total)
    if "bits_per_char" not in recorded:
        return exact
    bits = float(recorded["bits_per_char"])
    return exact and abs(bits - measured.bits_per_char) <= 1e-6 * max(abs(bits), 1e-12)


def window_groups(positions: Indices, context: int) -> Iterator[tuple[Indices, int]]:
    """(positions, window length) in groups that share one forward pass: every position with
    a full `context` before it in chunks of EVAL_BATCH, then each shorter length on its own."""
    full = positions[positions >= context]
    for first in range(0, full.size, EVAL_BATCH):
        yield full[first : first + EVAL_BATCH], context
    for p in positions[positions < context]:
        yield np.array([p]), int(p)


def log_probabilities(z: NDArray[np.float64], chosen: Indices) -> NDArray[np.float64]:
    """log softmax(z)[row, chosen[row]] for each row of logits z."""
    result: NDArray[np.float64] = log_softmax(z)[np.arange(len(chosen)), chosen]
    return result


def logits_at(model: LanguageModel, indices: Indices, positions: Indices, length: int) -> NDArray[np.float64]:
    """z (float64) after the windows indices[p - length : p] for positions p sharing one length."""
    windows = indices[positions[:, None] - length + np.arange(length)[None, :]]
    return model.logits(windows).astype(np.float64)


def score(z: NDArray[np.float64], targets: Indices) -> Accuracy:
    """Accuracy of the logits z (one row per position) against the positions' characters."""
    log_p = log_probabilities(z, targets)
    correct = int(np.count_nonzero(np.argmax(z, axis=1) == targets))
    return Accuracy(correct, int(targets.size), float(-log_p.sum() / np.log(2)))


OnPass = Callable[[Indices, NDArray[np.float64]], None]
Evaluator = Callable[..., "Accuracy"]  # evaluate's arguments: (model, indices, positions, on_chunk, on_pass)


def evaluate(
    model: LanguageModel,
    indices: Indices,
    positions: Positions,
    on_chunk: Callable[[int], None] | None = None,
    on_pass: OnPass | None = None,
) -> Accuracy:
    """Accuracy over every position of `positions`; `on_chunk(done)` after each forward pass
    (a progress bar, or a caller that stops the work by raising); `on_pass(positions, z)`
    sees each pass's positions and logits (`guesses` reads the guesses from them)."""
    if positions.end > len(indices):
        raise ValueError(f"positions: end {positions.end} is past the text's {len(indices)} characters")
    if model.reads_text:
        return evaluate_stream(model, indices, positions, on_chunk, on_pass)
    wanted = np.arange(positions.start, positions.end, dtype=np.int64)
    passes = (
        (group, logits_at(model, indices, group, length))
        for group, length in window_groups(wanted, model.context)
    )
    return tally(passes, indices, on_chunk, on_pass)


Pass = tuple[Indices, NDArray[np.float64]]  # the positions of one forward pass and their logits


def tally(
    passes: Iterable[Pass],
    indices: Indices,
    on_chunk: Callable[[int], None] | None = None,
    on_pass: OnPass | None = None,
) -> Accuracy:
    """The accuracy of forward passes, each (positions, z) against the positions' characters;
    `on_pass` sees each pass with positions, `on_chunk(done)` runs after every pass."""
    total = Accuracy(0, 0)
    for group, z in passes:
        if group.size:
            total = total + score(z, indices[group])
            if on_pass is not None:
                on_pass(group, z)
        if on_chunk is not None:
            on_chunk(total.total)
    return total


def evaluate_stream(
    model: LanguageModel,
    indices: Indices,
    positions: Positions,
    on_chunk: Callable[[int], None] | None = None,
    on_pass: OnPass | None = None,
) -> Accuracy:
    """`evaluate` for a model that reads whole texts: `indices` read from its first character
    with the state carried, STREAM_CHUNK characters a pass, each position of `positions`
    predicted from all the text before it."""
    reader = model.reader()
    return score_reading(
        lambda first, last: reader.read(indices[first:last]),
        indices,
        positions,
        STREAM_CHUNK,
        on_chunk,
        on_pass,
    )


def score_reading(
    read: Callable[[int, int], NDArray[np.floating[Any]]],
    indices: Indices,
    positions: Positions,
    chunk: int,
    on_chunk: Callable[[int], None] | None = None,
    on_pass: OnPass | None = None,
) -> Accuracy:
    """The accuracy of a text read from its first character in chunks: read(first, last) reads
    indices[first:last] on from where the previous call stopped and returns z after each of
    them (z[j] predicts position first + j + 1); the positions of `positions` are scored."""

    def passes() -> Iterator[Pass]:
        for first in range(0, positions.end - 1, chunk):
            last = min(first + chunk, positions.end - 1)
            z = read(first, last)
            wanted = np.arange(max(first + 1, positions.start), last + 1, dtype=np.int64)
            yield wanted, z[wanted - first - 1].astype(np.float64)

    return tally(passes(), indices, on_chunk, on_pass)


def evaluate_split(
    model: LanguageModel,
    indices: Indices,
    split: Positions,
    on_chunk: Callable[[int], None] | None = None,
    evaluator: Evaluator | None = None,
) -> Accuracy:
    """The model on the positions of a split of the book. A model that reads windows reads the
    `context` characters before each; a model that reads whole texts reads the split as a text
    of its own, from the character before its first position: the prediction at each position
    depends on the split's text before it, never on the text that the model trained on."""
    evaluator = evaluator or evaluate
    if not model.reads_text:
        return evaluator(model, indices, split, on_chunk)
    text = indices[split.start - 1 : split.end]
    return evaluator(model, text, Positions(1, len(text)), on_chunk)


@dataclass(frozen=True)
class Guesses:
    """The character ranked first at each position start, start + 1, ..., and its probability:
    the guesses whose hits `evaluate` counts."""

    start: int
    guesses: Indices
    probabilities: NDArray[np.float64]


def guesses(
    model: LanguageModel,
    indices: Indices,
    positions: Positions,
    on_chunk: Callable[[int], None] | None = None,
    evaluator: Evaluator | None = None,
) -> tuple[Accuracy, Guesses]:
    """`evaluate`'s accuracy (or `evaluator`'s: model/dynamic.py's adaptive reading) and, from
    the same forward passes, the guess at every position."""
    count = positions.end - positions.start
    guessed = np.zeros(count, dtype=np.int64)
    probabilities = np.zeros(count)

    def keep(group: Indices, z: NDArray[np.float64]) -> None:
        best = np.argmax(z, axis=1)
        guessed[group - positions.start] = best
        probabilities[group - positions.start] = np.exp(log_probabilities(z, best))

    accuracy = (evaluator or evaluate)(model, indices, positions, on_chunk, keep)
    return accuracy, Guesses(positions.start, guessed, probabilities)


def text_positions(indices: Indices) -> Positions | None:
    """Every position of a posted text that follows a letter (the service refuses a context of
    spaces alone); None when there is none."""
    letters = np.flatnonzero(indices != 0)
    if letters.size == 0 or letters[0] + 1 >= len(indices):
        return None
    return Positions(int(letters[0]) + 1, len(indices))


def sentence(description: str, context: int, test: Accuracy, baseline: Accuracy | None = None) -> str:
    """The README's and GET /accuracy's one-line summary of a model's test accuracy."""
    before = f"the {context} characters before it" if context else "all the test text before it"
    line = (
        f"The {description} guesses the next character correctly {test.accuracy:.1%} of the time "
        f"on {test.total:,} test positions, each from {before}"
    )
    if baseline is not None:
        line += f" (the n-gram: {baseline.accuracy:.1%} on the same positions)"
    return line
