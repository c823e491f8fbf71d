"""model.accuracy: the guesses behind the count come from the same passes, position by position."""

from __future__ import annotations

import numpy as np
import pytest

from model.accuracy import EVAL_BATCH, Positions, evaluate, guesses, text_positions
from model.alphabet import encode
from model.language_model import LanguageModel, architecture, softmax

TEXT = "  natural selection acts only by the preservation of profitable modifications"


@pytest.fixture(params=["rnn", "lstm", "lstm-contexts"])
def model(request: pytest.FixtureRequest) -> LanguageModel:
    kind = architecture(request.param)
    return LanguageModel(kind, kind.init_params(27, 12, 27, 4, np.float64), 6)


def test_each_guess_is_the_argmax_after_the_characters_before_it(model: LanguageModel) -> None:
    indices = encode(TEXT)
    positions = text_positions(indices)
    assert positions == Positions(3, len(TEXT))  # after the first letter, "n" at 2
    accuracy, guessed = guesses(model, indices, positions)
    assert guessed.start == 3 and guessed.guesses.size == guessed.probabilities.size == len(TEXT) - 3
    for offset, p in enumerate(range(3, len(TEXT))):
        window = indices[max(0, p - model.context) : p]  # at most `context` characters, from the zero state
        distribution = softmax(model.logits(window[None, :]).astype(np.float64))[0]
        assert guessed.guesses[offset] == int(np.argmax(distribution))
        assert guessed.probabilities[offset] == pytest.approx(distribution.max(), rel=1e-9)
    assert accuracy == evaluate(model, indices, positions)
    hits = int(np.count_nonzero(guessed.guesses == indices[3:]))
    assert (accuracy.correct, accuracy.total) == (hits, len(TEXT) - 3)


def test_on_chunk_sees_every_pass_and_may_stop_the_work(model: LanguageModel) -> None:
    indices = encode(TEXT * 60)  # 4,620 characters: full windows in three passes
    positions = Positions(1, indices.size)
    done: list[int] = []
    guesses(model, indices, positions, done.append)
    full = indices.size - model.context
    assert done == [EVAL_BATCH, 2 * EVAL_BATCH, full, *range(full + 1, full + model.context)]

    def stop(count: int) -> None:
        raise RuntimeError(f"stopped at {count}")

    with pytest.raises(RuntimeError, match=f"stopped at {EVAL_BATCH}"):
        guesses(model, indices, positions, stop)


def test_positions_past_the_text_are_refused(model: LanguageModel) -> None:
    with pytest.raises(ValueError, match="positions: end 9 is past the text's 8 characters"):
        evaluate(model, encode("abcdefgh"), Positions(1, 9))
