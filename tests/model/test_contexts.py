"""Hashed contexts (model/contexts.py): the one-position hash on Python integers against the
vectorised one, and both against the formula read order by order."""

from __future__ import annotations

import numpy as np

from model import contexts


def test_step_buckets_are_the_buckets_of_one_position() -> None:
    rng = np.random.default_rng(0)
    for known in range(contexts.HISTORY + 1):  # from no character before to a full history
        for _ in range(50):
            history = np.full(contexts.HISTORY, -1, np.int64)
            if known:
                history[-known:] = rng.integers(0, 27, known)
            index = int(rng.integers(0, 27))
            expected = contexts.buckets(np.array([[index]]), history[None, :])[0, 0]
            assert contexts.step_buckets(history.tolist(), index) == expected.tolist()
            reference = contexts.reference_buckets(np.array([[index]]), history[None, :])[0, 0]
            assert np.array_equal(expected, reference)


def test_step_buckets_reach_every_row_of_the_table() -> None:
    """The top BUCKET_BITS bits of the product: rows below 2^BUCKET_BITS, spread over all of it."""
    rng = np.random.default_rng(1)
    rows = []
    for _ in range(2000):
        history, index = rng.integers(0, 27, contexts.HISTORY).tolist(), int(rng.integers(0, 27))
        rows.extend(contexts.step_buckets(history, index))
    assert 0 <= min(rows) and max(rows) < 2**contexts.BUCKET_BITS
    assert max(rows) > 0.99 * 2**contexts.BUCKET_BITS and min(rows) < 0.01 * 2**contexts.BUCKET_BITS
