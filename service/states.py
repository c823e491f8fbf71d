"""The prefix-state cache of a model that reads whole texts.

Reading a text costs one recurrent step per character, so a text that extends one read before
(a client typing, a generation continued, a batch of texts with a common start) should cost
only the characters after what was read. A cache maps a prefix of a simplified text to the
model's state after it (model/stream.State: h_t, s_t, the last characters and z_t, about
3.3 kB for H = 384 in float32). A text looks up its longest cached prefix among its length
minus 0..TAIL characters and every multiple of CHECKPOINT below it, reads the rest, and
leaves its own state and the states at the multiples of CHECKPOINT it passed.

Keys are 16-byte BLAKE2b digests of the prefix, taken in one pass over the text, so an entry
costs the same whatever the length of its text; the cache holds at most `size` entries (least
recently used out first), so its memory is bounded by size x (state bytes + about 200 bytes).

Answers are exact: a stream's steps are row-local and of one shape (model/stream.py), so a
state read from the cache and continued is the same bits as the text read from its start
(tests/service/test_states.py).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from model.language_model import LanguageModel, softmax
from model.stream import Prepared, State, read, start_prepared, step

CHECKPOINT = 256  # characters between two states left in the cache by a long read
TAIL = 8  # a text also looks up its prefixes up to this many characters shorter (typing)
OnChunk = Callable[[int], None]


def prefix_digests(text: str, lengths: list[int]) -> dict[int, bytes]:
    """The digest of text[:k] for each k of `lengths` (ascending), in one pass over the text."""
    digest = hashlib.blake2b(digest_size=16)
    found: dict[int, bytes] = {}
    done = 0
    for length in lengths:
        digest.update(text[done:length].encode("ascii"))
        done = length
        found[length] = digest.copy().digest()
    return found


class PrefixStates:
    """States after prefixes of texts, for one model; safe to share between threads."""

    def __init__(self, model: LanguageModel, size: int) -> None:
        self.model = model
        self.size = size
        self._entries: OrderedDict[bytes, State] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        self.steps = 0  # characters read so far: what the cache did not save

    def __len__(self) -> int:
        return len(self._entries)

    def _get(self, key: bytes) -> State | None:
        with self._lock:
            state = self._entries.get(key)
            if state is not None:
                self._entries.move_to_end(key)
            return state

    def _put(self, key: bytes, state: State) -> None:
        if self.size < 1:
            return
        with self._lock:
            self._entries[key] = state
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def state_after(self, text: str, indices: np.ndarray, on_chunk: OnChunk | None = None) -> State:
        """The state after reading all of `text` (its alphabet indices given) from its start."""
        n = len(text)
        checkpoints = list(range(CHECKPOINT, n, CHECKPOINT))
        lengths = sorted({*checkpoints, *range(max(1, n - TAIL), n + 1)})
        digests = prefix_digests(text, lengths)
        done, state = 0, None
        for length in reversed(lengths):
            state = self._get(digests[length])
            if state is not None:
                done = length
                break
        with self._lock:
            if state is None:
                self.misses += 1
            else:
                self.hits += 1
        if state is None:
            state = start_prepared(self.model.weights)
        stops = [k for k in checkpoints if k > done] + [n]
        for stop in stops:
            if stop == done:
                break
            _, state = read(self.model.weights, state, indices[None, done:stop], keep_logits=False)
            with self._lock:
                self.steps += stop - done
            done = stop
            self._put(digests[stop], state)
            if on_chunk is not None:
                on_chunk(done)
        return state


class StateReader:
    """A text that a model that reads whole texts has read: the next character's distribution,
    and one step per character fed to it (generation). Its state is its own: feeding it never
    changes the cache's entries."""

    def __init__(self, weights: Prepared, state: State) -> None:
        self.weights = weights
        self.state = state

    def probabilities(self) -> np.ndarray:
        """The next character's distribution, shape (27,), float64."""
        z = self.state.z
        assert z is not None  # a reader has read at least one character
        return softmax(z[0].astype(np.float64))

    def feed(self, index: int) -> None:
        """Read one more character (an alphabet index)."""
        self.state = step(self.weights, self.state, index)
