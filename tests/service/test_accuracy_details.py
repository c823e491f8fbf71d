"""The per-position guesses behind POST /accuracy's details, in chunks or in one pass."""

from __future__ import annotations

import numpy as np
import pytest

from model.alphabet import ALPHABET, encode, simplify
from model.artifact import Artifact
from model.rnn import next_char_probabilities
from service import accuracy_details as details_module
from service.accuracy_details import accuracy_details
from service.predictor import Predictor
from tests.utils.artifacts import SAMPLE_TEXT

TEXT = SAMPLE_TEXT[:300]


def test_guesses_are_the_argmax_of_each_window(artifact: Artifact) -> None:
    predictor = Predictor(artifact, max_text_chars=10_000)
    details = accuracy_details(predictor, TEXT.upper())
    indices = encode(simplify(TEXT))
    windows = np.stack([indices[p - 10 : p] for p in range(10, indices.size)])
    expected = next_char_probabilities(artifact.params, windows)
    assert details.text == simplify(TEXT) and details.start == 10
    assert details.predicted == "".join(ALPHABET[i] for i in expected.argmax(axis=1))
    assert details.probabilities == expected.max(axis=1).astype(float).tolist()


def test_chunks_give_the_same_answer_as_one_pass(artifact: Artifact, monkeypatch: pytest.MonkeyPatch) -> None:
    predictor = Predictor(artifact, max_text_chars=10_000)
    whole = accuracy_details(predictor, TEXT)
    monkeypatch.setattr(details_module, "DETAILS_CHUNK", 7)  # 290 positions: 41 full chunks and 3 left
    chunked = accuracy_details(predictor, TEXT)
    assert chunked.predicted == whole.predicted
    np.testing.assert_allclose(chunked.probabilities, whole.probabilities, rtol=1e-6)


def test_a_text_no_longer_than_the_window_has_no_guesses(artifact: Artifact) -> None:
    details = accuracy_details(Predictor(artifact, max_text_chars=10_000), "harles dar")
    assert (details.text, details.start, details.predicted, details.probabilities) == (
        "harles dar",
        10,
        "",
        [],
    )
