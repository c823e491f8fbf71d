"""POST /accuracy's details: exactly the positions the accuracy counts, with the same guesses."""

from __future__ import annotations

import numpy as np
import pytest

from model.accuracy import evaluate, text_positions
from model.alphabet import ALPHABET, encode, simplify
from model.artifact import Artifact
from model.errors import ArgumentError
from model.language_model import softmax
from service.accuracy_details import accuracy_details
from service.served import ServedModel
from tests.utils.artifacts import SAMPLE_TEXT

TEXT = SAMPLE_TEXT[:300]


def no_check(done: int) -> None:
    pass


def test_details_cover_the_counted_positions_with_their_guesses(artifact: Artifact) -> None:
    served = ServedModel(artifact, max_text_chars=10_000)
    text = "?? " + TEXT.upper()
    accuracy, details = accuracy_details(served, text, no_check)
    simplified = simplify(text)
    indices = encode(simplified)
    positions = text_positions(indices)
    assert positions is not None
    assert accuracy == served.accuracy(text) == evaluate(artifact.model, indices, positions)
    assert (details.text, details.start) == (simplified, 2)  # after " t", the first letter
    assert len(details.predicted) == len(details.probabilities) == accuracy.total == len(simplified) - 2
    hits = sum(guess == actual for guess, actual in zip(details.predicted, simplified[2:], strict=True))
    assert hits == accuracy.correct
    for offset, p in enumerate(range(2, len(simplified))):
        window = indices[max(0, p - artifact.context) : p]
        distribution = softmax(artifact.model.logits(window[None, :]).astype(np.float64))[0]
        assert details.predicted[offset] == ALPHABET[int(np.argmax(distribution))]
        assert details.probabilities[offset] == pytest.approx(distribution.max(), rel=1e-5)


def test_the_disconnect_check_runs_after_each_pass(artifact: Artifact) -> None:
    served = ServedModel(artifact, max_text_chars=10_000)
    done: list[int] = []
    accuracy, _ = accuracy_details(served, "harles darwin", done.append)
    # Positions 10..12 share one pass of full windows; then 1..9 each have their own length.
    assert done == [3, *range(4, 13)] and accuracy.total == 12


def test_a_text_with_nothing_after_a_letter_is_refused(artifact: Artifact) -> None:
    with pytest.raises(ArgumentError) as raised:
        accuracy_details(ServedModel(artifact, max_text_chars=100), "?!a", no_check)
    assert (raised.value.path, raised.value.kind) == (("text",), "too_short")
