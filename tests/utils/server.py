"""Real `python -m service` processes on loopback, for the tests and for bench/serving.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICE_ENV = (
    "CHAR_RNN_ARTIFACT",
    "CHAR_RNN_ARTIFACTS",
    "DEFAULT_MODEL",
    "HOST",
    "PORT",
    "MAX_TEXT_CHARS",
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "LOG_LEVEL",
    "CORS_ORIGINS",
    "PREDICT_CACHE_SIZE",
    "MAX_CONCURRENT_EVALUATIONS",
    "MAX_QUEUED_EVALUATIONS",
    "QUEUE_TIMEOUT_SECONDS",
    "GRACEFUL_SHUTDOWN_SECONDS",
    "LOG_FORMAT",
    "DRAIN_SECONDS",
    "WORKERS",
    "HEADER_TIMEOUT_SECONDS",
    "MAX_CONNECTIONS",
    "BODY_TIMEOUT_SECONDS",
    "BODY_BUFFER_BYTES",
    "API_KEY",
    "API_KEY_FILE",
)


class ServerStartError(RuntimeError):
    """The service exited or stayed unhealthy at start; the message holds its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def service_env(artifact_dir: Path | str | None, port: int, **extra: str) -> dict[str, str]:
    """This environment without service settings, plus loopback HOST, PORT and the artifact (if any)."""
    env = {name: value for name, value in os.environ.items() if name not in SERVICE_ENV}
    env.update(HOST="127.0.0.1", PORT=str(port), **extra)
    if artifact_dir is not None:
        env["CHAR_RNN_ARTIFACT"] = str(artifact_dir)
    return env


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def running_server(
    artifact_dir: Path | str | None,
    log_path: Path,
    stop_signal: int = signal.SIGKILL,
    timeout: float = 30.0,
    cwd: Path = REPO_ROOT,
    **extra_env: str,
) -> Iterator[ServerProcess]:
    """`python -m service` on a free loopback port, ready (GET /health is 200) or ServerStartError.

    Without artifact_dir every artifact under artifacts/ is served, as by make serve; `cwd` is
    the directory it starts in.
    On the way out, whatever happened, the process gets `stop_signal`, then SIGKILL after 15 s.
    """
    port = free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service"],
            cwd=cwd,
            env=service_env(artifact_dir, port, **extra_env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_until_healthy(server, timeout)
        yield server
    finally:
        _stop(process, stop_signal)


def _stop(process: subprocess.Popen[bytes], stop_signal: int) -> None:
    if process.poll() is None:
        process.send_signal(stop_signal)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_until_healthy(server: ServerProcess, timeout: float) -> None:
    """Poll GET /health until it is 200; ServerStartError if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerStartError(
                f"server exited with {server.process.returncode} at start:\n{server.log()}"
            )
        try:
            if httpx.get(f"{server.base_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise ServerStartError(f"server not healthy within {timeout} s:\n{server.log()}")


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
