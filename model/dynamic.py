"""Dynamic evaluation: the model goes on learning from the text it reads (Krause et al. 2018,
"Dynamic Evaluation of Neural Sequence Models").

A text is read in segments of SEGMENT characters with the state carried, as model/stream.py
reads it. Each segment is first scored with the weights as they stand, so every prediction is
made before its character is seen, as an adaptive compressor's is; then one gradient step on
that segment's loss moves the weights, and the next segment is read with them::

    theta_0 = the trained weights
    L_k     = mean over the segment's positions of -log softmax(z_t)[x_{t+1}]   (theta_k)
    theta_{k+1} = theta_k - LEARNING_RATE * dL_k/dtheta_k        (E: TABLE_RATE times further)

The weights adapted belong to one reading: `Adapter` starts from a copy, so adaptation never
leaks from one text (one request) into another. The gradient is lstm_lm.backward's, exact and
checked by finite differences; E's is applied in place to the rows that the segment looked up,
so a step costs the segment's size, not the table's.

The prediction at position p uses the weights adapted on the segments whose characters all
lie before p, and the state carried through the text before p, so the figure for a text is
what reading each of its prefixes adaptively answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model import contexts, lstm_lm
from model.accuracy import Accuracy, OnPass, Positions, score_reading
from model.language_model import LanguageModel
from model.stream import Reader, State, prepare, start_prepared

Array = NDArray[Any]
SEGMENT = 64  # characters scored between two gradient steps
LEARNING_RATE = 0.5  # plain SGD on the segment's mean loss, every weight
TABLE_RATE = 4.0  # E's rows, each moved only by the positions that looked it up, step this much further


class Adapter:
    """A copy of a model's weights that learns from one text as it reads it."""

    def __init__(
        self, model: LanguageModel, learning_rate: float = LEARNING_RATE, table_rate: float = TABLE_RATE
    ) -> None:
        self.params = {name: array.copy() for name, array in model.params.items()}
        self.learning_rate = learning_rate
        self.table_rate = table_rate
        self.carried: lstm_lm.Carried | None = None

    def read(self, inputs: Array, targets: Array) -> Array:
        """Score a segment: z after each of inputs (T,), shape (T, Y), from the weights as they
        stand; then one step on the loss of predicting targets (T,) and carry the state."""
        x, y = inputs[None, :], targets[None, :]
        cache = lstm_lm.forward(self.params, x, None, self.carried)
        z = lstm_lm.logits(self.params, cache.h[1:], cache.e)  # (T, 1, Y)
        _, dz = lstm_lm.loss_and_output_gradient(z, y)
        grads = lstm_lm.backward(self.params, cache, dz, dense_table=False)
        history = None
        if cache.rows is not None:
            previous = None if self.carried is None else self.carried.history
            history = contexts.next_history(previous, x)
        self.carried = lstm_lm.Carried(cache.h[-1].copy(), cache.s[-1].copy(), history)
        self.step(grads, cache.rows)
        return z[:, 0]

    def step(self, grads: dict[str, Array], rows: Array | None) -> None:
        rate = self.learning_rate
        for name, gradient in grads.items():
            if name != "de":
                self.params[name] -= rate * gradient.astype(self.params[name].dtype)
        if rows is not None:
            de = (self.table_rate * rate * grads["de"]).astype(self.params["E"].dtype)  # (T, D)
            flat = rows.reshape(-1, rows.shape[-1])
            for k in range(flat.shape[1]):
                np.subtract.at(self.params["E"], flat[:, k], de)


def evaluate_adaptive(
    model: LanguageModel,
    indices: Array,
    positions: Positions,
    on_chunk: Callable[[int], None] | None = None,
    on_pass: OnPass | None = None,
    segment: int = SEGMENT,
    learning_rate: float = LEARNING_RATE,
    table_rate: float = TABLE_RATE,
) -> Accuracy:
    """model.accuracy.evaluate's figure for a model that reads whole texts, read adaptively:
    `indices` from its first character, each segment scored before the weights learn from it."""
    if not model.reads_text:
        raise ValueError("adapt: only a model that reads whole texts adapts as it reads")
    adapter = Adapter(model, learning_rate, table_rate)
    with np.errstate(over="ignore", invalid="ignore"):
        return score_reading(
            lambda first, last: adapter.read(indices[first:last], indices[first + 1 : last + 1]),
            indices,
            positions,
            segment,
            on_chunk,
            on_pass,
        )


def adapted_reader(
    model: LanguageModel,
    indices: Array,
    segment: int = SEGMENT,
    on_chunk: Callable[[int], None] | None = None,
) -> Reader:
    """A stream reader that has read `indices` adaptively: the weights learnt from every whole
    segment whose characters all lie in the text, then the rest was read with them, so its
    state's z is evaluate_adaptive's prediction of the character after the text. Reading on
    (generation) continues with the weights as they stand."""
    if len(indices) < 1:
        raise ValueError("indices: an adaptive reading needs at least one character")
    adapter = Adapter(model)
    first = 0
    with np.errstate(over="ignore", invalid="ignore"):
        while first + segment < len(indices):  # the segment's targets, up to first + segment, are in the text
            adapter.read(indices[first : first + segment], indices[first + 1 : first + segment + 1])
            first += segment
            if on_chunk is not None:
                on_chunk(first)
        weights = prepare(adapter.params)
        state = start_prepared(weights)
        if adapter.carried is not None:
            state = State(adapter.carried.h, adapter.carried.s, adapter.carried.history)
        reader = Reader(weights, 1, state)
        reader.read(indices[first:])
    return reader


def next_logits_adaptive(
    model: LanguageModel,
    indices: Array,
    segment: int = SEGMENT,
    on_chunk: Callable[[int], None] | None = None,
) -> Array:
    """z after reading `indices` adaptively (adapted_reader), shape (Y,)."""
    z = adapted_reader(model, indices, segment, on_chunk).state.z
    assert z is not None
    result: Array = z[0]
    return result
