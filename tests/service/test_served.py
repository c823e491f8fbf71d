"""The ServedModel's bounds: the simplified length, the chunks of long work, the model's name."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from model.accuracy import EVAL_BATCH, evaluate, text_positions
from model.alphabet import encode, simplify
from model.artifact import Artifact, ArtifactError
from model.errors import ArgumentError
from service.registry import ModelRegistry
from service.served import WINDOWS_CHUNK, ServedModel


def test_a_text_that_lowercases_longer_than_the_limit_is_refused(artifact: Artifact) -> None:
    served = ServedModel(artifact, max_text_chars=50)
    assert len(simplify("İ" * 25)) == 50  # "İ" lowercases to "i" and a combining dot
    assert served.accuracy("İ" * 25).total == 49  # every position after the first letter
    with pytest.raises(ArgumentError) as raised:
        served.accuracy("İ" * 26)
    error = raised.value
    assert (error.path, error.kind) == (("text",), "string_too_long")
    assert error.message == "Text simplifies to 52 characters, more than 50 (MAX_TEXT_CHARS)"


def test_accuracy_reports_each_pass_and_agrees_with_the_model(artifact: Artifact) -> None:
    served = ServedModel(artifact, max_text_chars=100_000)
    text = "the origin of species " * 500  # 11,000 characters
    done: list[int] = []
    result = served.accuracy(text, done.append)
    # Positions 10..10999 read full windows: five passes of EVAL_BATCH and one of the other
    # 750; then positions 1..9, each with its own shorter window.
    assert artifact.context == 10 and EVAL_BATCH == 2048
    assert done == [2048, 4096, 6144, 8192, 10240, 10990, *range(10991, 11000)]
    indices = encode(simplify(text))
    positions = text_positions(indices)
    assert positions is not None
    assert result == evaluate(artifact.model, indices, positions)


class Stop(Exception):
    pass


def stop_after_first(done: int) -> None:
    if done > 0:
        raise Stop


def test_a_raising_on_chunk_stops_the_accuracy(artifact: Artifact) -> None:
    served = ServedModel(artifact, max_text_chars=100_000)
    with pytest.raises(Stop):
        served.accuracy("the origin of species " * 500, stop_after_first)


def test_windows_report_each_chunk_of_texts(artifact: Artifact) -> None:
    served = ServedModel(artifact, max_text_chars=100)
    done: list[int] = []
    assert served.windows(["harles dar"] * 250, done.append) == ["harles dar"] * 250
    assert done == [0, WINDOWS_CHUNK, 2 * WINDOWS_CHUNK]


def test_an_unsafe_model_name_is_refused(artifact: Artifact) -> None:
    named = dataclasses.replace(artifact, manifest={**artifact.manifest, "name": "x\n\x1b[2J"})
    with pytest.raises(ArtifactError) as raised:
        ModelRegistry([ServedModel(named, max_text_chars=100)])
    manifest = Path(artifact.path) / "manifest.json"
    assert str(raised.value) == (
        f"{manifest}: field name: name 'x\\n\\x1b[2J' is not 1 to 64 of A-Za-z0-9._- starting with a "
        "letter or digit"
    )
