"""The installed commands: each console script and its `python -m` form print the package's
version, training needs no extra, and the commands work from any directory."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from model import artifact
from model.artifact import CHECKOUT_ARTIFACTS, ArtifactError, committed_artifacts
from model.version import DISTRIBUTION, package_version
from service import settings
from service.settings import Settings
from tests.utils.server import REPO_ROOT
from training import evaluate

COMMANDS = {
    "char-rnn-serve": "service",
    "char-rnn-train": "training",
    "char-rnn-evaluate": "training.evaluate",
}
BIN = Path(sys.executable).parent


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("script", "module"), COMMANDS.items())
def test_each_command_prints_the_version_from_the_package_metadata(
    script: str, module: str, tmp_path: Path
) -> None:
    expected = f"{DISTRIBUTION} {package_version()}\n"
    assert package_version() != "0+unknown"
    for command in ([str(BIN / script), "--version"], [sys.executable, "-m", module, "--version"]):
        result = run(command, tmp_path)
        assert (result.returncode, result.stdout, result.stderr) == (0, expected, ""), command


@pytest.mark.parametrize("script", COMMANDS)
def test_each_console_script_names_itself_in_its_usage(script: str, tmp_path: Path) -> None:
    result = run([str(BIN / script), "--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {script} ")


def test_training_needs_no_extra() -> None:
    # tqdm draws training's progress bars: a base dependency, not an extra's.
    base = {Requirement(line).name for line in requires(DISTRIBUTION) or [] if "extra ==" not in line}
    assert "tqdm" in base
    assert "train" not in (line.split("extra ==")[-1].strip(" '\"") for line in requires(DISTRIBUTION) or [])


def test_the_training_command_line_imports_and_answers(tmp_path: Path) -> None:
    result = run([sys.executable, "-m", "training", "--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--recipe" in result.stdout


def test_the_committed_artifacts_are_found_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CHECKOUT_ARTIFACTS == REPO_ROOT / "artifacts"
    monkeypatch.chdir(tmp_path)
    assert committed_artifacts() == CHECKOUT_ARTIFACTS
    assert Settings().artifact_paths == (CHECKOUT_ARTIFACTS,)
    (tmp_path / "artifacts").mkdir()  # a directory of that name here is the one meant
    assert Settings().artifact_paths == (tmp_path / "artifacts",)


def test_evaluate_from_another_directory_without_artifacts_says_where_it_looked(tmp_path: Path) -> None:
    result = run([sys.executable, "-m", "training.evaluate", "--artifact", "nowhere"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1


def test_without_any_artifacts_directory_the_one_line_names_both_places(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = tmp_path / "installed" / "artifacts"
    monkeypatch.setattr(artifact, "CHECKOUT_ARTIFACTS", nowhere)
    monkeypatch.setattr(settings, "CHECKOUT_ARTIFACTS", nowhere)
    monkeypatch.setattr(evaluate, "CHECKOUT_ARTIFACTS", nowhere)
    monkeypatch.chdir(tmp_path)
    assert Settings().missing_artifacts() == (
        f"no artifact directory at {tmp_path / 'artifacts'} nor {nowhere}; point to one with --artifacts DIR "
        "or CHAR_RNN_ARTIFACTS=DIR (or a single artifact with --artifact DIR or CHAR_RNN_ARTIFACT=DIR)"
    )
    with pytest.raises(
        ArtifactError, match=f"^no artifact directory at {tmp_path / 'artifacts'} nor {nowhere}: "
    ):
        evaluate.default_artifacts()
