"""One interface over the architectures: lookup, probabilities and generation."""

from __future__ import annotations

import numpy as np
import pytest

from model import lstm_lm, rnn
from model.language_model import ARCHITECTURES, LanguageModel, architecture, softmax


def rnn_model(context: int = 4) -> LanguageModel:
    params = rnn.init_params(27, 12, 27, seed=5)
    params["b"] += 0.2
    params["c"] += np.linspace(-0.5, 0.5, 27)
    return LanguageModel(ARCHITECTURES["rnn"], params, context)


def lstm_model(context: int = 6) -> LanguageModel:
    return LanguageModel(ARCHITECTURES["lstm"], lstm_lm.init_params(27, 8, 27, seed=2), context)


def test_architecture_lookup_names_the_known_ones() -> None:
    assert architecture("lstm").param_names == ("U", "W", "b", "V", "c")
    with pytest.raises(
        ValueError, match=r"architecture: 'gru' is not one of \['lstm', 'lstm-contexts', 'rnn'\]"
    ):
        architecture("gru")


@pytest.mark.parametrize("make", [rnn_model, lstm_model])
def test_probabilities_are_the_softmax_of_the_logits(make: object) -> None:
    model = make()  # type: ignore[operator]
    windows = np.array([[1, 2, 3], [0, 5, 26]])
    np.testing.assert_array_equal(model.probabilities(windows), softmax(model.logits(windows)))
    np.testing.assert_allclose(model.probabilities(windows).sum(axis=1), 1.0, rtol=1e-12)


def test_rnn_logits_are_the_fast_path_of_the_rnn() -> None:
    model = rnn_model()
    windows = np.array([[1, 2, 3, 4]])
    np.testing.assert_array_equal(
        model.probabilities(windows), rnn.next_char_probabilities(model.params, windows)
    )


@pytest.mark.parametrize("make", [rnn_model, lstm_model])
def test_generate_greedy_is_argmax_of_the_last_context_characters(make: object) -> None:
    model = make()  # type: ignore[operator]
    prompt = np.array([1, 2, 3])
    produced = model.generate(prompt, n=8, temperature=0.0)
    sequence = list(prompt)
    for index in produced:
        window = np.array(sequence[-model.context :])[None, :]
        assert index == int(np.argmax(model.logits(window)[0]))
        sequence.append(int(index))


def test_generate_sampling_is_reproducible_with_a_seed() -> None:
    model = rnn_model(context=5)
    first = model.generate(np.array([1, 2]), n=30, temperature=1.0, seed=42)
    again = model.generate(np.array([1, 2]), n=30, temperature=1.0, seed=42)
    other = model.generate(np.array([1, 2]), n=30, temperature=1.0, seed=43)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.min() >= 0 and first.max() < 27


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": -1}, "n: must be >= 0"),
        ({"n": 1, "temperature": -0.5}, "temperature: must be >= 0"),
        ({"n": 1, "prompt": np.array([], dtype=int)}, "prompt: must hold at least one index"),
        ({"n": 1, "prompt": np.array([27])}, r"prompt: indices must lie in 0\.\.26"),
    ],
)
def test_generate_refuses_bad_arguments_by_name(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"prompt": np.array([1])} | kwargs
    with pytest.raises(ValueError, match=message):
        rnn_model().generate(**arguments)  # type: ignore[arg-type]
