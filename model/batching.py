"""Batch-invariant inference: a window's numbers never depend on the other windows of its batch.

BLAS picks a matrix product's kernel from the operands' shapes, and the kernels sum the same
products in different orders: a 1-row product (gemv) and a 1000-row one (gemm) round a row
differently, and even within one product OpenBLAS's float32 gemm computes rows at some
positions with another kernel than rows at others (measured on this machine's Haswell kernel:
row classes repeat every 12 rows, 6 and 6). So the same window scored alone and in a batch can
differ in the last bits, and two characters whose probabilities tie to a few ulps swap places.

`invariant_rows` removes both causes. Every call of the wrapped function sees one shape,
(block, seq_len): a batch is cut into blocks and the last one padded with copies of a real
window. And `block` is chosen by `invariant_block`, which checks on this machine, for the
given function and weights, that every position of a block computes a row bit for bit as
position 0 does, so a row's numbers depend on the row alone. Block 1 (every window alone) is
invariant by construction and is the fallback. `tests/model/test_batching.py` checks the
result on thousands of windows, float32 and float64, for the RNN and an LSTM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.alphabet import ALPHABET_SIZE
from model.language_model import LanguageModel, softmax

Array = NDArray[Any]
Params = dict[str, Array]
RowFunction = Callable[[Params, Array], Array]

# Largest first (here float64 passes at 16, float32 at 8). 8 rows cost about 4x one row (a
# 400 x 400 product is bound by reading W), and 1000 windows in blocks of 8 run at about half
# the rate of one 1000-row pass (docs/performance.md, "Batch-invariant inference").
BLOCK_CANDIDATES = (16, 8, 4, 2)


def invariant_rows(fn: RowFunction, params: Params, windows: Array, block: int) -> Array:
    """fn(params, windows), computed in calls of exactly `block` rows each.

    fn : a row-wise function of an int array (batch, seq_len) returning (batch, ...), such as
    an architecture's next-character logits or probabilities.
    With a block from `invariant_block`, row i of the result depends only on windows[i].
    """
    windows = np.asarray(windows)
    if windows.ndim != 2 or windows.shape[0] < 1:
        raise ValueError(f"windows: expected shape (batch, seq_len) with batch >= 1, got {windows.shape}")
    if block < 1:
        raise ValueError(f"block: must be >= 1, got {block}")
    count = windows.shape[0]
    padded_count = -(-count // block) * block
    # Padding repeats a real window, so it is always valid input for fn.
    padded = np.concatenate([windows, np.repeat(windows[:1], padded_count - count, axis=0)])
    parts = [fn(params, padded[start : start + block]) for start in range(0, padded_count, block)]
    return np.concatenate(parts)[:count]


def positions_agree(fn: RowFunction, params: Params, probes: Array, block: int) -> bool:
    """True if each probe window gives bit-identical rows at every position of a block.

    Which kernel computes a row depends on the row's position and the block's shape, never on
    the other rows' values; so each position is tried with the probe, the others filled with
    different windows (the next probes), and compared with position 0.
    """
    probes = np.asarray(probes)
    for index, probe in enumerate(probes):
        others = np.roll(probes, -index - 1, axis=0)
        filler = np.resize(others, (block, probes.shape[1]))
        reference = None
        for position in range(block):
            rows = filler.copy()
            rows[position] = probe
            result = fn(params, rows)[position]
            if reference is None:
                reference = result
            elif not np.array_equal(result, reference):
                return False
    return True


def probe_windows(n_in: int, context: int, count: int = 4) -> Array:
    """Fixed random windows for `invariant_block`: the same ones wherever the block is chosen."""
    return np.random.default_rng(0).integers(0, n_in, (count, context))


def invariant_block(
    fn: RowFunction, params: Params, probes: Array, candidates: Sequence[int] = BLOCK_CANDIDATES
) -> int:
    """The first of `candidates` whose every position computes a row alike; else 1."""
    for block in candidates:
        if positions_agree(fn, params, probes, block):
            return block
    return 1


def probability_rows(model: LanguageModel) -> RowFunction:
    """softmax of the model's logits as one row function, so the softmax too sees one shape."""
    logits = model.architecture.next_char_logits

    def probabilities(params: Params, windows: Array) -> Array:
        return softmax(logits(params, windows))

    return probabilities


def model_block(model: LanguageModel) -> int:
    """`invariant_block` for this model's probabilities, probed with full-context windows."""
    return invariant_block(probability_rows(model), model.params, probe_windows(ALPHABET_SIZE, model.context))


def model_probabilities(model: LanguageModel, windows: Array, block: int) -> Array:
    """model.probabilities(windows) in calls of `block` rows: with `model_block`'s block, a
    row is the same bits whichever windows share its call."""
    return invariant_rows(probability_rows(model), model.params, windows, block)
