"""Corpus reading and window spans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.accuracy import Positions
from model.alphabet import encode
from training.data import (
    CorpusNotFoundError,
    Span,
    default_corpus_path,
    evaluation_splits,
    read_corpus,
    train_span,
    trained_positions,
    windows,
)


def test_missing_corpus_says_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(CorpusNotFoundError, match=r"Project Gutenberg eBook #1228.*CHAR_RNN_CORPUS"):
        read_corpus(tmp_path / "absent.txt")


def test_read_corpus_simplifies_and_hashes_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_bytes(b"The Origin -- of Species!\n")
    text, digest = read_corpus(path)
    assert text == "the origin of species "
    assert digest == "409216bf86313bdf3bd48c86108a63f89798924d87c2cf18c3803652f7f18b18"


def test_default_corpus_path_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAR_RNN_CORPUS", "/somewhere/origin.txt")
    assert default_corpus_path() == Path("/somewhere/origin.txt")
    monkeypatch.delenv("CHAR_RNN_CORPUS")
    assert default_corpus_path() == Path("data/origin_of_species.txt")


def test_span_starts_follow_the_manifest_rule() -> None:
    # s = start, start + stride, ... while s + seq_length < end
    assert Span(0, 15, 2).starts(10).tolist() == [0, 2, 4]
    assert Span(3, 14, 1).starts(10).tolist() == [3]
    assert Span(3, 13, 1).starts(10).tolist() == []


def test_train_span_holds_exactly_the_requested_windows() -> None:
    span = train_span(n_chars=100_000, seq_length=10, samples=5000, stride=1)
    assert span == Span(0, 5010, 1)
    assert span.starts(10).size == 5000
    assert train_span(100_000, 10, 50, 3).starts(10).size == 50


def test_train_windows_never_reach_the_validation_or_test_text() -> None:
    span = train_span(n_chars=1000, seq_length=10, samples=5000, stride=1)
    assert span.end == evaluation_splits(1000)["validation"].start == 850


def test_the_test_split_is_the_last_tenth_and_validation_the_twentieth_before_it() -> None:
    assert evaluation_splits(1000) == {"validation": Positions(850, 900), "test": Positions(900, 1000)}


def test_trained_positions_are_the_targets_of_the_last_window_characters() -> None:
    assert trained_positions(Span(0, 5010, 1), 10) == Positions(10, 5010)


def test_windows_targets_are_inputs_shifted_by_one() -> None:
    indices = encode("abcdefghijklmnop")
    inputs, targets = windows(indices, Span(0, len(indices), 3), 4)
    assert inputs.shape == targets.shape == (4, 4)
    np.testing.assert_array_equal(inputs[1], encode("defg"))
    np.testing.assert_array_equal(targets[1], encode("efgh"))
