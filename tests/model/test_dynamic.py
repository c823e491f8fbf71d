"""Dynamic evaluation: every prediction made before its character is seen, the adapted weights
a copy, E's sparse step equal to the dense gradient's, and the figure for a text equal to each
prefix read adaptively."""

from __future__ import annotations

import numpy as np
import pytest

from model import dynamic, lstm_lm
from model.accuracy import Positions, evaluate
from model.language_model import ARCHITECTURES, LanguageModel


def small_model(seed: int = 0, dtype: type = np.float64) -> LanguageModel:
    params = lstm_lm.init_params(27, 12, 27, seed=seed, with_contexts=True)
    rng = np.random.default_rng(seed + 1)
    params["E"] = 0.3 * rng.standard_normal(params["E"].shape)
    params["R"] = 0.2 * rng.standard_normal(params["R"].shape)
    return LanguageModel(ARCHITECTURES["lstm-contexts"], {k: v.astype(dtype) for k, v in params.items()}, 0)


def test_with_no_learning_it_is_the_static_figure() -> None:
    model = small_model()
    text = np.random.default_rng(1).integers(0, 27, 200)
    static = evaluate(model, text, Positions(1, 200))
    adaptive = dynamic.evaluate_adaptive(model, text, Positions(1, 200), learning_rate=0.0)
    assert (adaptive.correct, adaptive.total) == (static.correct, static.total)
    assert adaptive.bits == pytest.approx(static.bits, rel=1e-12)


def test_the_weights_adapted_are_a_copy() -> None:
    model = small_model()
    before = {name: array.copy() for name, array in model.params.items()}
    dynamic.evaluate_adaptive(model, np.random.default_rng(2).integers(0, 27, 100), Positions(1, 100))
    for name, array in model.params.items():
        assert np.array_equal(array, before[name]), name


def test_the_sparse_step_on_E_is_the_dense_gradient_step() -> None:
    model = small_model(seed=3)
    x = np.random.default_rng(4).integers(0, 27, 33)
    adapter = dynamic.Adapter(model, learning_rate=0.05, table_rate=3.0)
    adapter.read(x[:-1], x[1:])
    cache = lstm_lm.forward(model.params, x[None, :-1])
    _, dz = lstm_lm.loss_and_output_gradient(lstm_lm.logits(model.params, cache.h[1:], cache.e), x[None, 1:])
    grads = lstm_lm.backward(model.params, cache, dz)
    for name, gradient in grads.items():
        rate = 0.05 * (3.0 if name == "E" else 1.0)  # E steps table_rate times further
        np.testing.assert_allclose(
            adapter.params[name], model.params[name] - rate * gradient, rtol=0, atol=1e-14
        )


def test_a_prediction_never_sees_its_own_character() -> None:
    """Changing the character at position p changes no score at p or before."""
    model = small_model(seed=5)
    text = np.random.default_rng(6).integers(0, 27, 150)
    changed = text.copy()
    changed[77] = (changed[77] + 1) % 27
    seen: dict[str, dict[int, np.ndarray]] = {"a": {}, "b": {}}
    for key, indices in (("a", text), ("b", changed)):

        def keep(positions: np.ndarray, z: np.ndarray, key: str = key) -> None:
            seen[key].update(zip(positions.tolist(), z, strict=True))

        dynamic.evaluate_adaptive(model, indices, Positions(1, 150), on_pass=keep, segment=16)
    for p in range(1, 78):
        assert np.array_equal(seen["a"][p], seen["b"][p]), p
    assert not np.array_equal(seen["a"][100], seen["b"][100])


@pytest.mark.parametrize("p", [1, 16, 17, 40, 64, 65, 99])
def test_the_figure_for_a_text_is_each_prefix_read_adaptively(p: int) -> None:
    model = small_model(seed=7)
    text = np.random.default_rng(8).integers(0, 27, 100)
    seen: dict[int, np.ndarray] = {}
    dynamic.evaluate_adaptive(
        model,
        text,
        Positions(1, 100),
        segment=16,
        on_pass=lambda q, z: seen.update(zip(q.tolist(), z, strict=True)),
    )
    np.testing.assert_allclose(
        dynamic.next_logits_adaptive(model, text[:p], segment=16), seen[p], rtol=0, atol=1e-12
    )


def test_adapting_lowers_the_bits_on_a_repeated_phrase() -> None:
    model = small_model(seed=9)
    phrase = np.random.default_rng(10).integers(0, 27, 23)
    text = np.tile(phrase, 20)
    static = evaluate(model, text, Positions(1, len(text)))
    adaptive = dynamic.evaluate_adaptive(model, text, Positions(1, len(text)), learning_rate=0.5)
    assert adaptive.bits_per_char < 0.5 * static.bits_per_char
    assert adaptive.accuracy > static.accuracy + 0.3


def test_a_window_model_does_not_adapt() -> None:
    model = LanguageModel(ARCHITECTURES["lstm-contexts"], small_model().params, 10)
    with pytest.raises(ValueError, match="adapt: only a model that reads whole texts"):
        dynamic.evaluate_adaptive(model, np.zeros(5, np.int64), Positions(1, 5))
