"""The loaded model and everything the handlers need from it, precomputed once at start.

A Predictor is never mutated after construction and a LanguageModel's methods are pure, so one
instance serves every thread of the pool at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError

from model.accuracy import Accuracy, Indices, Positions, evaluate, sentence, text_positions
from model.alphabet import ALPHABET, ALPHABET_SIZE, decode, encode, simplify
from model.artifact import MANIFEST_FILE, Artifact, ArtifactError, load
from model.batching import model_block, model_probabilities
from model.errors import ArgumentError
from model.language_model import ARCHITECTURES
from service.generation import Reader, WindowReader
from service.schemas import ModelInfo, RecordedAccuracy, SplitAccuracy

# Called with the count of units done so far, between chunks of long work; may raise to stop it.
OnChunk = Callable[[int], None]
WINDOWS_CHUNK = 100  # texts of a batch windowed between two on_chunk calls


class Ranking(NamedTuple):
    """Characters after one window, most probable first, with their probabilities.

    All 27 for a cached ranking (about 3 kB, so cheap to keep); the top k in a batch answer.
    """

    chars: str
    probabilities: tuple[float, ...]


class RankingCache:
    """A bounded LRU map from window to its ranking, safe to share between threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, Ranking] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = 0

    def get(self, window: str) -> Ranking | None:
        with self._lock:
            ranking = self._entries.get(window)
            if ranking is None:
                self._misses += 1
            else:
                self._hits += 1
                self._entries.move_to_end(window)
            return ranking

    def stats(self) -> tuple[int, int, int]:
        """Hits and misses of `get` so far, and the entries held."""
        with self._lock:
            return self._hits, self._misses, len(self._entries)

    def put(self, window: str, ranking: Ranking) -> None:
        if self.size < 1:
            return
        with self._lock:
            self._entries[window] = ranking
            self._entries.move_to_end(window)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


class Predictor:
    """Prediction, generation and evaluation on one verified artifact."""

    def __init__(self, artifact: Artifact, max_text_chars: int, cache_size: int = 4096) -> None:
        self.path = artifact.path
        self.model = artifact.model
        self.context = artifact.context
        self.max_text_chars = max_text_chars
        self.info = describe(artifact)
        # Rows per forward pass such that a window's answer never depends on its neighbours,
        # chosen with this model's own logits on this machine.
        self.block = model_block(self.model)
        self.recorded = recorded_accuracy(self.info, artifact.path / MANIFEST_FILE)
        # The answer depends on the window alone, so a repeated window skips the forward pass.
        self.cache = RankingCache(cache_size)
        # Enough raw characters to hold `context` simplified ones unless punctuation dominates.
        self._tail_chars = 4 * self.context + 64

    @property
    def name(self) -> str:
        return self.info.name

    def window(self, text: str) -> str:
        """The last `context` characters of simplify(text); ArgumentError if it has no letter.

        Simplifying only a tail of the text gives the same last characters whenever that tail
        simplifies to at least `context` characters with a letter among them, so the work does
        not grow with the text; otherwise the whole text is simplified.
        """
        self._check_length(text)
        simplified = simplify(text[-self._tail_chars :])
        if len(simplified) < self.context or not simplified.strip():
            simplified = simplify(text)
            if not simplified.strip():
                raise ArgumentError(
                    ("text",), "Text simplifies to nothing but spaces: the model reads only a-z"
                )
        return simplified[-self.context :]

    def windows(self, texts: Sequence[str], on_chunk: OnChunk | None = None) -> list[str]:
        """The window of each text; ArgumentError names the first unusable one by its index.

        `on_chunk(done)` runs before every WINDOWS_CHUNK texts, and may raise to stop.
        """
        result = []
        for index, text in enumerate(texts):
            if on_chunk is not None and index % WINDOWS_CHUNK == 0:
                on_chunk(index)
            try:
                result.append(self.window(text))
            except ArgumentError as error:
                raise ArgumentError(("texts", index), error.message, error.kind) from None
        return result

    def probabilities(self, windows: Sequence[str]) -> NDArray[np.float64]:
        """Next-character distribution for each window, shape (len(windows), 27).

        Windows of equal length share forward passes of `self.block` rows (model.batching), so
        each row is bit-identical to the same window's row alone or in any other batch.
        """
        result = np.empty((len(windows), ALPHABET_SIZE))
        by_length: dict[int, list[int]] = {}
        for position, window in enumerate(windows):
            by_length.setdefault(len(window), []).append(position)
        for length, positions in by_length.items():
            indices = encode("".join(windows[p] for p in positions)).reshape(len(positions), length)
            result[positions] = model_probabilities(self.model, indices, self.block)
        return result

    def ranking(self, window: str) -> Ranking:
        """All 27 characters after `window`, most probable first; computed once per window."""
        ranking = self.cache.get(window)
        return ranking if ranking is not None else self.computed_ranking(window)

    def computed_ranking(self, window: str) -> Ranking:
        """`ranking` after a cache miss: the forward pass, its result kept in the cache.

        Callers that have just missed the cache call this directly, so the miss counts once.
        """
        return self.computed_rankings([window])[0]

    def computed_rankings(self, windows: Sequence[str]) -> list[Ranking]:
        """`computed_ranking` for several windows in shared forward passes (the dynamic batcher)."""
        rankings = self.top(self.probabilities(windows), ALPHABET_SIZE)
        for window, ranking in zip(windows, rankings, strict=True):
            self.cache.put(window, ranking)
        return rankings

    @staticmethod
    def top(probabilities: NDArray[np.float64], k: int) -> list[Ranking]:
        """The k most probable characters of each row, ties in alphabet order."""
        order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        values = np.take_along_axis(probabilities, order, axis=1).tolist()
        return [
            Ranking("".join(ALPHABET[index] for index in row), tuple(row_values))
            for row, row_values in zip(order.tolist(), values, strict=True)
        ]

    def generate(self, window: str, n: int, temperature: float, seed: int | None) -> str:
        """n characters continuing `window` (the assignment notebook's Generate)."""
        return decode(self.model.generate(encode(window), n, temperature, seed))

    def reader(self, text: str) -> Reader:
        """A Reader (service.generation) that has read `text`: here the model re-reads the last
        `context` simplified characters, the window, for every next character."""
        return WindowReader(self.probabilities, self.window(text), self.context)

    def accuracy(self, text: str, on_chunk: OnChunk | None = None) -> Accuracy:
        """model.accuracy's measure on the simplified text: every position after its first
        letter, each predicted from the (at most) `context` characters before it.

        `on_chunk(done)` runs after each forward pass, and may raise to stop the work.
        """
        return evaluate(self.model, *self.scored(text)[1:], on_chunk)

    def scored(self, text: str) -> tuple[str, Indices, Positions]:
        """The simplified text, its indices and the positions the accuracy scores in it;
        ArgumentError if there is none."""
        simplified = self.simplified(text)
        indices = encode(simplified)
        positions = text_positions(indices)
        if positions is None:
            raise ArgumentError(
                ("text",),
                f"Text simplifies to {indices.size} characters with none after a letter; "
                "at least a letter and one character after it are needed",
                "too_short",
            )
        return simplified, indices, positions

    def simplified(self, text: str) -> str:
        """simplify(text), refused when the text or its simplification is over MAX_TEXT_CHARS.

        Lowercasing can lengthen a text ("İ" becomes two characters), so the work is bounded
        by the simplified length too.
        """
        self._check_length(text)
        simplified = simplify(text)
        if len(simplified) > self.max_text_chars:
            raise ArgumentError(
                ("text",),
                f"Text simplifies to {len(simplified)} characters, more than {self.max_text_chars} "
                "(MAX_TEXT_CHARS)",
                "string_too_long",
            )
        return simplified

    def _check_length(self, text: str) -> None:
        if len(text) > self.max_text_chars:
            raise ArgumentError(
                ("text",),
                f"String should have at most {self.max_text_chars} characters (MAX_TEXT_CHARS)",
                "string_too_long",
            )


def load_predictor(directory: Path, max_text_chars: int, cache_size: int = 4096) -> Predictor:
    """Load, verify and describe an artifact; ArtifactError names the file and the reason."""
    return Predictor(load(directory), max_text_chars, cache_size)


def describe(artifact: Artifact) -> ModelInfo:
    """GET /model's answer; ArtifactError if the manifest lacks what the service reports."""
    manifest = artifact.manifest
    n_in, n_hidden, n_out = artifact.architecture.check_params(artifact.params)
    parameters = sum(int(array.size) for array in artifact.params.values())
    try:
        return ModelInfo.model_validate(
            {
                **manifest,
                "name": artifact.name,
                "n_in": n_in,
                "n_hidden": n_hidden,
                "n_out": n_out,
                "parameters": parameters,
            }
        )
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ArtifactError(f"{artifact.path / MANIFEST_FILE}: field {field}: {first['msg']}") from None


def recorded_accuracy(info: ModelInfo, manifest_path: Path) -> RecordedAccuracy:
    """GET /accuracy's answer: the manifest's metrics, the n-gram's on the same positions, and
    the sentence that reads them (the manifest's own, else written here from the figures)."""
    if "test" not in info.metrics:
        raise ArtifactError(f"{manifest_path}: field metrics.test: missing")
    test = info.metrics["test"]
    reference = info.baseline.test if info.baseline is not None else None
    line = info.sentence or sentence(
        ARCHITECTURES[info.architecture].description,
        info.context,
        _as_accuracy(test),
        _as_accuracy(reference) if reference is not None else None,
    )
    return RecordedAccuracy(
        test=test,
        validation=info.metrics.get("validation"),
        train=info.metrics.get("train"),
        baseline=info.baseline,
        sentence=line,
    )


def _as_accuracy(split: SplitAccuracy) -> Accuracy:
    # The manifest records the ratio and the count; sentence() only reads those two.
    return Accuracy(correct=round(split.accuracy * split.samples), total=split.samples)
