"""`python -m service` as a real process over loopback TCP: start-up, answers, limits, shutdown."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from model.artifact import load, sha256_file
from model.rnn import generate
from tests.utils.artifacts import build_artifact
from tests.utils.server import REPO_ROOT, ServerProcess, free_port, running_server, service_env

TEXTS = [
    "harles dar",
    "the origin of species",
    "natural selection",
    "a",
    "dar",
    "struggle for life",
    "x" * 2000,
]


def test_health_and_predict_over_tcp(server: ServerProcess, client: Any) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        health = http.get("/health")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        response = http.post("/predict-next", json={"text": "harles dar", "top_k": 3})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == client.post("/predict-next", json={"text": "harles dar", "top_k": 3}).json()
    assert "server" not in response.headers  # no version banner


def requests_for(index: int) -> list[tuple[str, dict[str, Any]]]:
    """A different mix for each client: cached and uncached windows, batch, sampling, LSTM."""
    text = TEXTS[index % len(TEXTS)]
    return [
        ("/predict-next", {"text": text, "top_k": 5}),
        ("/predict-next", {"text": f"{text} {index}th variation", "top_k": 27}),
        ("/predict-next/batch", {"texts": TEXTS[: 1 + index % len(TEXTS)], "top_k": 2}),
        ("/generate", {"text": text, "n": 30, "temperature": 0.7, "seed": index}),
        ("/accuracy", {"text": "the origin of species by means of natural selection " * (1 + index % 3)}),
        ("/lstm/step", {"x": [index % 2, 1, (index // 2) % 2]}),
    ]


def test_64_concurrent_clients_get_the_sequential_answers(server: ServerProcess) -> None:
    clients = 64
    with httpx.Client(base_url=server.base_url, timeout=30.0) as http:
        sequential = [
            [http.post(path, json=body).json() for path, body in requests_for(i)] for i in range(clients)
        ]
    start = threading.Barrier(clients, timeout=30.0)

    def run(index: int) -> list[Any]:
        with httpx.Client(base_url=server.base_url, timeout=30.0) as http:
            start.wait()  # all 64 connections fire at once
            answers = []
            for path, body in requests_for(index):
                response = http.post(path, json=body)
                assert response.status_code == 200, (path, response.text)
                answers.append(response.json())
            return answers

    with ThreadPoolExecutor(max_workers=clients) as pool:
        concurrent = list(pool.map(run, range(clients), timeout=120))
    assert concurrent == sequential


def test_body_limit_over_tcp(server: ServerProcess) -> None:
    limit = {"detail": "Request body is larger than the limit of 1000000 bytes (MAX_BODY_BYTES)"}
    with httpx.Client(base_url=server.base_url, timeout=30.0) as http:
        declared = http.post(
            "/predict-next", content=b" " * 1_000_001, headers={"content-type": "application/json"}
        )
        assert (declared.status_code, declared.json()) == (413, limit)

        def chunks() -> Iterator[bytes]:
            for _ in range(300):
                yield b" " * 10_000  # 3 MB in all, sent without a Content-Length

        streamed = http.post("/predict-next", content=chunks(), headers={"content-type": "application/json"})
        assert (streamed.status_code, streamed.json()) == (413, limit)
        assert http.get("/health").status_code == 200  # the server carries on


def test_access_log_has_one_line_per_request_and_no_body(server: ServerProcess) -> None:
    marker = "unmistakable marker text"
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        http.post("/predict-next", json={"text": marker})
        http.post("/predict-next", json={"text": marker, "top_k": 0})
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and '"POST /predict-next" 422' not in server.log():
        time.sleep(0.05)
    log = server.log()
    assert '"POST /predict-next" 200' in log
    assert '"POST /predict-next" 422' in log
    assert "marker" not in log
    assert "Traceback" not in log


# --- start-up ---------------------------------------------------------------------------------


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
    assert line == f"error: {missing}: artifact directory not found"


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
    manifest_path = artifact_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["metrics"]["heldout"]
    manifest_path.write_text(json.dumps(manifest))
    line = start_and_expect_failure(service_env(artifact_dir, free_port()))
    assert line == f"error: {manifest_path}: field metrics.heldout: missing"


def rewrite_weights(artifact_dir: Path, arrays: dict[str, Any], allow_pickle: bool = False) -> Path:
    """New weights.npz with the manifest's checksum updated, so only the content is wrong."""
    weights = artifact_dir / "weights.npz"
    with open(weights, "wb") as stream:
        np.savez(stream, allow_pickle=allow_pickle, **arrays)
    manifest_path = artifact_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["weights_sha256"] = sha256_file(weights)
    manifest_path.write_text(json.dumps(manifest))
    return weights


def test_manifest_with_another_alphabet_is_refused(small_artifact: Path, tmp_path: Path) -> None:
    artifact_dir = copy_artifact(small_artifact, tmp_path / "alphabet")
    manifest_path = artifact_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["alphabet"] = "abcdefghijklmnopqrstuvwxyz "
    manifest_path.write_text(json.dumps(manifest))
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


def test_default_settings_serve_the_shipped_artifact(tmp_path: Path) -> None:
    shipped = REPO_ROOT / "artifacts" / "char-rnn-assignment"
    # Started as `make serve` does: from the repository root, without CHAR_RNN_ARTIFACT.
    with running_server(None, tmp_path / "server.log") as server:
        info = httpx.get(f"{server.base_url}/model", timeout=10.0).json()
    manifest = load(shipped).manifest
    assert info["name"] == "char-rnn-assignment"
    assert (info["n_hidden"], info["seq_length"]) == (manifest["n_hidden"], manifest["seq_length"])
    assert info["weights_sha256"] == manifest["weights_sha256"]


# --- graceful shutdown ------------------------------------------------------------------------


def test_sigterm_finishes_the_request_in_flight_refuses_new_ones_and_exits_0(tmp_path: Path) -> None:
    # A long window makes each generated character cost ~300 small matrix products.
    artifact_dir = build_artifact(tmp_path / "long-window", n_hidden=64, seq_length=300, steps=1)
    params = load(artifact_dir).params
    prompt = np.zeros(300, dtype=np.int64)
    started = time.perf_counter()
    generate(params, prompt, 50, 300)
    per_char = (time.perf_counter() - started) / 50
    n = int(min(1000, max(300, 2.0 / per_char)))  # about two seconds of work in the server

    with running_server(artifact_dir, tmp_path / "server.log", GRACEFUL_SHUTDOWN_SECONDS="60") as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        outcome: dict[str, Any] = {}

        def slow_request() -> None:
            try:
                response = httpx.post(
                    f"{server.base_url}/generate", json={"text": "origin of species", "n": n}, timeout=120.0
                )
                outcome["response"] = response
            except httpx.HTTPError as error:  # recorded, then reported by the assertions below
                outcome["error"] = error
            outcome["finished"] = time.monotonic()

        worker = threading.Thread(target=slow_request)
        worker.start()
        time.sleep(0.5)  # the request has reached the handler
        assert worker.is_alive(), "the request finished before SIGTERM; it is not in flight"
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()

        refused = wait_for_refusal(port, timeout=5.0)
        assert refused, "new connections were still accepted after SIGTERM"
        assert worker.is_alive(), "the slow request should still be running while new ones are refused"

        worker.join(timeout=120)
        assert not worker.is_alive()
        assert "error" not in outcome, outcome.get("error")
        response = outcome["response"]
        assert response.status_code == 200
        assert len(response.json()["continuation"]) == n
        assert outcome["finished"] > signalled
        assert server.process.wait(timeout=30) == 0
    log = server.log()
    assert '"POST /generate" 200' in log
    assert "Shutting down" in log and "Finished server process" in log


def wait_for_refusal(port: int, timeout: float) -> bool:
    """True once a new TCP connection to the port is refused (the listening socket is closed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except ConnectionRefusedError:
            return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def test_sigterm_on_an_idle_server_exits_0(server_factory_dir: Path) -> None:
    with running_server(server_factory_dir, server_factory_dir.parent / "idle.log") as server:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0


@pytest.fixture
def server_factory_dir(small_artifact: Path, tmp_path: Path) -> Path:
    return copy_artifact(small_artifact, tmp_path / "artifact")


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
