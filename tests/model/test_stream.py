"""A text read as a stream: truncated BPTT with the state carried (central differences, float64),
model/stream.py against the reference forward pass, and bits that never depend on the chunks."""

from __future__ import annotations

import numpy as np
import pytest

from model import contexts, lstm_lm, stream
from model.accuracy import Positions, evaluate, evaluate_split
from model.language_model import ARCHITECTURES, LanguageModel
from tests.utils.gradients import central_differences, relative_error

N_IN, N_HIDDEN, N_OUT = 6, 5, 6


@pytest.fixture
def small_contexts(monkeypatch: pytest.MonkeyPatch) -> None:
    """16 rows of 3 columns, contexts of 2..4 characters: small enough for finite differences."""
    monkeypatch.setattr(contexts, "BUCKET_BITS", 4)
    monkeypatch.setattr(contexts, "DIMENSION", 3)
    monkeypatch.setattr(contexts, "ORDERS", 4)


def model_params(
    seed: int, n_in: int = N_IN, hidden: int = N_HIDDEN, dtype: type = np.float64
) -> lstm_lm.Params:
    params = lstm_lm.init_params(n_in, hidden, n_in, seed=seed, with_contexts=True)
    rng = np.random.default_rng(seed + 100)
    params["U"] = 0.5 * rng.standard_normal(params["U"].shape)
    params["E"] = 0.5 * rng.standard_normal(params["E"].shape)
    params["R"] = 0.3 * rng.standard_normal(params["R"].shape)
    params["c"] = 0.1 * rng.standard_normal(params["c"].shape)
    return {name: array.astype(dtype) for name, array in params.items()}


def carried_from(params: lstm_lm.Params, before: np.ndarray) -> lstm_lm.Carried:
    """The state after reading `before` (batch, T0), as a previous chunk hands it on."""
    cache = lstm_lm.forward(params, before)
    return lstm_lm.Carried(cache.h[-1].copy(), cache.s[-1].copy(), contexts.next_history(None, before))


def test_carried_gradients_match_central_differences(small_contexts: None) -> None:
    """The gradients of a chunk read from a carried state (h_0, s_0 and contexts reaching into
    the previous chunk all non-zero): the carried values are constants of the chunk's loss."""
    params = model_params(seed=3)
    rng = np.random.default_rng(5)
    before = rng.integers(0, N_IN, (2, 11))
    inputs, targets = rng.integers(0, N_IN, (2, 5)), rng.integers(0, N_OUT, (2, 5))
    carried = carried_from(params, before)
    assert carried.history is not None
    assert np.abs(carried.h).min() > 0 and bool(np.all(carried.history >= 0))

    def loss_of() -> float:
        cache = lstm_lm.forward(params, inputs, None, carried)
        return lstm_lm.loss_and_output_gradient(lstm_lm.logits(params, cache.h[1:], cache.e), targets)[0]

    _, grads, _ = lstm_lm.loss_grads_and_carry(params, inputs, targets, carried)
    for name in lstm_lm.CONTEXT_PARAM_NAMES:
        assert relative_error(grads[name], central_differences(loss_of, params[name])) < 1e-6, name


def test_chunks_with_the_state_carried_are_one_pass_over_the_whole_sequence() -> None:
    params = model_params(seed=1, n_in=27, hidden=8)
    x = np.random.default_rng(2).integers(0, 27, (3, 40))
    whole = lstm_lm.forward(params, x)
    carried, h = None, []
    for first in range(0, 40, 13):
        chunk = x[:, first : first + 13]
        cache = lstm_lm.forward(params, chunk, None, carried)
        h.append(cache.h[1:])
        history = contexts.next_history(None if carried is None else carried.history, chunk)
        carried = lstm_lm.Carried(cache.h[-1], cache.s[-1], history)
    np.testing.assert_allclose(np.concatenate(h), whole.h[1:], rtol=0, atol=1e-13)


def test_loss_grads_and_carry_hands_on_the_last_state_and_characters() -> None:
    params = model_params(seed=4, n_in=27, hidden=6)
    x = np.random.default_rng(3).integers(0, 27, (2, 12))
    _, _, carried = lstm_lm.loss_grads_and_carry(params, x, x, None)
    cache = lstm_lm.forward(params, x)
    np.testing.assert_array_equal(carried.h, cache.h[-1])
    np.testing.assert_array_equal(carried.s, cache.s[-1])
    np.testing.assert_array_equal(carried.history, x[:, -contexts.HISTORY :])


def test_the_stream_reads_the_reference_forward_pass() -> None:
    """model/stream.py step by step against lstm_lm.forward over the whole text (float64)."""
    params = model_params(seed=6, n_in=27, hidden=8)
    x = np.random.default_rng(4).integers(0, 27, (3, 30))
    cache = lstm_lm.forward(params, x)
    reference = lstm_lm.logits(params, cache.h[1:], cache.e)
    z, state = stream.read(stream.prepare(params), stream.start(params, 3), x)
    np.testing.assert_allclose(z, reference, rtol=0, atol=1e-13)
    np.testing.assert_allclose(state.h, cache.h[-1], rtol=0, atol=1e-13)
    np.testing.assert_array_equal(state.history, x[:, -contexts.HISTORY :])


@pytest.mark.parametrize("cuts", [(1, 5, 13, 21), (40,), (7, 7, 7, 7, 7, 5), (39, 1)])
def test_a_stream_has_the_same_bits_however_it_is_cut(cuts: tuple[int, ...]) -> None:
    """float32, as served: one read of 40 characters and reads of any pieces agree bit for bit."""
    params = model_params(seed=7, n_in=27, hidden=32, dtype=np.float32)
    weights = stream.prepare(params)
    x = np.random.default_rng(5).integers(0, 27, (1, 40))
    whole, end = stream.read(weights, stream.start(params), x)
    state, parts, first = stream.start(params), [], 0
    for length in cuts:
        z, state = stream.read(weights, state, x[:, first : first + length])
        parts.append(z)
        first += length
    assert np.array_equal(np.concatenate(parts), whole)
    assert state.z is not None and end.z is not None
    assert np.array_equal(state.h, end.h) and np.array_equal(state.z, end.z)


def test_a_reader_continues_where_it_stopped() -> None:
    params = model_params(seed=8, n_in=27, hidden=16, dtype=np.float32)
    model = LanguageModel(ARCHITECTURES["lstm-contexts"], params, 0)
    x = np.random.default_rng(6).integers(0, 27, 25)
    reader = model.reader()
    z = np.concatenate([reader.read(x[:10]), reader.read(x[10:])])
    alone, _ = stream.read(model.weights, stream.start(params), x[None, :])
    assert np.array_equal(z, alone[:, 0])


def test_a_model_that_reads_texts_generates_from_its_carried_state() -> None:
    """Greedy generation is the argmax of the text read so far, each character fed back."""
    params = model_params(seed=9, n_in=27, hidden=16)
    model = LanguageModel(ARCHITECTURES["lstm-contexts"], params, 0)
    prompt = np.array([3, 1, 18, 23, 9, 14])
    produced = model.generate(prompt, 12)
    text = list(prompt)
    for index in produced:
        cache = lstm_lm.forward(params, np.array([text]))
        assert cache.e is not None
        z = lstm_lm.logits(params, cache.h[-1], cache.e[-1])[0]
        assert index == int(np.argmax(z))
        text.append(int(index))


def test_the_figure_for_a_text_is_each_prefix_read_alone() -> None:
    """evaluate on a text = for each position, the argmax after reading the text before it."""
    params = model_params(seed=10, n_in=27, hidden=16, dtype=np.float32)
    model = LanguageModel(ARCHITECTURES["lstm-contexts"], params, 0)
    text = np.random.default_rng(7).integers(0, 27, 300)
    correct, bits = 0, 0.0
    for p in range(1, 300):
        z = model.reader().read(text[:p])[-1].astype(np.float64)
        correct += int(np.argmax(z) == text[p])
        log_p = z - z.max() - np.log(np.exp(z - z.max()).sum())
        bits -= log_p[text[p]] / np.log(2)
    measured = evaluate(model, text, Positions(1, 300))
    assert (measured.correct, measured.total) == (correct, 299)
    assert measured.bits == pytest.approx(bits, rel=1e-12)


def test_a_split_is_read_from_the_character_before_its_first_position() -> None:
    params = model_params(seed=11, n_in=27, hidden=8, dtype=np.float32)
    model = LanguageModel(ARCHITECTURES["lstm-contexts"], params, 0)
    book = np.random.default_rng(8).integers(0, 27, 500)
    split = Positions(400, 500)
    assert evaluate_split(model, book, split) == evaluate(model, book[399:], Positions(1, 101))
    assert evaluate_split(model, book, split).total == 100


@pytest.mark.parametrize("with_contexts", [True, False])
def test_a_step_is_the_read_of_one_character(with_contexts: bool) -> None:
    """float32, as served: stream.step, one character at a time from a carried state, gives the
    bits of stream.read on the same characters (what every generation relies on)."""
    params = model_params(seed=10, n_in=27, hidden=48, dtype=np.float32)
    if not with_contexts:
        params = {name: params[name] for name in lstm_lm.PARAM_NAMES}
    weights = stream.prepare(params)
    x = np.random.default_rng(11).integers(0, 27, (1, 60))
    _, state = stream.read(weights, stream.start(params), x[:, :5])  # some history, not yet all
    stepped = state
    for t in range(5, 60):
        _, state = stream.read(weights, state, x[:, t : t + 1], keep_logits=False)
        stepped = stream.step(weights, stepped, int(x[0, t]))
        assert state.z is not None and stepped.z is not None
        assert np.array_equal(stepped.h, state.h) and np.array_equal(stepped.s, state.s)
        assert np.array_equal(stepped.z, state.z), t
        if with_contexts:
            assert stepped.history is not None and state.history is not None
            assert np.array_equal(stepped.history, state.history)
        else:
            assert stepped.history is None


def test_a_step_continues_one_stream_only() -> None:
    params = model_params(seed=12, n_in=27, hidden=8, dtype=np.float32)
    with pytest.raises(ValueError, match="2 streams"):
        stream.step(stream.prepare(params), stream.start(params, rows=2), 3)
