"""Artifacts under faults: a writer killed between its two renames, a weights file swapped while
it is loaded, and a full disk."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from model import artifact
from model.artifact import ArtifactError, load, save
from model.rnn import init_params
from tests.utils.artifacts import tiny_manifest

MANIFEST = tiny_manifest("tiny", metrics={"train": {"accuracy": 0.5}})
REPO_ROOT = Path(__file__).resolve().parents[2]

# save() with force, in a process killed (os._exit, no handler runs) right after its first rename.
KILLED_SAVE = textwrap.dedent(
    """
    import os, sys
    from model.artifact import save
    from model.rnn import init_params
    from tests.model.test_artifact_faults import MANIFEST
    real_rename = os.rename
    def rename(source, destination):
        real_rename(source, destination)
        if ".old-" in str(destination):
            os._exit(9)
    os.rename = rename
    save(sys.argv[1], init_params(27, 6, 27, seed=8), MANIFEST, force=True)
    """
)


def test_a_save_killed_between_its_renames_never_loses_the_last_artifact(tmp_path: Path) -> None:
    target = save(tmp_path / "model", init_params(27, 6, 27, seed=3), MANIFEST)
    before = load(target).params
    killed = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(target)], cwd=REPO_ROOT, check=False)
    assert killed.returncode == 9
    assert not target.exists()  # the window the kill hit: the old artifact moved aside
    # What the next run does before it trains (training.pipeline), then what it would load.
    artifact.recover_interrupted_save(target)
    artifact.check_target(target, force=True)
    artifact.remove_stale_temporaries(target)
    after = load(target).params
    assert all(np.array_equal(before[name], after[name]) for name in before)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_the_hash_checked_is_of_the_bytes_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = save(tmp_path / "first", init_params(27, 6, 27, seed=3), MANIFEST)
    second = save(tmp_path / "second", init_params(27, 6, 27, seed=4), MANIFEST)
    weights = first / artifact.WEIGHTS_FILE

    def swap() -> None:  # another writer replaces the file right after the hash
        os.replace(second / artifact.WEIGHTS_FILE, weights)

    hash_file, hash_bytes = artifact.sha256_file, artifact.sha256_bytes

    def hash_file_then_swap(path: Path) -> str:
        digest = hash_file(path)
        swap()
        return digest

    def hash_bytes_then_swap(raw: bytes) -> str:
        digest = hash_bytes(raw)
        swap()
        return digest

    monkeypatch.setattr(artifact, "sha256_file", hash_file_then_swap)
    monkeypatch.setattr(artifact, "sha256_bytes", hash_bytes_then_swap)
    try:
        loaded = load(first)
    except ArtifactError as error:  # refused is as good as consistent
        assert "checksum mismatch" in str(error)
        return
    expected = init_params(27, 6, 27, seed=3)
    assert all(np.array_equal(expected[name], loaded.params[name]) for name in expected)


def test_a_full_disk_is_reported_at_once_naming_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", no_space)
    with pytest.raises(OSError) as caught:
        save(tmp_path / "model", init_params(27, 6, 27, seed=3), MANIFEST)
    assert caught.value.errno == errno.ENOSPC
    assert str(caught.value).startswith("[Errno 28] No space left on device: ")
    assert f".model.tmp-{os.getpid()}-" in str(caught.value) and "weights.npz" in str(caught.value)
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_a_run_without_room_for_its_files_is_refused_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training import pipeline

    usage = shutil._ntuple_diskusage(total=10_000_000, used=9_000_000, free=1_000_000)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage)
    with pytest.raises(OSError) as caught:
        pipeline.check_free_space(tmp_path / "model", 200_000)
    assert str(caught.value) == (
        f"--out {tmp_path / 'model'}: 1,000,000 bytes free on its disk, a run needs about 2,000,000 "
        "(10 copies of its weights: checkpoints and the artifact)"
    )
    pipeline.check_free_space(tmp_path / "model", 100_000)  # room enough
