"""service/registry.py: which directories are served, the default model, what the models share, and
refusals at start."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from model.artifact import Artifact, ArtifactError, load
from service.admission import Refused
from service.registry import ModelRegistry, UnknownModel, artifact_directories, best, load_registry
from service.served import ServedModel, own_refusals
from service.settings import SettingsError
from tests.utils.attacks import edit_manifest
from tests.utils.client import ExplicitSettings
from tests.utils.server import REPO_ROOT, free_port, running_server, service_env


def served(artifact: Artifact, name: str, test_accuracy: float) -> ServedModel:
    """A served model on the artifact's weights under another name and recorded test accuracy."""
    metrics = {**artifact.manifest["metrics"], "test": {"accuracy": test_accuracy, "samples": 10}}
    manifest = {**artifact.manifest, "name": name, "metrics": metrics}
    return ServedModel(Artifact(artifact.path, artifact.params, manifest), max_text_chars=1000)


def test_the_default_is_the_best_test_accuracy_and_the_first_name_among_equals(artifact: Artifact) -> None:
    low, high, tied = (served(artifact, n, a) for n, a in (("a", 0.2), ("c", 0.4), ("b", 0.4)))
    assert ModelRegistry([low, high]).default is high
    assert best([low, high, tied]) is high  # max keeps the first of equals in the given order
    registry = ModelRegistry([low, high, tied])  # the registry orders by name first
    assert registry.names == ("a", "b", "c")
    assert registry.default is tied
    assert [info.default for info in registry.infos()] == [False, True, False]


def test_get_by_name_and_unknown_names(artifact: Artifact) -> None:
    first, second = served(artifact, "one", 0.1), served(artifact, "two", 0.3)
    registry = ModelRegistry([first, second], default="one")
    assert (registry.get(None), registry.get("one"), registry.get("two")) == (first, first, second)
    assert registry.info(None).name == "one" and registry.info(None).default is True
    with pytest.raises(UnknownModel) as raised:
        registry.get("three")
    assert str(raised.value) == "Unknown model 'three': the models served are one, two"
    assert raised.value.known == ("one", "two")


def test_default_model_must_be_served(artifact: Artifact) -> None:
    with pytest.raises(SettingsError) as raised:
        ModelRegistry([served(artifact, "one", 0.1)], default="two")
    assert str(raised.value) == "invalid setting DEFAULT_MODEL='two': not one of the models served (one)"


def test_a_registry_needs_distinct_names_and_at_least_one_model(artifact: Artifact) -> None:
    with pytest.raises(ValueError, match="at least one model"):
        ModelRegistry([])
    with pytest.raises(ValueError, match="same name"):
        ModelRegistry([served(artifact, "one", 0.1), served(artifact, "one", 0.2)])


def test_a_directory_of_artifacts_serves_each_but_hidden_ones(small_artifact: Path, tmp_path: Path) -> None:
    for name in ("b", "a", ".a.tmp-123"):
        shutil.copytree(small_artifact, tmp_path / name)
    (tmp_path / "README").write_text("not an artifact")
    settings = ExplicitSettings(CHAR_RNN_ARTIFACTS=(tmp_path,))
    assert artifact_directories(settings) == [tmp_path / "a", tmp_path / "b"]


def test_a_list_mixes_artifacts_and_directories_of_them(small_artifact: Path, tmp_path: Path) -> None:
    shutil.copytree(small_artifact, tmp_path / "many" / "x")
    missing = tmp_path / "absent"
    settings = ExplicitSettings(CHAR_RNN_ARTIFACTS=(missing, small_artifact, tmp_path / "many"))
    assert artifact_directories(settings) == [missing, small_artifact, tmp_path / "many" / "x"]
    with pytest.raises(ArtifactError) as raised:
        load_registry(settings)
    assert str(raised.value) == f"{missing}: artifact directory not found"


def test_one_artifact_is_served_alone(small_artifact: Path) -> None:
    settings = ExplicitSettings(CHAR_RNN_ARTIFACT=small_artifact)
    assert artifact_directories(settings) == [small_artifact]
    assert load_registry(settings).names == ("test-rnn-16",)


async def not_read() -> dict[str, Any]:
    raise AssertionError("a draining server refuses before it listens for a disconnect")


def test_the_models_share_one_pool_of_admitted_work_and_the_apps_counters(two_models: Path) -> None:
    refusals = own_refusals()
    passes: list[int] = []
    settings = ExplicitSettings(CHAR_RNN_ARTIFACTS=(two_models,), MAX_CONCURRENT_EVALUATIONS=3)
    lstm, rnn = load_registry(settings, refusals, passes.append, lambda: True).served
    assert lstm.admission.threads is rnn.admission.threads
    assert lstm.admission.threads.total_tokens == 3 * 2  # as many threads as they admit in all
    assert lstm.batcher is not rnn.batcher and lstm.batcher.observe == rnn.batcher.observe == passes.append
    with pytest.raises(Refused):  # draining
        anyio.run(rnn.admit, not_read, lambda check: None)
    assert refusals.labels("test-rnn-16", "draining")._value.get() == 1


def test_an_empty_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError) as raised:
        artifact_directories(ExplicitSettings(CHAR_RNN_ARTIFACTS=(tmp_path,)))
    assert str(raised.value) == f"{tmp_path}: no artifact directory in it (CHAR_RNN_ARTIFACTS)"


def test_two_artifacts_of_one_name_are_refused(small_artifact: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        shutil.copytree(small_artifact, tmp_path / name)
    with pytest.raises(ArtifactError) as raised:
        load_registry(ExplicitSettings(CHAR_RNN_ARTIFACTS=(tmp_path,)))
    assert str(raised.value) == (
        f"{tmp_path / 'b' / 'manifest.json'}: name 'test-rnn-16' is already served from {tmp_path / 'a'}"
    )


def start_and_expect_failure(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "service"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    return line


def test_one_bad_artifact_among_several_refuses_the_start(two_models: Path, tmp_path: Path) -> None:
    directory = shutil.copytree(two_models, tmp_path / "models")
    manifest_path = edit_manifest(directory / "lstm", context=0)
    env = service_env(None, free_port(), CHAR_RNN_ARTIFACTS=str(directory))
    assert (
        start_and_expect_failure(env) == f"error: {manifest_path}: context must be a positive integer, got 0"
    )


def test_an_unserved_default_model_refuses_the_start(two_models: Path) -> None:
    env = service_env(None, free_port(), CHAR_RNN_ARTIFACTS=str(two_models), DEFAULT_MODEL="gru")
    assert start_and_expect_failure(env) == (
        "error: invalid setting DEFAULT_MODEL='gru': not one of the models served (test-lstm-8, test-rnn-16)"
    )


def test_both_artifact_settings_refuse_the_start(two_models: Path) -> None:
    env = service_env(two_models / "lstm", free_port(), CHAR_RNN_ARTIFACTS=str(two_models))
    assert start_and_expect_failure(env) == (
        "error: invalid settings: set CHAR_RNN_ARTIFACT (one artifact) or CHAR_RNN_ARTIFACTS, not both"
    )


def test_the_start_logs_each_model_and_marks_the_default(two_models: Path, tmp_path: Path) -> None:
    with running_server(None, tmp_path / "server.log", CHAR_RNN_ARTIFACTS=str(two_models)) as server:
        log = server.log()
    assert f"serving test-lstm-8 (lstm 27-8-27, context 20) from {two_models / 'lstm'}" in log
    assert f"serving test-rnn-16 (rnn 27-16-27, context 10) [default] from {two_models / 'rnn'}" in log
    assert "models test-lstm-8, test-rnn-16 warmed up; ready" in log
    assert load(two_models / "rnn").name == "test-rnn-16"


def test_without_a_recorded_sentence_the_service_writes_it(artifact: Artifact) -> None:
    manifest = {key: value for key, value in artifact.manifest.items() if key not in ("sentence", "baseline")}
    manifest["metrics"] = {"test": {"accuracy": 0.25, "samples": 124}}
    recorded = ServedModel(Artifact(artifact.path, artifact.params, manifest), 1000).recorded
    assert (recorded.validation, recorded.train, recorded.baseline) == (None, None, None)
    assert recorded.sentence == (
        "The ReLU RNN guesses the next character correctly 25.0% of the time on 124 test positions, "
        "each from the 10 characters before it"
    )


def test_a_manifest_field_the_service_cannot_read_is_named(artifact: Artifact) -> None:
    manifest = {**artifact.manifest, "metrics": {"test": {"accuracy": 1.5, "samples": 10}}}
    with pytest.raises(ArtifactError) as raised:
        ServedModel(Artifact(artifact.path, artifact.params, manifest), 1000)
    assert str(raised.value) == (
        f"{artifact.path / 'manifest.json'}: field metrics.test.accuracy: "
        "Input should be less than or equal to 1"
    )
