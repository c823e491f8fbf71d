"""Artifacts: round trip, atomic replacement, and every kind of damage refused by name."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model import artifact, lstm_lm
from model.artifact import ArtifactError, load, save, sha256_file
from model.language_model import ARCHITECTURES
from model.rnn import PARAM_NAMES, Params, init_params
from tests.utils.artifacts import tiny_manifest
from tests.utils.attacks import edit_manifest, read_manifest, write_manifest

MANIFEST = tiny_manifest("tiny", metrics={"train": {"accuracy": 0.5}})


def tiny_params() -> Params:
    return init_params(27, 6, 27, seed=3)


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    return save(tmp_path / "model", tiny_params(), MANIFEST)


def rewrite_manifest(directory: Path, **changes: Any) -> None:
    """Change fields and re-sign the manifest, so that only the change itself is wrong."""
    edit_manifest(directory, **changes)


def rewrite_weights(directory: Path, arrays: dict[str, np.ndarray], allow_pickle: bool = False) -> None:
    """Replace weights.npz and update the manifest's checksum, so only the content is wrong."""
    path = directory / artifact.WEIGHTS_FILE
    with open(path, "wb") as stream:
        np.savez(stream, allow_pickle=allow_pickle, **arrays)
    rewrite_manifest(directory, weights_sha256=sha256_file(path))


def test_round_trip_keeps_weights_and_manifest(saved: Path) -> None:
    loaded = load(saved)
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(loaded.params[name], tiny_params()[name])
    assert loaded.context == 4 and loaded.name == "tiny"
    assert loaded.architecture is ARCHITECTURES["rnn"]
    assert loaded.model.context == 4 and loaded.model.params is loaded.params
    assert loaded.manifest["format_version"] == artifact.FORMAT_VERSION
    assert loaded.manifest["alphabet"] == " abcdefghijklmnopqrstuvwxyz"
    assert loaded.manifest["weights_sha256"] == sha256_file(saved / "weights.npz")
    assert loaded.manifest["metrics"] == {"train": {"accuracy": 0.5}}
    assert sorted(path.name for path in saved.iterdir()) == ["manifest.json", "weights.npz"]


def test_an_lstm_round_trips_with_its_own_arrays(tmp_path: Path) -> None:
    params = lstm_lm.init_params(27, 5, 27, seed=2)
    loaded = load(save(tmp_path / "lstm", params, {**MANIFEST, "architecture": "lstm", "n_hidden": 5}))
    assert loaded.architecture is ARCHITECTURES["lstm"]
    assert loaded.params["U"].shape == (20, 27)
    for name in lstm_lm.PARAM_NAMES:
        np.testing.assert_array_equal(loaded.params[name], params[name])


def test_weights_npz_holds_exactly_the_five_arrays(saved: Path) -> None:
    with zipfile.ZipFile(saved / "weights.npz") as archive:
        assert sorted(archive.namelist()) == sorted(f"{name}.npy" for name in PARAM_NAMES)


def test_existing_artifact_is_replaced_only_with_force(saved: Path) -> None:
    with pytest.raises(FileExistsError, match="pass --force"):
        save(saved, init_params(27, 6, 27, seed=4), MANIFEST)
    np.testing.assert_array_equal(load(saved).params["W"], tiny_params()["W"])
    save(saved, init_params(27, 6, 27, seed=4), MANIFEST, force=True)
    np.testing.assert_array_equal(load(saved).params["W"], init_params(27, 6, 27, seed=4)["W"])
    assert [path.name for path in saved.parent.iterdir()] == ["model"]


def test_exception_mid_write_leaves_no_artifact(tmp_path: Path) -> None:
    def fail(directory: Path) -> None:
        assert (directory / "weights.npz").exists()  # the failure happens mid-write
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save(tmp_path / "new", tiny_params(), MANIFEST, extra_files=fail)
    assert list(tmp_path.iterdir()) == []


def test_exception_mid_write_keeps_the_old_artifact_intact(saved: Path) -> None:
    before = {path.name: path.read_bytes() for path in saved.iterdir()}

    def fail(directory: Path) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        save(saved, init_params(27, 6, 27, seed=9), MANIFEST, force=True, extra_files=fail)
    assert {path.name: path.read_bytes() for path in saved.iterdir()} == before
    assert [path.name for path in saved.parent.iterdir()] == ["model"]
    load(saved)


def test_missing_directory_and_files_are_named(saved: Path, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="absent: artifact directory not found"):
        load(tmp_path / "absent")
    (saved / "weights.npz").unlink()
    with pytest.raises(ArtifactError, match=r"weights\.npz: file not found"):
        load(saved)
    (saved / "manifest.json").unlink()
    with pytest.raises(ArtifactError, match=r"manifest\.json: file not found"):
        load(saved)


def test_corrupted_weights_fail_the_checksum(saved: Path) -> None:
    path = saved / "weights.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"weights\.npz: checksum mismatch"):
        load(saved)


def test_another_alphabet_is_refused(saved: Path) -> None:
    rewrite_manifest(saved, alphabet="abcdefghijklmnopqrstuvwxyz ")
    with pytest.raises(
        ArtifactError, match=r"manifest\.json: alphabet 'abcdefghijklmnopqrstuvwxyz ' differs"
    ):
        load(saved)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format_version": 99}, "format_version 99 is not supported"),
        ({"format_version": 1}, r"format_version 1 is not supported \(expected 2\)"),
        ({"architecture": "gru"}, r"architecture: 'gru' is not one of \['lstm', 'lstm-contexts', 'rnn'\]"),
        ({"context": 0}, "context must be a positive integer"),
        ({"n_hidden": "400"}, "n_hidden must be a positive integer"),
    ],
)
def test_inconsistent_manifest_fields_are_named(
    saved: Path, changes: dict[str, object], message: str
) -> None:
    rewrite_manifest(saved, **changes)
    with pytest.raises(ArtifactError, match=message):
        load(saved)


@pytest.mark.parametrize("name", ["x\n\x1b[2J", "", "-dash", 7])
def test_an_unsafe_model_name_is_refused_naming_the_manifest(saved: Path, name: object) -> None:
    rewrite_manifest(saved, name=name)
    with pytest.raises(ArtifactError) as raised:
        load(saved)
    assert str(raised.value) == (
        f"{saved / artifact.MANIFEST_FILE}: field name: name {name!r} is not 1 to 64 of "
        "A-Za-z0-9._- starting with a letter or digit"
    )


def test_without_a_name_the_directory_name_must_be_safe(saved: Path) -> None:
    manifest = read_manifest(saved)
    del manifest["name"]
    write_manifest(saved, manifest)
    assert load(saved).name == "model"
    unsafe = saved.rename(saved.parent / "two words")
    with pytest.raises(ArtifactError, match=r"two words/manifest\.json: field name: name 'two words' is not"):
        load(unsafe)


def test_a_manifest_without_architecture_or_context_is_refused(saved: Path) -> None:
    path = saved / artifact.MANIFEST_FILE
    manifest = json.loads(path.read_text())
    del manifest["architecture"], manifest["context"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"missing fields \['architecture', 'context'\]"):
        load(saved)


def test_manifest_that_is_not_json_is_refused(saved: Path) -> None:
    (saved / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match=r"manifest\.json: not valid JSON"):
        load(saved)


def test_manifest_disagreeing_on_hidden_size_is_a_shape_mismatch(saved: Path) -> None:
    rewrite_manifest(saved, n_hidden=7)
    with pytest.raises(
        ArtifactError, match=r"weights\.npz: U has shape \(6, 27\), expected \(7, 27\) \(shape"
    ):
        load(saved)


def test_wrong_array_shape_is_refused(saved: Path) -> None:
    arrays = dict(tiny_params())
    arrays["c"] = np.zeros(26)
    rewrite_weights(saved, arrays)
    with pytest.raises(ArtifactError, match=r"c has shape \(26,\), expected \(27,\) \(shape mismatch\)"):
        load(saved)


def test_missing_or_extra_arrays_are_refused(saved: Path) -> None:
    arrays = dict(tiny_params())
    arrays["extra"] = np.zeros(1)
    rewrite_weights(saved, arrays)
    with pytest.raises(ArtifactError, match="holds arrays"):
        load(saved)


def test_pickle_inside_the_npz_is_refused(saved: Path) -> None:
    arrays: dict[str, np.ndarray] = dict(tiny_params())
    arrays["b"] = np.array([{"payload": "anything"}] * 6, dtype=object)
    rewrite_weights(saved, arrays, allow_pickle=True)
    with pytest.raises(ArtifactError, match="contains a pickled object array, refused"):
        load(saved)


def test_non_finite_weights_are_refused(saved: Path) -> None:
    arrays = dict(tiny_params())
    arrays["W"] = arrays["W"].copy()
    arrays["W"][0, 0] = np.nan
    rewrite_weights(saved, arrays)
    with pytest.raises(ArtifactError, match="W contains NaN or infinity"):
        load(saved)


def test_weights_that_are_not_a_zip_are_refused(saved: Path) -> None:
    path = saved / "weights.npz"
    path.write_bytes(b"not a zip file at all")
    rewrite_manifest(saved, weights_sha256=sha256_file(path))
    with pytest.raises(ArtifactError, match=r"weights\.npz: unreadable"):
        load(saved)


def test_only_an_artifact_is_ever_replaced(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(FileExistsError, match=r"notes\.txt: a file, not an artifact directory; refusing"):
        save(notes, tiny_params(), MANIFEST, force=True)
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "thesis.tex").write_text("chapter one")
    with pytest.raises(
        FileExistsError, match=r"documents: a directory that is not an artifact \(no manifest"
    ):
        save(documents, tiny_params(), MANIFEST, force=True)
    link = tmp_path / "link"
    link.symlink_to(documents)
    with pytest.raises(FileExistsError, match=r"link: a symbolic link, not an artifact directory"):
        save(link, tiny_params(), MANIFEST, force=True)
    assert notes.read_text() == "mine" and [p.name for p in documents.iterdir()] == ["thesis.tex"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["documents", "link", "notes.txt"]


def test_an_empty_directory_is_written_into(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert load(save(tmp_path / "empty", tiny_params(), MANIFEST)).name == "tiny"
    assert [path.name for path in tmp_path.iterdir()] == ["empty"]


def test_save_refuses_what_load_would_refuse_and_leaves_nothing(tmp_path: Path) -> None:
    float32_claimed = {**MANIFEST, "hyperparameters": {"seq_length": 4, "dtype": "float32"}}
    with pytest.raises(ArtifactError, match=r"weights\.npz: U has dtype <f8, expected <f4"):
        save(tmp_path / "model", tiny_params(), float32_claimed)
    assert list(tmp_path.iterdir()) == []


def test_save_signs_the_manifest_and_load_checks_the_signature(saved: Path) -> None:
    manifest = json.loads((saved / artifact.MANIFEST_FILE).read_text())
    assert manifest["manifest_sha256"] == artifact.sign(manifest)["manifest_sha256"]
    (saved / artifact.MANIFEST_FILE).write_text(json.dumps({**manifest, "name": "renamed"}))
    with pytest.raises(
        ArtifactError, match=r"manifest\.json: manifest_sha256 mismatch, the manifest was edited"
    ):
        load(saved)
