"""Text generation: one function that every form of every generation endpoint goes through.

/generate (plain or streamed) and /v1/completions (plain or streamed) all iterate `generate`,
so one request with one seed gives the same characters and the same logprobs, bit for bit, in
every form; the forms differ only in how they write the pieces out.

The model is seen only through `Reader`: a model that has read a text and gives the
distribution of the next character. `generate` asks it for `probabilities()`, picks a character,
`feed`s it back, and repeats: one call of each per character generated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from model.alphabet import ALPHABET
from model.language_model import softmax

FinishReason = Literal["length", "stop"]
MAX_ALTERNATIVES = 5  # most alternatives listed per generated character (OpenAI's logprobs bound)
# The logprob written for a probability that underflowed to 0, so JSON stays finite (OpenAI's value).
LOGPROB_FLOOR = -9999.0


class Reader(Protocol):
    """A model that has read a text: the distribution of the next character given all of it."""

    def probabilities(self) -> NDArray[np.float64]:
        """Shape (27,), float64, summing to 1, in alphabet order (space, a-z)."""
        ...

    def feed(self, index: int) -> None:
        """Read one more character (its alphabet index)."""
        ...


class WindowReader:
    """A Reader for a model that reads a window: the last `context` characters, re-read each time.

    probabilities(windows) is the model's batch-invariant distribution for each window, so a
    window's numbers here are those /predict-next answers for the same window.
    """

    def __init__(
        self, probabilities: Callable[[Sequence[str]], NDArray[np.float64]], window: str, context: int
    ) -> None:
        self._probabilities = probabilities
        self.window = window[-context:]
        self.context = context

    def probabilities(self) -> NDArray[np.float64]:
        row: NDArray[np.float64] = self._probabilities([self.window])[0]
        return row

    def feed(self, index: int) -> None:
        self.window = (self.window + ALPHABET[index])[-self.context :]


@dataclass(frozen=True)
class Sampling:
    """How the next character is chosen from the model's distribution p.

    temperature 0 is greedy (the most probable character; top_k, top_p and seed are then
    unused). Otherwise q = softmax(log(p) / temperature), restricted to its `top_k` most probable
    characters (None: all), then to the fewest most probable whose q sums to at least `top_p`,
    renormalised and sampled with NumPy's default_rng(seed).
    """

    temperature: float = 0.0
    top_k: int | None = None
    top_p: float = 1.0
    seed: int | None = None


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate: at most `max_chars` characters, chosen by `sampling`, ending early at
    any of `stop`; with `alternatives` not None, each character's logprob and that many of the
    most probable characters' (0 to MAX_ALTERNATIVES)."""

    max_chars: int
    sampling: Sampling = Sampling()
    stop: tuple[str, ...] = ()
    alternatives: int | None = None


@dataclass(frozen=True)
class Generated:
    """One generated character, with the model's log-probabilities (natural log, before
    temperature and filtering): the character's, and the `alternatives` most probable."""

    char: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Piece:
    """Characters released together: usually one; more when held back while they might have
    begun a stop sequence."""

    chars: tuple[Generated, ...]

    @property
    def text(self) -> str:
        return "".join(generated.char for generated in self.chars)


@dataclass(frozen=True)
class Finish:
    """The last event: why generation ended, and the characters it returned and computed.

    `produced` counts the characters returned; `steps` also counts a stop sequence's, which
    the model generated but the answer leaves out.
    """

    reason: FinishReason
    produced: int
    steps: int


Event = Piece | Finish


@dataclass
class _StopMatcher:
    """Holds back generated characters while they could still be the start of a stop sequence."""

    stops: tuple[str, ...]
    pending: list[Generated] = field(default_factory=list)

    def push(self, generated: Generated) -> tuple[list[Generated], bool]:
        """Add a character; answer the characters now safe to release, and whether a stop matched."""
        self.pending.append(generated)
        text = "".join(g.char for g in self.pending)
        matches = [text.find(stop) for stop in self.stops if stop in text]
        if matches:
            return self.pending[: min(matches)], True
        held = max((_overlap(text, stop) for stop in self.stops), default=0)
        released, self.pending = self.pending[: len(text) - held], self.pending[len(text) - held :]
        return released, False


def _overlap(text: str, stop: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `stop`."""
    for length in range(min(len(text), len(stop) - 1), 0, -1):
        if text.endswith(stop[:length]):
            return length
    return 0


def generate(
    reader: Reader, request: GenerationRequest, check: Callable[[int], None] | None = None
) -> Iterator[Event]:
    """Up to `request.max_chars` characters after what `reader` has read, as Pieces, then one
    Finish.

    Generation ends at max_chars characters ("length") or as soon as the characters generated
    contain one of the stop sequences ("stop"; the text from that stop sequence on is left
    out). Each step is one `reader.probabilities()`, one choice, and one `reader.feed(index)`
    (but the last). `check(done)` runs before each step and may raise to stop the work.
    """
    rng = np.random.default_rng(request.sampling.seed)
    matcher = _StopMatcher(request.stop)
    max_chars, alternatives = request.max_chars, request.alternatives or 0
    produced = 0
    for step in range(max_chars):
        if check is not None:
            check(step)
        probabilities = reader.probabilities()
        index = choose(probabilities, request.sampling, rng)
        released, stopped = matcher.push(_generated(probabilities, index, alternatives))
        if released:
            produced += len(released)
            yield Piece(tuple(released))
        if stopped:
            yield Finish("stop", produced, step + 1)
            return
        if step + 1 < max_chars:  # the last character is never read: nothing asks what follows it
            reader.feed(index)
    if matcher.pending:
        produced += len(matcher.pending)
        yield Piece(tuple(matcher.pending))
    yield Finish("length", produced, max_chars)


def choose(probabilities: NDArray[np.float64], sampling: Sampling, rng: np.random.Generator) -> int:
    """The next character's index under `sampling` (see Sampling)."""
    if sampling.temperature == 0:
        return int(np.argmax(probabilities))
    with np.errstate(divide="ignore"):  # a probability that underflowed to 0 stays 0
        q = softmax(np.log(probabilities) / sampling.temperature)
    if sampling.top_k is not None or sampling.top_p < 1.0:
        q = _truncated(q, sampling.top_k, sampling.top_p)
    return int(rng.choice(q.shape[0], p=q))


def _truncated(q: NDArray[np.float64], top_k: int | None, top_p: float) -> NDArray[np.float64]:
    order = np.argsort(-q, kind="stable")  # most probable first, ties in alphabet order
    keep = len(q) if top_k is None else top_k
    cumulative = np.cumsum(q[order[:keep]])
    # The fewest characters whose probability reaches top_p; at least one.
    keep = min(keep, int(np.searchsorted(cumulative, top_p * cumulative[-1])) + 1)
    kept = np.zeros_like(q)
    kept[order[:keep]] = q[order[:keep]]
    result: NDArray[np.float64] = kept / kept.sum()
    return result


def _generated(probabilities: NDArray[np.float64], index: int, alternatives: int) -> Generated:
    with np.errstate(divide="ignore"):
        logprobs = np.maximum(np.log(probabilities), LOGPROB_FLOOR)
    top: tuple[tuple[str, float], ...] = ()
    if alternatives > 0:
        order = np.argsort(-probabilities, kind="stable")[:alternatives]
        top = tuple((ALPHABET[i], float(logprobs[i])) for i in order.tolist())
    return Generated(ALPHABET[index], float(logprobs[index]), top)
