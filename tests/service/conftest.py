"""Service fixtures: an in-process client for the ASGI app and real `python -m service` processes."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from service.app import create_app
from service.settings import Settings
from training.artifact import Artifact, load

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICE_ENV = (
    "CHAR_RNN_ARTIFACT",
    "HOST",
    "PORT",
    "MAX_TEXT_CHARS",
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "LOG_LEVEL",
    "CORS_ORIGINS",
    "PREDICT_CACHE_SIZE",
    "MAX_CONCURRENT_EVALUATIONS",
    "GRACEFUL_SHUTDOWN_SECONDS",
    "LOG_FORMAT",
    "DRAIN_SECONDS",
)


class ExplicitSettings(Settings):
    """Settings from keyword arguments only: a session fixture never reads the shell's variables."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, *_: Any, **__: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


class ASGIClient:
    """A synchronous httpx client for an ASGI app, safe to call from many threads at once.

    Requests run on one event loop in a background thread (an anyio blocking portal), the
    way a server runs them; the app's exceptions propagate, so a 500 fails the test.
    """

    def __init__(self, app: FastAPI, raise_app_exceptions: bool = True) -> None:
        self.app = app
        self._portal_context = start_blocking_portal()
        self._portal: BlockingPortal = self._portal_context.__enter__()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(functools.partial(self._client.request, method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._portal_context.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _clean_service_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test, never from the developer's shell."""
    for name in SERVICE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def artifact(small_artifact: Path) -> Artifact:
    return load(small_artifact)


@pytest.fixture(scope="session")
def make_client(small_artifact: Path) -> Iterator[Callable[..., ASGIClient]]:
    """Clients on the small artifact; keyword arguments override settings (by env name)."""
    clients: list[ASGIClient] = []

    def make(**overrides: Any) -> ASGIClient:
        settings = ExplicitSettings(CHAR_RNN_ARTIFACT=small_artifact, **overrides)
        clients.append(ASGIClient(create_app(settings)))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def client(make_client: Callable[..., ASGIClient]) -> ASGIClient:
    """A client on the small artifact with default settings, shared by the session."""
    return make_client()


# --- real processes -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def service_env(artifact_dir: Path | None, port: int, **extra: str) -> dict[str, str]:
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
def running_server(artifact_dir: Path | None, log_path: Path, **extra_env: str) -> Iterator[ServerProcess]:
    """`python -m service` on a free loopback port, ready (GET /health is 200) or failing the test.

    Without artifact_dir the default (artifacts/char-rnn-assignment) is served, as by make serve.
    The process is always killed on the way out, whatever happened.
    """
    port = free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service"],
            cwd=REPO_ROOT,
            env=service_env(artifact_dir, port, **extra_env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_until_healthy(server, timeout=30.0)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def wait_until_healthy(server: ServerProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"server exited with {server.process.returncode} at start:\n{server.log()}")
        try:
            if httpx.get(f"{server.base_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"server not healthy within {timeout} s:\n{server.log()}")


@pytest.fixture(scope="module")
def server(small_artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server on the small artifact, shared by a test module."""
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with running_server(small_artifact, log_path) as process:
        yield process
