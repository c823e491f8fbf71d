"""Service fixtures: an in-process client for the ASGI app and a real `python -m service` process."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from model.artifact import Artifact, load
from service.app import create_app
from tests.utils.artifacts import build_artifact
from tests.utils.client import ASGIClient, ExplicitSettings
from tests.utils.server import SERVICE_ENV, ServerProcess, running_server


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


@pytest.fixture(scope="module")
def server(small_artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server on the small artifact, shared by a test module."""
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with running_server(small_artifact, log_path) as process:
        yield process


@pytest.fixture(scope="session")
def two_models(small_artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of two artifacts: the small RNN and an LSTM that reads 20 characters."""
    directory = tmp_path_factory.mktemp("models")
    shutil.copytree(small_artifact, directory / "rnn")
    build_artifact(directory / "lstm", architecture="lstm", n_hidden=8, context=20, name="test-lstm-8")
    return directory


@pytest.fixture(scope="session")
def models_client(two_models: Path) -> Iterator[ASGIClient]:
    """A client serving both models of `two_models`, with default settings otherwise."""
    client = ASGIClient(create_app(ExplicitSettings(CHAR_RNN_ARTIFACTS=(two_models,))))
    yield client
    client.close()
