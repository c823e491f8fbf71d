"""Every hostile artifact of tests/utils/attacks.py is refused by the loader, naming the file
and the reason; a real process refusing them is in tests/service and tests/training."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from numpy.lib import format as npy

from model.artifact import ArtifactError, load
from tests.utils.attacks import (
    ATTACKS,
    Attack,
    attacked_copy,
    current_members,
    edit_manifest,
    params,
    write_weights,
)


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.name for attack in ATTACKS])
def test_each_attack_is_refused_by_the_loader(small_artifact: Path, tmp_path: Path, attack: Attack) -> None:
    directory = attacked_copy(small_artifact, tmp_path / "attacked", attack)
    with pytest.raises(ArtifactError, match=attack.refusal) as refused:
        load(directory)
    assert str(refused.value).startswith(f"{directory}{'/'}")
    assert "\n" not in str(refused.value)


def test_the_untouched_copy_loads(small_artifact: Path, tmp_path: Path) -> None:
    """The attacks start from an artifact the loader accepts: each refusal is its own fault."""
    untouched = Attack("nothing", lambda directory: None, "")
    assert load(attacked_copy(small_artifact, tmp_path / "copy", untouched)).context == 10


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"data": []}, r"data must be an object"),
        ({"data": {"test": {"start": 5}}}, r"data\.test must hold integer start and end"),
        ({"data": {"test": {"start": 9, "end": 3}}}, r"data\.test ends before it starts"),
        ({"metrics": []}, r"metrics and baseline must be objects"),
        ({"metrics": {"test": 0.3}}, r"metrics\.test: must be an object"),
        ({"metrics": {"test": {"accuracy": True}}}, r"metrics\.test: accuracy must be a number in \[0, 1\]"),
        (
            {"metrics": {"test": {"accuracy": 0.3, "samples": -1}}},
            r"metrics\.test: samples must be a non-negative integer, got -1",
        ),
        (
            {"metrics": {"test": {"accuracy": 0.3, "bits_per_char": -2.0}}},
            r"metrics\.test: bits_per_char must be a finite number >= 0, got -2\.0",
        ),
        ({"baseline": {"kneser_ney": [0.7]}}, r"baseline\.kneser_ney must be an object"),
        (
            {"baseline": {"kneser_ney": {"test": {"accuracy": 0.7, "bits_per_char": 1.3, "samples": 5}}}},
            r"baseline\.kneser_ney\.test: samples 5 differs from the \d+ positions in data",
        ),
        (
            {"baseline": {"kneser_ney": {"validation": {"accuracy": 0.7, "bits_per_char": -1}}}},
            r"baseline\.kneser_ney\.validation: bits_per_char must be a finite number >= 0",
        ),
        ({"n_out": 28}, r"n_out must be 27, the alphabet's size"),
        ({"hyperparameters": [10]}, r"hyperparameters must be an object"),
    ],
)
def test_each_malformed_field_is_named(
    small_artifact: Path, tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    directory = attacked_copy(small_artifact, tmp_path / "edited", Attack("", lambda d: None, ""))
    edit_manifest(directory, **changes)
    with pytest.raises(ArtifactError, match=rf"manifest\.json: {message}"):
        load(directory)


def test_a_manifest_that_is_not_an_object_is_refused(small_artifact: Path, tmp_path: Path) -> None:
    directory = attacked_copy(small_artifact, tmp_path / "edited", Attack("", lambda d: None, ""))
    (directory / "manifest.json").write_text("[1, 2]")
    with pytest.raises(ArtifactError, match=r"manifest\.json: expected a JSON object"):
        load(directory)


def test_a_weights_file_over_the_limit_is_refused_before_it_is_read(
    small_artifact: Path, tmp_path: Path
) -> None:
    directory = attacked_copy(small_artifact, tmp_path / "large", Attack("", lambda d: None, ""))
    with open(directory / "weights.npz", "r+b") as stream:
        stream.truncate(70 << 20)  # sparse: no disk is written
    with pytest.raises(ArtifactError, match=r"weights\.npz: 73,400,320 bytes, over the limit of 67,108,864"):
        load(directory)


def test_npy_format_2_loads_and_an_unknown_format_is_unreadable(small_artifact: Path, tmp_path: Path) -> None:
    directory = attacked_copy(small_artifact, tmp_path / "v2", Attack("", lambda d: None, ""))
    members = current_members(directory)
    stream = io.BytesIO()
    npy.write_array(stream, params(directory)["W"], version=(2, 0))
    write_weights(directory, {**members, "W": stream.getvalue()})
    assert load(directory).params["W"].tobytes() == params(small_artifact)["W"].tobytes()
    version_3 = bytearray(stream.getvalue())
    version_3[6] = 3  # the major version byte after the magic string
    write_weights(directory, {**members, "W": bytes(version_3)})
    with pytest.raises(ArtifactError, match=r"weights\.npz: unreadable \(.npy format version \(3, 0\)"):
        load(directory)
