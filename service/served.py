"""One served model: its verified artifact, its caches, its dynamic batcher, its admission
queue, and the answers the routes ask of it.

The computing methods (window, probabilities, accuracy, reader, ...) are pure and the caches
lock, so one instance serves every thread of the pool at once. The async methods (`predict_next`,
`rank`, `window_of`, `admit`, `stream`) run on the event loop and decide where the work runs: an
answer from the ranking cache, a forward pass shared in the dynamic batcher (service.batcher),
or a turn in the admission queue (service.admission). The batcher's state belongs to the event
loop that calls it, so an instance serves one app.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
from anyio import CapacityLimiter
from fastapi.concurrency import run_in_threadpool
from numpy.typing import NDArray
from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError
from starlette.types import Receive

from model.accuracy import Accuracy, Evaluator, Indices, Positions, evaluate, sentence, text_positions
from model.alphabet import ALPHABET, ALPHABET_SIZE, decode, encode, simplify
from model.artifact import MANIFEST_FILE, Artifact, ArtifactError, load
from model.batching import model_block, model_probabilities
from model.dynamic import adapted_reader, evaluate_adaptive, next_logits_adaptive
from model.errors import ArgumentError
from model.language_model import ARCHITECTURES, softmax
from service.admission import Admission
from service.batcher import DynamicBatcher
from service.generation import Reader, WindowReader
from service.schemas import ModelInfo, RecordedAccuracy, SplitAccuracy
from service.states import PrefixStates, StateReader
from service.streaming import Produce, ThreadEventStream

T = TypeVar("T")
# Called with the count of units done so far, between chunks of long work; may raise to stop it.
OnChunk = Callable[[int], None]
WINDOWS_CHUNK = 100  # texts of a batch windowed between two on_chunk calls
INLINE_TEXT_CHARS = 1000  # longer texts are windowed in the thread pool (`window_of`)


class Ranking(NamedTuple):
    """Characters after one window, most probable first, with their probabilities.

    All 27 for a cached ranking (about 3 kB, so cheap to keep); the top k in a batch answer.
    """

    chars: str
    probabilities: tuple[float, ...]


def cache_key(window: str) -> str:
    """The window itself, or for a long one (a whole text) its 16-byte digest: an entry's
    memory does not grow with its text."""
    if len(window) <= 64:
        return window
    return hashlib.blake2b(window.encode("ascii"), digest_size=16).hexdigest()


class RankingCache:
    """A bounded LRU map from window to its ranking, safe to share between threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, Ranking] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = 0

    def get(self, window: str) -> Ranking | None:
        window = cache_key(window)
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
        window = cache_key(window)
        with self._lock:
            self._entries[window] = ranking
            self._entries.move_to_end(window)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def no_observer(size: int) -> None:
    """Sees no dynamic batch's size: a model served outside an app."""


def not_draining() -> bool:
    """A model served outside an app never drains."""
    return False


def own_refusals() -> Counter:
    """A count of refusals by model and reason in a registry of its own: a model served outside
    an app."""
    return Counter("refused", "Refused requests", ["model", "reason"], registry=CollectorRegistry())


@dataclass(frozen=True)
class Shared:
    """What every model an app serves is handed alike (service.registry builds it): the bounds of
    its admission queue, the one pool that all the models' admitted work computes in, the
    metrics their queues and batchers feed, and whether the server drains."""

    running: int  # MAX_CONCURRENT_EVALUATIONS: a model's admitted work computing at once
    waiting: int  # MAX_QUEUED_EVALUATIONS: a model's admitted work waiting for a turn
    deadline: float  # QUEUE_TIMEOUT_SECONDS: the longest wait for a turn
    threads: CapacityLimiter  # the pool of admitted work, apart from the default one
    refusals: Counter  # the admission queues' refusals, by model and reason
    observe_pass: Callable[[int], object]  # called with each dynamic batch's size
    draining: Callable[[], bool]  # True once the server drains: nothing more is admitted

    @classmethod
    def alone(cls) -> Shared:
        """For a model served outside an app (tests, benchmarks): one turn at a time, no queue."""
        return cls(1, 0, 10.0, CapacityLimiter(1), own_refusals(), no_observer, not_draining)


class ServedModel:
    """One model served: prediction, generation and evaluation on one verified artifact, its
    ranking cache and prefix states, its dynamic batcher and its admission queue."""

    def __init__(
        self, artifact: Artifact, max_text_chars: int, cache_size: int = 4096, shared: Shared | None = None
    ) -> None:
        self.path = artifact.path
        self.model = artifact.model
        self.context = artifact.context
        self.max_text_chars = max_text_chars
        self.info = describe(artifact)
        # Rows per forward pass such that a window's answer never depends on its neighbours,
        # chosen with this model's own logits on this machine.
        self.block = 1 if self.model.reads_text else model_block(self.model)
        self.recorded = recorded_accuracy(self.info, artifact.path / MANIFEST_FILE)
        # The answer depends on the window alone, so a repeated window skips the forward pass.
        self.cache = RankingCache(cache_size)
        # Enough raw characters to hold `context` simplified ones unless punctuation dominates.
        self._tail_chars = 4 * self.context + 64
        self.reads_text = self.model.reads_text
        # A model that reads whole texts continues the longest prefix of a text it has read.
        self.states = PrefixStates(self.model, cache_size) if self.reads_text else None
        shared = shared if shared is not None else Shared.alone()
        # Windows that miss the cache share forward passes with concurrent requests' windows,
        # never with another model's.
        self.batcher = DynamicBatcher(self.computed_rankings, shared.observe_pass)
        # Expensive work waits here for one of this model's turns, and computes in the pool
        # that every model's admitted work shares, apart from the default one.
        self.admission = Admission(
            self.name,
            shared.running,
            shared.waiting,
            shared.deadline,
            shared.threads,
            shared.refusals,
            shared.draining,
        )

    @property
    def name(self) -> str:
        return self.info.name

    # --- The answers, on the event loop ---------------------------------------------------------

    async def predict_next(self, text: str, receive: Receive, adapt: bool = False) -> tuple[str, Ranking]:
        """POST /predict-next: the text's window and the 27 characters after it, most probable first.

        Read adaptively, the weights adapt to this text alone: no cache and no shared pass, the
        text windowed in the thread pool and read in the admission queue. Otherwise the text is
        windowed by `window_of` and ranked by `rank`.
        """
        if adapt:
            window = await run_in_threadpool(self.window, text)
            return window, await self.admit(receive, self.adaptive_ranking, window)
        window = await self.window_of(text)
        return window, await self.rank(window)

    async def rank(self, window: str) -> Ranking:
        """All 27 characters after `window`: from the cache for a window seen before, else in a
        forward pass shared with concurrent requests' windows (the dynamic batcher), then kept."""
        cached = self.cache.get(window)
        return cached if cached is not None else await self.batcher.rank(window)

    async def window_of(self, text: str) -> str:
        """`window(text)`: a short text on the event loop (a bounded amount of string work), a
        long one in the thread pool."""
        if len(text) <= INLINE_TEXT_CHARS:
            return self.window(text)
        return await run_in_threadpool(self.window, text)

    async def admit(self, receive: Receive, work: Callable[..., T], *args: Any) -> T:
        """`work(*args, check)` once this model's admission queue gives it a turn, in the pool of
        admitted work; `check` raises once the client has gone (service.cancellation). Refused
        (429, 503) when the queue is full, the wait too long or the server draining."""
        return await self.admission.run(receive, work, *args)

    async def stream(self, receive: Receive, produce: Produce) -> ThreadEventStream:
        """Server-Sent Events of what `produce(check)` yields, admitted as `admit` admits; the
        turn is given back when the work's thread has ended (service.streaming)."""
        ticket = await self.admission.enter(receive)
        return ThreadEventStream(produce, ticket, self.admission.threads)

    # --- The computations, in any thread -------------------------------------------------------

    def window(self, text: str) -> str:
        """The last `context` characters of simplify(text); ArgumentError if it has no letter.

        Simplifying only a tail of the text gives the same last characters whenever that tail
        simplifies to at least `context` characters with a letter among them, so the work does
        not grow with the text; otherwise the whole text is simplified.
        """
        self._check_length(text)
        if self.reads_text:
            simplified = self.simplified(text)
            if not simplified.strip():
                raise ArgumentError(
                    ("text",), "Text simplifies to nothing but spaces: the model reads only a-z"
                )
            return simplified
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

    def probabilities(self, windows: Sequence[str], on_chunk: OnChunk | None = None) -> NDArray[np.float64]:
        """Next-character distribution for each window, shape (len(windows), 27).

        Windows of equal length share forward passes of `self.block` rows (model.batching), so
        each row is bit-identical to the same window's row alone or in any other batch. A model
        that reads whole texts reads each text on its own, from its longest cached prefix
        (service/states.py), with the same bits. `on_chunk` runs between chunks of the work and
        may raise to stop it.
        """
        result = np.empty((len(windows), ALPHABET_SIZE))
        if self.states is not None:
            for row, window in enumerate(windows):
                if on_chunk is not None:
                    on_chunk(row)
                z = self.states.state_after(window, encode(window), on_chunk).z
                assert z is not None  # a window holds a letter
                result[row] = softmax(z[0].astype(np.float64))
            return result
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

    def reader(self, text: str, adapt: bool = False) -> Reader:
        """A Reader (service.generation) that has read `text`. A model that reads windows re-reads
        the last `context` simplified characters for every next character; a model that reads
        whole texts continues its state, from the longest cached prefix of the text (or, with
        adapt, read adaptively on a copy of the weights), one step per character."""
        window = self.window(text)
        if self.states is None:
            self.check_adapt(adapt)
            return WindowReader(self.probabilities, window, self.context)
        if adapt:
            adapted = adapted_reader(self.model, encode(window))
            return StateReader(adapted.weights, adapted.state)
        return StateReader(self.model.weights, self.states.state_after(window, encode(window)))

    def accuracy(self, text: str, on_chunk: OnChunk | None = None, adapt: bool = False) -> Accuracy:
        """model.accuracy's measure on the simplified text: every position after its first
        letter, each predicted from the text before it (the last `context` characters of it for
        a model that reads windows); with adapt, read adaptively (model/dynamic.py).

        `on_chunk(done)` runs after each forward pass, and may raise to stop the work.
        """
        evaluator = self.check_adapt(adapt)
        _, indices, positions = self.scored(text)
        return evaluator(self.model, indices, positions, on_chunk)

    def check_adapt(self, adapt: bool) -> Evaluator:
        """The evaluation that `adapt` asks for; ArgumentError if this model cannot adapt."""
        if not adapt:
            return evaluate
        if not self.reads_text:
            raise ArgumentError(
                ("adapt",),
                f"Model {self.name!r} reads windows of {self.context} characters: only a model that "
                "reads whole texts adapts as it reads",
            )
        return evaluate_adaptive

    def adaptive_ranking(self, window: str, on_chunk: OnChunk | None = None) -> Ranking:
        """All 27 characters after a text read adaptively, most probable first (never cached:
        the adapted weights belong to this text). `on_chunk` may raise to stop the work."""
        self.check_adapt(True)
        z = next_logits_adaptive(self.model, encode(window), on_chunk=on_chunk).astype(np.float64)
        return self.top(softmax(z)[None, :], ALPHABET_SIZE)[0]

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


def load_served(
    directory: Path, max_text_chars: int, cache_size: int = 4096, shared: Shared | None = None
) -> ServedModel:
    """Load, verify and describe an artifact; ArtifactError names the file and the reason."""
    return ServedModel(load(directory), max_text_chars, cache_size, shared)


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
