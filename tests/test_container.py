"""The Dockerfile and the compose files: what a running container cannot show.

tests/test_container_run.py builds the image and runs it, alone and with docker-compose, on the
host's network; it proves the health check, the user, the drain, the refusal of a broken
artifact and what compose promises (read-only root, no capabilities). What stays here is what
that run cannot see: the port published on loopback in bridge mode, the commented override,
the layer order that keeps rebuilds cheap, and the image's defaults that the run overrides.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.utils.server import free_port

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = "# OPTIONAL: "


def read_yaml(name: str, text: str | None = None) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / name).read_text(encoding="utf-8") if text is None else text)
    assert isinstance(document, dict)
    return document


def service(name: str, text: str | None = None) -> dict[str, Any]:
    (only_service,) = read_yaml(name, text)["services"].values()
    assert isinstance(only_service, dict)
    return only_service


def test_compose_publishes_the_port_on_loopback_and_the_host_file_publishes_none() -> None:
    assert "ports" not in service("docker-compose.yml")
    # Read by a plain `docker compose up`; one PORT moves the container's port and the published one.
    assert service("docker-compose.override.yml") == {"ports": ["127.0.0.1:${PORT:-8000}:${PORT:-8000}"]}
    assert service("docker-compose.yml")["environment"]["PORT"] == "${PORT:-8000}"
    # Host networking cannot publish ports; the service listens on loopback only.
    assert service("docker-compose.host.yml") == {
        "build": {"network": "host"},
        "network_mode": "host",
        "environment": {"HOST": "127.0.0.1"},
    }


def test_compose_builds_this_untagged_image_with_the_artifact_override_left_optional() -> None:
    base = service("docker-compose.yml")
    assert base["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    assert base["image"] == "char-rnn-service", "untagged: the version lives in pyproject.toml alone"
    assert "CHAR_RNN_ARTIFACT" not in base["environment"] and "volumes" not in base


def test_compose_documents_the_optional_artifact_override() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert sum(OPTIONAL in line for line in text.splitlines()) == 2
    overridden = service("docker-compose.yml", text.replace(OPTIONAL, ""))
    (volume,) = overridden["volumes"]
    assert volume == "./my-artifacts:/models:ro"
    assert overridden["environment"]["CHAR_RNN_ARTIFACT"] == "/models/my-artifact"


# --- Dockerfile -------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, arguments = pending.strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def only(keyword: str) -> list[str]:
    return [arguments for name, arguments in dockerfile_instructions() if name == keyword]


def test_image_installs_the_lock_before_the_code_and_the_artifacts_last() -> None:
    # A change to the code or an artifact alone rebuilds from that layer on, not the dependencies.
    assert only("COPY") == [
        "requirements.lock ./",
        "pyproject.toml README.md ./",
        "model/ model/",
        "service/ service/",
        "artifacts/ artifacts/",
    ]
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {"requirements.lock", "artifacts", "model", "service"}.isdisjoint(ignored)
    assert {".git", ".venv", "tests", "deploy", "docs", "bench", "data"} <= set(ignored)


def test_image_defaults_listen_on_every_interface_and_name_no_artifact() -> None:
    # The tests run it with HOST=127.0.0.1; in bridge mode the published port needs 0.0.0.0. Either
    # artifact variable set here would refuse a deployment's own CHAR_RNN_ARTIFACT.
    env = dict(pair.split("=", 1) for arguments in only("ENV") for pair in arguments.split())
    assert env == {
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PIP_NO_CACHE_DIR": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "HOST": "0.0.0.0",
        "PORT": "8000",
        "OPENBLAS_CORETYPE": "Haswell",  # the Makefile's: the same bits as make serve
    }
    assert only("WORKDIR") == ["/app"]


def healthcheck_command() -> list[str]:
    (healthcheck,) = only("HEALTHCHECK")
    argv = json.loads(healthcheck.partition("CMD ")[2])
    assert isinstance(argv, list)
    return [str(item) for item in argv]


def test_the_health_check_fails_when_nothing_answers() -> None:
    # The running image shows it passing; here, that it can fail (exit 1: unhealthy).
    python, flag, code = healthcheck_command()
    assert (python, flag) == ("python", "-c")
    failed = subprocess.run(
        [sys.executable, "-c", code],
        env={"PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert last == "urllib.error.URLError: <urlopen error [Errno 111] Connection refused>"
