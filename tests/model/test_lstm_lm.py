"""The LSTM language model: BPTT against central finite differences (float64), against
model/lstm.py's cell step, and its inference against its training forward pass."""

from __future__ import annotations

import numpy as np
import pytest

from model import contexts, lstm, lstm_lm
from tests.utils.gradients import central_differences, relative_error

SHAPES = [(steps, batch) for steps in (1, 2, 5, 12) for batch in (1, 3)]
N_IN, N_HIDDEN, N_OUT = 6, 5, 4


def perturbed_params(seed: int) -> lstm_lm.Params:
    params = lstm_lm.init_params(N_IN, N_HIDDEN, N_OUT, seed=seed)
    rng = np.random.default_rng(seed + 100)
    params["U"] = 0.5 * rng.standard_normal(params["U"].shape)
    params["b"] = params["b"] + 0.2 * rng.standard_normal(params["b"].shape)
    params["c"] = 0.1 * rng.standard_normal(N_OUT)
    return params


def batch_of(steps: int, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, N_IN, (batch, steps)), rng.integers(0, N_OUT, (batch, steps))


def loss_with_mask(
    params: lstm_lm.Params, inputs: np.ndarray, targets: np.ndarray, mask: np.ndarray | None
) -> float:
    cache = lstm_lm.forward(params, inputs)
    h_out = cache.h[1:] if mask is None else cache.h[1:] * mask
    return lstm_lm.loss_and_output_gradient(lstm_lm.logits(params, h_out), targets)[0]


@pytest.mark.parametrize("dropout", [0.0, 0.4])
@pytest.mark.parametrize(("steps", "batch"), SHAPES)
def test_gradients_match_central_differences(steps: int, batch: int, dropout: float) -> None:
    params = perturbed_params(steps * 10 + batch)
    inputs, targets = batch_of(steps, batch, seed=steps + batch)
    mask = None
    if dropout:
        mask = lstm_lm.dropout_mask((steps, batch, N_HIDDEN), dropout, np.random.default_rng(3), np.float64)
    cache = lstm_lm.forward(params, inputs)
    h_out = cache.h[1:] if mask is None else cache.h[1:] * mask
    _, dz = lstm_lm.loss_and_output_gradient(lstm_lm.logits(params, h_out), targets)
    grads = lstm_lm.backward(params, cache, dz, mask)
    for name in lstm_lm.PARAM_NAMES:
        numeric = central_differences(lambda: loss_with_mask(params, inputs, targets, mask), params[name])
        assert relative_error(grads[name], numeric) < 1e-6, name


def test_loss_and_grads_applies_the_dropout_it_draws() -> None:
    params = perturbed_params(1)
    inputs, targets = batch_of(4, 2, seed=1)
    loss, grads = lstm_lm.loss_and_grads(params, inputs, targets, dropout=0.5, rng=np.random.default_rng(9))
    mask = lstm_lm.dropout_mask((4, 2, N_HIDDEN), 0.5, np.random.default_rng(9), np.float64)
    assert loss == loss_with_mask(params, inputs, targets, mask)
    cache = lstm_lm.forward(params, inputs)
    _, dz = lstm_lm.loss_and_output_gradient(lstm_lm.logits(params, cache.h[1:] * mask), targets)
    expected = lstm_lm.backward(params, cache, dz, mask)
    for name in lstm_lm.PARAM_NAMES:
        np.testing.assert_array_equal(grads[name], expected[name])


def test_dropout_mask_is_zero_or_the_inverse_keep_rate() -> None:
    mask = lstm_lm.dropout_mask((200, 50), 0.25, np.random.default_rng(0), np.float64)
    assert set(np.unique(mask).tolist()) == {0.0, 4 / 3}
    assert abs(float((mask == 0).mean()) - 0.25) < 0.02


def test_forward_matches_the_cell_step_of_model_lstm() -> None:
    """Each step is model/lstm.py's cell with W_gate = [W_gate-rows | U_gate-rows]."""
    params = perturbed_params(4)
    sequence = np.array([[2, 0, 5, 1]])
    cache = lstm_lm.forward(params, sequence)
    H = N_HIDDEN
    rows = {gate: slice(k * H, (k + 1) * H) for k, gate in enumerate(("f", "i", "o", "c"))}
    weights = {}
    for gate, part in rows.items():
        weights[f"W_{gate}"] = np.concatenate([params["W"][part], params["U"][part]], axis=1)
        weights[f"b_{gate}"] = params["b"][part]
    h, c = np.zeros(H), np.zeros(H)
    for t, index in enumerate(sequence[0]):
        result = lstm.step(np.eye(N_IN)[index], h, c, weights)
        h, c = result.h, result.c
        np.testing.assert_allclose(cache.h[t + 1, 0], h, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(cache.s[t + 1, 0], c, rtol=1e-12, atol=1e-14)


def test_next_char_logits_are_the_last_step_of_the_training_pass() -> None:
    params = perturbed_params(5)
    windows = np.array([[1, 2, 3], [3, 2, 1]])
    cache = lstm_lm.forward(params, windows)
    full = lstm_lm.logits(params, cache.h[1:])  # (T, batch, Y): every position's logits
    np.testing.assert_array_equal(lstm_lm.next_char_logits(params, windows), full[-1])
    with pytest.raises(ValueError, match=r"windows: indices must lie in 0\.\.5"):
        lstm_lm.next_char_logits(params, np.array([[1, 6]]))


def test_check_params_names_the_wrong_array() -> None:
    params = lstm_lm.init_params(N_IN, N_HIDDEN, N_OUT)
    assert lstm_lm.check_params(params) == (N_IN, N_HIDDEN, N_OUT)
    params["W"] = np.zeros((4 * N_HIDDEN, N_HIDDEN + 1))
    with pytest.raises(ValueError, match=r"params: W has shape \(20, 6\), expected \(20, 5\)"):
        lstm_lm.check_params(params)
    with pytest.raises(ValueError, match=r"missing arrays \['V'\]"):
        lstm_lm.check_params({k: v for k, v in lstm_lm.init_params(2, 2, 2).items() if k != "V"})


def test_training_lowers_the_loss_on_a_repeated_phrase() -> None:
    text = np.array([1, 2, 3, 0, 4, 5] * 20)
    inputs, targets = text[:-1].reshape(1, -1)[:, :96].reshape(8, 12), text[1:97].reshape(8, 12)
    params = lstm_lm.init_params(N_IN, 16, N_IN, seed=0)
    first, _ = lstm_lm.loss_and_grads(params, inputs, targets)
    for _ in range(150):
        loss, grads = lstm_lm.loss_and_grads(params, inputs, targets)
        for name in lstm_lm.PARAM_NAMES:
            params[name] -= 0.5 * grads[name]
    assert loss < 0.25 * first


@pytest.fixture
def small_contexts(monkeypatch: pytest.MonkeyPatch) -> None:
    """16 rows of 3 columns, contexts of 2..4 characters: small enough for finite differences."""
    monkeypatch.setattr(contexts, "BUCKET_BITS", 4)
    monkeypatch.setattr(contexts, "DIMENSION", 3)
    monkeypatch.setattr(contexts, "ORDERS", 4)


def test_context_buckets_are_the_documented_hash(small_contexts: None) -> None:
    def bucket(code: int, k: int) -> int:
        multiplier = 0x9E3779B97F4A7C15 + 2 * k
        return ((code * multiplier) % 2**64) >> (64 - 4)

    rows = contexts.buckets(np.array([[1, 2, 0]]))  # x_1 = 1, x_2 = 2, x_3 = 0
    assert rows.shape == (3, 1, 3)
    assert rows[1, 0].tolist() == [bucket(3 + 2 * 28, 2), bucket(3 + 2 * 28, 3), bucket(3 + 2 * 28, 4)]
    assert rows[2, 0, 1] == bucket(1 + 3 * 28 + 2 * 28**2, 3)  # "a b" then space, order 3
    assert rows[0, 0, 0] == bucket(2, 2)  # at the window's start the context is shorter


def test_a_context_hashes_alike_wherever_it_stands(small_contexts: None) -> None:
    rows = contexts.buckets(np.array([[5, 1, 2, 3, 4, 1, 2, 3, 4]]))
    np.testing.assert_array_equal(rows[4, 0], rows[8, 0])  # "1 2 3 4" ends at both


@pytest.mark.parametrize("length", [1, 2, 5, 7])
def test_a_window_shorter_than_the_longest_context_hashes_as_a_longer_windows_start(length: int) -> None:
    longer = np.array([[3, 1, 4, 1, 5, 9, 2, 6, 5, 3]])
    rows = contexts.buckets(longer[:, :length])
    np.testing.assert_array_equal(rows, contexts.buckets(longer)[:length])


def context_params(seed: int) -> lstm_lm.Params:
    """Parameters with contexts whose E, Q and R are all far from their initial values."""
    params = lstm_lm.init_params(N_IN, N_HIDDEN, N_OUT, seed=seed, with_contexts=True)
    rng = np.random.default_rng(seed + 100)
    for name in contexts.PARAM_NAMES:
        params[name] = rng.standard_normal(params[name].shape)
    return params


@pytest.mark.parametrize("closed", [None, "Q", "R"], ids=["both-paths", "direct-only", "gates-only"])
@pytest.mark.parametrize("masked", [None, "positions", "orders"])
def test_context_gradients_match_central_differences(
    small_contexts: None, masked: str | None, closed: str | None
) -> None:
    """E reaches the loss through Q (the gates) and R (the logits): each path alone and both,
    with no dropout, with whole positions dropped and with single orders' rows dropped."""
    params = context_params(seed=2)
    if closed is not None:
        params[closed][:] = 0.0
    inputs, targets = batch_of(5, 2, seed=8)
    mask = None
    if masked is not None:
        width = 1 if masked == "positions" else contexts.ORDERS - 1
        mask = lstm_lm.dropout_mask((5, 2, width), 0.5, np.random.default_rng(4), np.float64)
        assert 0 < np.count_nonzero(mask) < mask.size  # some rows dropped, some kept

    def loss_of() -> float:
        cache = lstm_lm.forward(params, inputs, mask)
        return lstm_lm.loss_and_output_gradient(lstm_lm.logits(params, cache.h[1:], cache.e), targets)[0]

    cache = lstm_lm.forward(params, inputs, mask)
    _, dz = lstm_lm.loss_and_output_gradient(lstm_lm.logits(params, cache.h[1:], cache.e), targets)
    grads = lstm_lm.backward(params, cache, dz)
    for name in lstm_lm.CONTEXT_PARAM_NAMES:
        assert relative_error(grads[name], central_differences(loss_of, params[name])) < 1e-6, name
    assert np.count_nonzero(grads["E"].any(axis=1)) <= 2 * 5 * 3  # only the rows looked up
    assert np.count_nonzero(grads["E"]) > 0


def test_loss_and_grads_with_contexts_masks_e_t_once_for_both_paths(small_contexts: None) -> None:
    params = context_params(seed=3)
    inputs, targets = batch_of(5, 2, seed=5)
    loss, grads = lstm_lm.loss_and_grads(
        params, inputs, targets, dropout=0.4, rng=np.random.default_rng(9), context_dropout=0.5
    )
    rng = np.random.default_rng(9)  # drawn in the same order: e_t's mask, then h_t's
    context_mask = lstm_lm.dropout_mask((5, 2, 1), 0.5, rng, np.float64)
    mask = lstm_lm.dropout_mask((5, 2, N_HIDDEN), 0.4, rng, np.float64)
    cache = lstm_lm.forward(params, inputs, context_mask)
    expected_loss, dz = lstm_lm.loss_and_output_gradient(
        lstm_lm.logits(params, cache.h[1:] * mask, cache.e), targets
    )
    assert loss == expected_loss
    expected = lstm_lm.backward(params, cache, dz, mask)
    assert set(grads) == set(lstm_lm.CONTEXT_PARAM_NAMES)
    for name in lstm_lm.CONTEXT_PARAM_NAMES:
        np.testing.assert_array_equal(grads[name], expected[name])


def test_order_dropout_multiplies_each_looked_up_row_by_its_own_mask(small_contexts: None) -> None:
    params = context_params(seed=3)
    inputs, targets = batch_of(5, 2, seed=5)
    loss, grads = lstm_lm.loss_and_grads(
        params, inputs, targets, rng=np.random.default_rng(9), context_dropout=0.5, order_dropout=0.25
    )
    rng = np.random.default_rng(9)  # drawn in order: e_t's mask, each order's, then h_t's (none)
    whole = lstm_lm.dropout_mask((5, 2, 1), 0.5, rng, np.float64)
    orders = lstm_lm.dropout_mask((5, 2, contexts.ORDERS - 1), 0.25, rng, np.float64)
    mask = whole * orders
    assert set(np.unique(mask)) == {0.0, 2.0 / 0.75}
    cache = lstm_lm.forward(params, inputs, mask)
    rows = contexts.buckets(inputs)
    expected_e = np.einsum("tbk,tbkd->tbd", mask, params["E"][rows])
    assert cache.e is not None
    np.testing.assert_allclose(cache.e, expected_e, rtol=1e-15, atol=1e-15)
    expected_loss, dz = lstm_lm.loss_and_output_gradient(
        lstm_lm.logits(params, cache.h[1:], cache.e), targets
    )
    assert loss == expected_loss
    expected = lstm_lm.backward(params, cache, dz)
    for name in lstm_lm.CONTEXT_PARAM_NAMES:
        np.testing.assert_array_equal(grads[name], expected[name])


def test_a_fresh_model_with_contexts_has_the_logits_V_h_plus_c(small_contexts: None) -> None:
    params = lstm_lm.init_params(N_IN, N_HIDDEN, N_OUT, seed=2, with_contexts=True)
    params["c"] = 0.1 * np.random.default_rng(1).standard_normal(N_OUT)
    assert params["R"].shape == (N_OUT, 3) and not params["R"].any()
    windows = np.array([[1, 2, 3, 4], [4, 0, 5, 1]])
    cache = lstm_lm.forward(params, windows)
    h = cache.h[1:].reshape(-1, N_HIDDEN)
    expected = (h @ params["V"].T + params["c"]).reshape(4, 2, N_OUT)
    np.testing.assert_array_equal(lstm_lm.logits(params, cache.h[1:], cache.e), expected)
    last = cache.h[-1] @ params["V"].T + params["c"]
    np.testing.assert_array_equal(lstm_lm.next_char_logits(params, windows), last)


def test_the_direct_path_adds_exactly_R_e_t(small_contexts: None) -> None:
    """With V = 0, z_t is c + R e_t; integer E and R and a dyadic c make every value exact."""
    rng = np.random.default_rng(6)
    params = lstm_lm.init_params(N_IN, N_HIDDEN, N_OUT, seed=2, with_contexts=True)
    params["V"][:] = 0.0
    params["c"] = np.array([0.5, -0.25, 1.0, 2.0])
    E = rng.integers(-3, 4, params["E"].shape)
    R = np.array([[1, 0, -1], [2, 1, 0], [0, -3, 1], [1, 1, 1]])
    params["E"], params["R"] = E.astype(np.float64), R.astype(np.float64)
    windows = np.array([[1, 2, 3, 4], [4, 0, 5, 1]])
    e_t = E[contexts.buckets(windows)].sum(axis=2)  # (T, batch, D) in integers
    R_e = np.einsum("yd,tbd->tby", R, e_t)
    assert R_e.any()
    cache = lstm_lm.forward(params, windows)
    np.testing.assert_array_equal(lstm_lm.logits(params, cache.h[1:], cache.e), params["c"] + R_e)
    np.testing.assert_array_equal(lstm_lm.next_char_logits(params, windows), params["c"] + R_e[-1])
    params["R"][:] = 0.0
    np.testing.assert_array_equal(lstm_lm.next_char_logits(params, windows), np.tile(params["c"], (2, 1)))


def test_next_char_logits_with_contexts_are_the_last_step_of_the_training_pass(small_contexts: None) -> None:
    params = context_params(seed=5)
    windows = np.array([[1, 2, 3], [3, 2, 1]])
    cache = lstm_lm.forward(params, windows)
    full = lstm_lm.logits(params, cache.h[1:], cache.e)  # (T, batch, Y), R e_t included
    np.testing.assert_array_equal(lstm_lm.next_char_logits(params, windows), full[-1])
    with pytest.raises(ValueError, match=r"^e: a model with contexts adds R e_t to its logits$"):
        lstm_lm.logits(params, cache.h[1:])


@pytest.mark.parametrize("name", ["E", "Q", "R"])
def test_check_params_wants_every_context_array(small_contexts: None, name: str) -> None:
    params = lstm_lm.init_params(N_IN, N_HIDDEN, N_OUT, with_contexts=True)
    assert lstm_lm.check_params(params) == (N_IN, N_HIDDEN, N_OUT)
    del params[name]
    with pytest.raises(ValueError, match=rf"missing arrays \['{name}'\]"):
        lstm_lm.check_params(params)


def test_check_params_wants_R_of_shape_Y_by_D(small_contexts: None) -> None:
    params = lstm_lm.init_params(N_IN, N_HIDDEN, N_OUT, with_contexts=True)
    params["R"] = np.zeros((N_OUT, 4))
    with pytest.raises(ValueError, match=r"params: R has shape \(4, 4\), expected \(4, 3\)"):
        lstm_lm.check_params(params)


@pytest.mark.parametrize("length", [1, 2, 9, 10, 31])
def test_the_vectorised_buckets_are_the_reference_order_by_order(length: int) -> None:
    rng = np.random.default_rng(length)
    inputs = rng.integers(0, 27, (3, length))
    for history in (None, rng.integers(-1, 27, (3, contexts.HISTORY))):
        np.testing.assert_array_equal(
            contexts.buckets(inputs, history), contexts.reference_buckets(inputs, history)
        )
