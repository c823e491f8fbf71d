"""Every architecture an artifact may hold, behind one interface: a language model reads a
window of at most `context` characters, from the zero state, and scores the next one.

The service, the accuracy measure and generation see only `LanguageModel`; the maths stays in
each architecture's own module (model/rnn.py, model/lstm_lm.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from model import lstm_lm, rnn, stream
from model.numerics import softmax as softmax

Array = NDArray[Any]
Params = dict[str, Array]


@dataclass(frozen=True)
class Architecture:
    """One kind of network: its parameter names, initialisation, shapes, shape check and inference."""

    name: str
    description: str
    param_names: tuple[str, ...]
    init_params: Callable[[int, int, int, int, DTypeLike], Params]
    check_params: Callable[[Params], tuple[int, int, int]]
    param_shapes: Callable[[int, int, int], dict[str, tuple[int, ...]]]
    next_char_logits: Callable[[Params, Array], Array]


ARCHITECTURES = {
    "rnn": Architecture(
        "rnn",
        "ReLU RNN",
        rnn.PARAM_NAMES,
        rnn.init_params,
        rnn.check_params,
        rnn.param_shapes,
        rnn.next_char_logits,
    ),
    "lstm": Architecture(
        "lstm",
        "LSTM",
        lstm_lm.PARAM_NAMES,
        lstm_lm.init_params,
        lstm_lm.check_params,
        lstm_lm.param_shapes,
        lstm_lm.next_char_logits,
    ),
    "lstm-contexts": Architecture(
        "lstm-contexts",
        "LSTM with hashed context embeddings",
        lstm_lm.CONTEXT_PARAM_NAMES,
        lstm_lm.init_params_with_contexts,
        lstm_lm.check_params,
        lstm_lm.param_shapes_with_contexts,
        lstm_lm.next_char_logits,
    ),
}


def architecture(name: str) -> Architecture:
    """The architecture called `name`, or ValueError listing the known ones."""
    try:
        return ARCHITECTURES[name]
    except (KeyError, TypeError):
        raise ValueError(f"architecture: {name!r} is not one of {sorted(ARCHITECTURES)}") from None


@dataclass(frozen=True)
class LanguageModel:
    """Weights of one architecture and the number of characters it reads before a guess: a
    window of `context` characters, or, with context 0, the whole text (model/stream.py)."""

    architecture: Architecture
    params: Params
    context: int

    @property
    def reads_text(self) -> bool:
        """Whether the model reads whole texts with its state carried, rather than windows."""
        return self.context == 0

    @cached_property
    def weights(self) -> stream.Prepared:
        """The transposed weights that model/stream.py steps with, made on first use."""
        return stream.prepare(self.params)

    def reader(self, rows: int = 1) -> stream.Reader:
        """A stream reader at the start of a text (a model that reads whole texts)."""
        return stream.Reader(self.weights, rows)

    def logits(self, windows: Array) -> Array:
        """z after each window; windows (batch, T) with 1 <= T <= context -> (batch, Y)."""
        return self.architecture.next_char_logits(self.params, windows)

    def probabilities(self, windows: Array) -> Array:
        """The next character's distribution after each window, shape (batch, Y)."""
        return softmax(self.logits(windows))

    def generate(self, prompt: Array, n: int, temperature: float = 0.0, seed: int | None = None) -> Array:
        """n next indices after `prompt`, each predicted from the last `context` indices.

        temperature 0 is greedy (argmax); above 0 samples from softmax(z / temperature).
        """
        if n < 0:
            raise ValueError("n: must be >= 0")
        if temperature < 0:
            raise ValueError("temperature: must be >= 0")
        rng = np.random.default_rng(seed)
        sequence = [int(i) for i in np.asarray(prompt, dtype=np.int64).ravel()]
        if not sequence:
            raise ValueError("prompt: must hold at least one index")
        n_in = self.params["U"].shape[1]
        rnn.check_indices(np.asarray(sequence)[None, :], n_in, name="prompt")
        produced = np.empty(n, dtype=np.int64)
        if self.reads_text:
            reader = self.reader()
            z = reader.read(np.asarray(sequence))[-1]
        for step in range(n):
            if self.reads_text:
                if step > 0:
                    z = reader.read(produced[step - 1 : step])[-1]
            else:
                z = self.logits(np.asarray(sequence[-self.context :], dtype=np.int64)[None, :])[0]
            if temperature == 0:
                index = int(np.argmax(z))
            else:
                index = int(rng.choice(z.shape[0], p=softmax(z / temperature)))
            produced[step] = index
            sequence.append(index)
        return produced
