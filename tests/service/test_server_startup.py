"""`python -m service` at start: its options, a refused artifact or setting, and the defaults."""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from model.artifact import DEFAULT_ARTIFACT, load, sha256_file
from tests.utils.attacks import edit_manifest, read_manifest, write_manifest
from tests.utils.server import (
    REPO_ROOT,
    ServerProcess,
    free_port,
    running_server,
    service_env,
    wait_until_healthy,
)


def start_and_expect_failure(env: dict[str, str]) -> str:
    """Run `python -m service`; it must exit non-zero at once with one line on stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "service"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


def copy_artifact(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_missing_artifact_directory(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-artifact"
    line = start_and_expect_failure(service_env(missing, free_port()))
    assert line == (
        f"error: no artifact directory at {missing}; point to one with --artifacts DIR or "
        "CHAR_RNN_ARTIFACTS=DIR (or a single artifact with --artifact DIR or CHAR_RNN_ARTIFACT=DIR)"
    )


def test_started_from_another_directory_it_serves_the_committed_artifacts(tmp_path: Path) -> None:
    with running_server(None, tmp_path / "server.log", cwd=tmp_path) as server:
        listed = httpx.get(f"{server.base_url}/models", timeout=10.0).json()["models"]
    assert [model["name"] for model in listed] == ["char-rnn-assignment", "darwin-lstm"]
    assert f"from {REPO_ROOT / 'artifacts' / 'darwin-lstm'}" in server.log()


def test_corrupted_weights_are_refused(small_artifact: Path, tmp_path: Path) -> None:
    artifact_dir = copy_artifact(small_artifact, tmp_path / "corrupt")
    weights = artifact_dir / "weights.npz"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    line = start_and_expect_failure(service_env(artifact_dir, free_port()))
    assert line.startswith(f"error: {weights}: checksum mismatch")


def test_missing_weights_file_is_refused(small_artifact: Path, tmp_path: Path) -> None:
    artifact_dir = copy_artifact(small_artifact, tmp_path / "no-weights")
    (artifact_dir / "weights.npz").unlink()
    line = start_and_expect_failure(service_env(artifact_dir, free_port()))
    assert line == f"error: {artifact_dir / 'weights.npz'}: file not found"


def test_manifest_without_recorded_metrics_is_refused(small_artifact: Path, tmp_path: Path) -> None:
    artifact_dir = copy_artifact(small_artifact, tmp_path / "no-metrics")
    manifest = read_manifest(artifact_dir)
    del manifest["metrics"]["test"]
    manifest_path = write_manifest(artifact_dir, manifest)  # re-signed: only the edit is wrong
    line = start_and_expect_failure(service_env(artifact_dir, free_port()))
    assert line == f"error: {manifest_path}: field metrics.test: missing"


def rewrite_weights(artifact_dir: Path, arrays: dict[str, Any], allow_pickle: bool = False) -> Path:
    """New weights.npz with the manifest's checksum updated, so only the content is wrong."""
    weights = artifact_dir / "weights.npz"
    with open(weights, "wb") as stream:
        np.savez(stream, allow_pickle=allow_pickle, **arrays)
    edit_manifest(artifact_dir, weights_sha256=sha256_file(weights))
    return weights


def test_manifest_with_another_alphabet_is_refused(small_artifact: Path, tmp_path: Path) -> None:
    artifact_dir = copy_artifact(small_artifact, tmp_path / "alphabet")
    manifest_path = edit_manifest(artifact_dir, alphabet="abcdefghijklmnopqrstuvwxyz ")
    line = start_and_expect_failure(service_env(artifact_dir, free_port()))
    assert line.startswith(f"error: {manifest_path}: alphabet 'abcdefghijklmnopqrstuvwxyz ' differs")


def test_weights_of_the_wrong_shape_are_refused(small_artifact: Path, tmp_path: Path) -> None:
    artifact_dir = copy_artifact(small_artifact, tmp_path / "shape")
    arrays = dict(load(small_artifact).params)
    arrays["W"] = arrays["W"][:, :-1]
    weights = rewrite_weights(artifact_dir, arrays)
    line = start_and_expect_failure(service_env(artifact_dir, free_port()))
    assert line.startswith(f"error: {weights}: W has shape (16, 15), expected (16, 16) (shape mismatch)")


def test_pickle_inside_the_weights_is_refused(small_artifact: Path, tmp_path: Path) -> None:
    artifact_dir = copy_artifact(small_artifact, tmp_path / "pickle")
    arrays: dict[str, Any] = dict(load(small_artifact).params)
    arrays["c"] = np.array([{"os.system": "echo pwned"}] * 27, dtype=object)
    weights = rewrite_weights(artifact_dir, arrays, allow_pickle=True)
    line = start_and_expect_failure(service_env(artifact_dir, free_port()))
    assert line == f"error: {weights}: contains a pickled object array, refused"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "PORT",
            "eighty",
            "error: invalid setting PORT='eighty': Input should be a valid integer, unable to parse",
        ),
        ("PORT", "70000", "error: invalid setting PORT='70000': Input should be less than or equal to 65535"),
        (
            "MAX_BATCH",
            "0",
            "error: invalid setting MAX_BATCH='0': Input should be greater than or equal to 1",
        ),
        ("LOG_LEVEL", "loud", "error: invalid setting LOG_LEVEL='loud': Input should be 'critical', 'error'"),
    ],
)
def test_invalid_settings_are_refused(small_artifact: Path, name: str, value: str, message: str) -> None:
    env = service_env(small_artifact, free_port())
    env[name] = value
    assert start_and_expect_failure(env).startswith(message)


def test_default_settings_serve_every_shipped_artifact(tmp_path: Path) -> None:
    shipped = REPO_ROOT / DEFAULT_ARTIFACT
    # Started as `make serve` does: from the repository root, without any artifact setting.
    with running_server(None, tmp_path / "server.log") as server:
        listed = httpx.get(f"{server.base_url}/models", timeout=10.0).json()["models"]
        info = httpx.get(f"{server.base_url}/model?model=char-rnn-assignment", timeout=10.0).json()
    directories = sorted(p.name for p in shipped.parent.iterdir() if not p.name.startswith("."))
    assert [model["name"] for model in listed] == directories
    manifest = load(shipped).manifest
    assert info["name"] == "char-rnn-assignment"
    assert (info["n_hidden"], info["context"]) == (manifest["n_hidden"], manifest["context"])
    assert info["weights_sha256"] == manifest["weights_sha256"]
    best = max(listed, key=lambda model: model["metrics"]["test"]["accuracy"])
    assert [model["name"] for model in listed if model["default"]] == [best["name"]]


WATCH_NUMPY_IMPORT = """
import importlib.abc, os, sys
seen = {}
class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "numpy" and "numpy" not in seen:
            seen["numpy"] = os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("OMP_NUM_THREADS")
sys.meta_path.insert(0, Watch())
import service.__main__
print(*seen["numpy"])
"""


def test_blas_threads_are_pinned_before_numpy_loads() -> None:
    env = {name: value for name, value in os.environ.items() if not name.endswith("NUM_THREADS")}
    result = subprocess.run(
        [sys.executable, "-c", WATCH_NUMPY_IMPORT],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["1", "1"], result.stderr


def test_help_prints_usage_and_exits() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service", "--help"],
        cwd=REPO_ROOT,
        env=service_env(None, free_port()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    usage = " ".join(result.stdout.split("\n\n")[0].split())  # argparse wraps at the terminal width
    assert usage == (
        "usage: python -m service [-h] [--host HOST] [--port PORT] [--artifact ARTIFACT] "
        "[--artifacts ARTIFACTS] [--version]"
    )
    assert "overrides CHAR_RNN_ARTIFACTS" in result.stdout
    assert "overrides CHAR_RNN_ARTIFACT" in result.stdout


def test_options_override_the_environment(small_artifact: Path, tmp_path: Path) -> None:
    port = free_port()
    # The environment names a missing artifact, an address no interface has and another port.
    env = {**service_env(tmp_path / "absent", free_port()), "HOST": "203.0.113.1"}
    args = ["--artifact", str(small_artifact), "--port", str(port), "--host", "127.0.0.1"]
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", *args], cwd=REPO_ROOT, env=env, stdout=log, stderr=log
        )
    try:
        wait_until_healthy(ServerProcess(process, f"http://127.0.0.1:{port}", log_path), timeout=30.0)
        answer = httpx.get(f"http://127.0.0.1:{port}/model", timeout=10.0).json()
    finally:
        process.kill()
        process.wait(timeout=10)
    assert answer["weights_sha256"] == load(small_artifact).manifest["weights_sha256"]


def test_a_bad_option_is_one_line_and_status_2(small_artifact: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service", "--port", "http"],
        cwd=REPO_ROOT,
        env=service_env(small_artifact, free_port()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "error: invalid setting PORT='http': Input should be a valid integer, "
        "unable to parse string as an integer\n"
    )


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("256.1.1.1", "invalid setting HOST='256.1.1.1': "),
        ("example.invalid", "invalid setting HOST='example.invalid': "),
    ],
)
def test_a_host_that_cannot_be_resolved_is_one_line_naming_it(host: str, reason: str) -> None:
    env = service_env(None, free_port())
    env["HOST"] = host
    line = start_and_expect_failure(env)
    assert line.startswith(f"error: {reason}"), line


def test_a_port_in_use_is_one_line_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = start_and_expect_failure(service_env(None, port))
    assert line == f"error: cannot listen on HOST='127.0.0.1' PORT={port}: Address already in use"


def test_max_connections_beyond_the_open_file_limit_is_refused() -> None:
    env = service_env(None, free_port(), MAX_CONNECTIONS="100000")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard >= 100_064:
        pytest.skip("the hard limit on open files fits 100,000 connections here")
    line = start_and_expect_failure(env)
    assert line == (
        f"error: invalid setting MAX_CONNECTIONS=100000: needs 100064 open files, the process may have "
        f"at most {hard} (ulimit -n)"
    )


def test_a_model_name_with_a_newline_and_escapes_is_refused(small_artifact: Path, tmp_path: Path) -> None:
    artifact_dir = copy_artifact(small_artifact, tmp_path / "bad-name")
    manifest_path = edit_manifest(artifact_dir, name="evil\n\x1b[31mforged")
    line = start_and_expect_failure(service_env(artifact_dir, free_port()))
    assert line == (
        f"error: {manifest_path}: field name: name 'evil\\n\\x1b[31mforged' is not 1 to 64 of "
        "A-Za-z0-9._- starting with a letter or digit"
    )
