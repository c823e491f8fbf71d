"""The manifest's record of the text trained on and of a refit: a well-formed one loads, and
each malformed or dishonest field is refused by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from model.artifact_checks import ArtifactError, check_fields, sign
from tests.utils.attacks import read_manifest


def refitted(small_artifact: Path) -> dict[str, Any]:
    """The small artifact's manifest as a refit would write it: trained on all the text before
    the test split, with no figure of its own on validation."""
    manifest = read_manifest(small_artifact)
    data, metrics = manifest["data"], manifest["metrics"]
    end = data["test"]["start"]
    refit = {
        "epochs": 2,
        "text": {"start": 0, "end": end},
        "history": [{"epoch": 1}, {"epoch": 2}],
        "seconds": 1.5,
        "cpu_seconds": 3.0,
        "validation_before_refit": metrics["validation"],
    }
    return {
        **manifest,
        "data": {**data, "train": {"start": 1, "end": end}},
        "metrics": {"test": metrics["test"]},
        "best_epoch": 2,
        "training_seconds": 4.0,
        "refit": refit,
    }


def test_a_refit_manifest_passes(small_artifact: Path) -> None:
    check_fields(Path("manifest.json"), sign(refitted(small_artifact)))


def edited_refit(manifest: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**manifest, "refit": {**manifest["refit"], **changes}}


REFUSALS = [
    (lambda m: {**m, "refit": [2]}, r"refit must be an object"),
    (lambda m: edited_refit(m, epochs=3), r"refit\.epochs must be best_epoch, a positive integer"),
    (lambda m: edited_refit(m, epochs=True), r"refit\.epochs must be best_epoch"),
    (lambda m: edited_refit(m, history=[{}]), r"refit\.history must hold one record per refit epoch"),
    (lambda m: edited_refit(m, seconds=4.5), r"refit\.seconds must be a number in \[0, training_seconds\]"),
    (lambda m: edited_refit(m, seconds="1"), r"refit\.seconds must be a number"),
    (lambda m: edited_refit(m, text={"start": 0}), r"refit\.text must hold integer start and end"),
    (lambda m: edited_refit(m, text={"start": 0, "end": 9}), r"refit\.text must end where data\.train ends"),
    (
        lambda m: {**m, "data": {**m["data"], "train": {"start": 1, "end": 9999}}},
        r"metrics\.test is measured on text the weights trained on",
    ),
    (
        lambda m: {
            **edited_refit(m, text={"start": 0, "end": 9999}),
            "data": {**m["data"], "train": {"start": 1, "end": 9999}},
            "metrics": {},
        },
        r"refit\.text reaches into the test split",
    ),
    (
        lambda m: {**m, "metrics": {**m["metrics"], "validation": m["refit"]["validation_before_refit"]}},
        r"metrics\.validation is measured on text the weights trained on",
    ),
    (
        lambda m: edited_refit(m, validation_before_refit=None),
        r"refit\.validation_before_refit: must be an object",
    ),
    (
        lambda m: edited_refit(m, validation_before_refit={"accuracy": 0.5, "samples": 3}),
        r"refit\.validation_before_refit: samples 3 differs from the \d+ positions in data",
    ),
    (
        lambda m: edited_refit(m, validation_before_refit={"accuracy": 0.5}),
        r"refit\.validation_before_refit: must hold accuracy, bits_per_char and samples",
    ),
]


@pytest.mark.parametrize(("edit", "message"), REFUSALS)
def test_each_malformed_refit_field_is_refused_by_name(small_artifact: Path, edit: Any, message: str) -> None:
    manifest = sign(edit(refitted(small_artifact)))
    with pytest.raises(ArtifactError, match=rf"^manifest\.json: {message}"):
        check_fields(Path("manifest.json"), manifest)


def test_a_model_trained_before_validation_may_record_validation(small_artifact: Path) -> None:
    manifest = read_manifest(small_artifact)
    trained, validation = manifest["data"]["train"], manifest["data"]["validation"]
    assert trained["end"] == validation["start"]  # ends where validation starts: no overlap
    check_fields(Path("manifest.json"), sign(manifest))
    reaching = {"start": trained["start"], "end": validation["start"] + 1}
    metrics = {split: manifest["metrics"][split] for split in ("validation", "test")}
    overlapping = sign({**manifest, "data": {**manifest["data"], "train": reaching}, "metrics": metrics})
    with pytest.raises(ArtifactError, match=r"metrics\.validation is measured on text the weights trained"):
        check_fields(Path("manifest.json"), overlapping)
