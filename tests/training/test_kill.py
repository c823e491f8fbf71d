"""SIGKILL during training or during the artifact write never damages an existing artifact and
never leaves a partial directory under the artifact's name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from model.artifact import load, save
from model.rnn import init_params
from tests.utils.artifacts import tiny_manifest

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = tiny_manifest("victim")

# A writer that pauses inside save(), after weights.npz and manifest.json are in the temporary
# directory and before the rename, and tells the test it is there.
PAUSING_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from model.rnn import init_params
    from model.artifact import save

    target, ready = Path(sys.argv[1]), Path(sys.argv[2])

    def pause(directory):
        ready.write_text(str(directory))
        time.sleep(60)

    manifest = {"name": "victim", "architecture": "rnn", "n_hidden": 6, "context": 4,
                "hyperparameters": {"seq_length": 4, "dtype": "float64"}, "metrics": {}}
    save(target, init_params(27, 6, 27, seed=99), manifest, force=True, extra_files=pause)
    """
)


def wait_for(path: Path, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, "writer exited early"
        assert time.monotonic() < deadline, "writer never reached the pause"
        time.sleep(0.02)


def test_sigkill_mid_write_keeps_the_old_artifact(tmp_path: Path) -> None:
    target = save(tmp_path / "victim", init_params(27, 6, 27, seed=1), MANIFEST)
    before = {path.name: path.read_bytes() for path in target.iterdir()}
    ready = tmp_path / "ready"
    process = subprocess.Popen([sys.executable, "-c", PAUSING_WRITER, str(target), str(ready)], cwd=ROOT)
    try:
        wait_for(ready, process)
        assert Path(ready.read_text()).is_dir()  # the new artifact is half-way, in its temporary home
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        process.kill()
    assert {path.name: path.read_bytes() for path in target.iterdir()} == before
    np.testing.assert_array_equal(load(target).params["W"], init_params(27, 6, 27, seed=1)["W"])
    leftovers = [path.name for path in tmp_path.iterdir() if path.name not in ("victim", "ready")]
    assert all(name.startswith(".victim.tmp-") for name in leftovers)  # hidden, never loaded by name


@pytest.mark.parametrize("delay", [0.3, 0.6, 0.9, 1.2])
def test_sigkill_during_cli_training_leaves_old_artifact_or_new_complete_one(
    tmp_path: Path, delay: float
) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the origin of species by means of natural selection " * 60)
    target = save(tmp_path / "victim", init_params(27, 6, 27, seed=1), MANIFEST)
    old_weights = (target / "weights.npz").read_bytes()
    command = [sys.executable, "-m", "training", "--corpus", str(corpus), "--out", str(target), "--force"]
    command += ["--hidden", "32", "--seq-length", "4", "--samples", "400", "--epochs", "3", "--no-progress"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
    artifact = load(target)  # whatever the moment of the kill, what is there loads and verifies
    if (target / "weights.npz").read_bytes() != old_weights:
        assert artifact.manifest["n_hidden"] == 32 and len(artifact.manifest["history"]) == 3
