"""The image and docker-compose.yml run by a real Docker engine, for the tests and bench/container.py.

Every container uses the host's network and listens on 127.0.0.1 only (HOST=127.0.0.1), so it
works on an engine started without a bridge network (`dockerd --bridge=none`) and sends nothing
beyond loopback. Every docker command runs with a timeout, so a hung engine fails a test instead
of hanging it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.utils.server import REPO_ROOT

IMAGE = "char-rnn-service"  # the tag docker-compose.yml builds and runs
BASE_IMAGE = "python:3.11-slim"  # the Dockerfile's FROM; .ci/base-image makes it without a registry
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.host.yml")
STOP_GRACE_SECONDS = 40  # docker-compose.yml's stop_grace_period, given to `docker run` too
COMMAND_TIMEOUT = 60.0
BUILD_TIMEOUT = 900.0


class DockerError(RuntimeError):
    """A docker command failed or timed out; the message holds its output."""


def docker(*args: str, timeout: float = COMMAND_TIMEOUT, env: dict[str, str] | None = None) -> str:
    """Run `docker ARGS`; its stdout, or DockerError with its output."""
    return _run(["docker", *args], timeout, env)


def _run(argv: list[str], timeout: float, env: dict[str, str] | None) -> str:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO_ROOT, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise DockerError(f"{' '.join(argv)}: no answer within {timeout:.0f} s") from error
    if done.returncode != 0:
        raise DockerError(f"{' '.join(argv)}: exit {done.returncode}\n{done.stdout}{done.stderr}")
    return done.stdout


def engine_missing() -> str | None:
    """Why no container can run here (no docker command, no engine, no base image), or None."""
    if shutil.which("docker") is None:
        return "no docker command (apt-get install docker.io)"
    try:
        docker("version", "--format", "{{.Server.Version}}", timeout=20)
    except DockerError as error:
        said = str(error).strip().splitlines()[-1]
        return f"no Docker engine answers (start one: dockerd --bridge=none --iptables=false): {said}"
    try:
        docker("image", "inspect", BASE_IMAGE, timeout=20)
    except DockerError:
        return f"the base image {BASE_IMAGE} is not on this machine (make it with .ci/base-image)"
    return None


def build_image(tag: str = IMAGE, *extra: str) -> float:
    """`docker build` of the repository with the classic builder on the host's network; seconds taken."""
    started = time.monotonic()
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    docker("build", "--network", "host", "--tag", tag, *extra, ".", timeout=BUILD_TIMEOUT, env=env)
    return time.monotonic() - started


def inspect(name: str) -> dict[str, Any]:
    """`docker inspect` of one container or image."""
    (found,) = json.loads(docker("inspect", name))
    assert isinstance(found, dict)
    return found


def logs(container: str) -> str:
    """The container's output, stdout and stderr together, as `docker logs` gives them."""
    done = subprocess.run(
        ["docker", "logs", container], capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
    )
    return done.stdout + done.stderr


def wait_for_health(container: str, timeout: float) -> str:
    """Poll Docker's health status until it is no longer "starting" or time runs out; the last one."""
    deadline = time.monotonic() + timeout
    status = "starting"
    while time.monotonic() < deadline:
        state = inspect(container)["State"]
        status = state["Health"]["Status"] if state["Running"] else f"exited {state['ExitCode']}"
        if status != "starting":
            return status
        time.sleep(0.25)
    return status


def wait_for_exit(container: str, timeout: float) -> int:
    """The container's exit status once it has stopped (DockerError if it runs on)."""
    return int(docker("wait", container, timeout=timeout).strip())


def exec_in(container: str, *command: str) -> str:
    """`docker exec` as the image's user; stdout."""
    return docker("exec", container, *command)


def process_status(container: str, pid: str) -> dict[str, str]:
    """Fields of /proc/PID/status inside the container (PID as the container sees it)."""
    lines = exec_in(container, "cat", f"/proc/{pid}/status").splitlines()
    return {name: value.strip() for name, _, value in (line.partition(":") for line in lines)}


@dataclass(frozen=True)
class Container:
    id: str
    base_url: str


@contextmanager
def running_container(port: int, *options: str, image: str = IMAGE, **env: str) -> Iterator[Container]:
    """`docker run -d` of the image on the host's network, serving on 127.0.0.1:PORT; removed at the end."""
    settings = {"HOST": "127.0.0.1", "PORT": str(port), **env}
    assignments = [f"--env={name}={value}" for name, value in settings.items()]
    name = f"char-rnn-test-{uuid.uuid4().hex[:12]}"
    stop_timeout = f"--stop-timeout={STOP_GRACE_SECONDS}"
    container_id = docker(
        "run", "--detach", f"--name={name}", "--network=host", stop_timeout, *assignments, *options, image
    )
    try:
        yield Container(container_id.strip(), f"http://127.0.0.1:{port}")
    finally:
        docker("rm", "--force", "--volumes", name)


def compose(project: str, *args: str, port: int, timeout: float = 300.0) -> str:
    """Debian's docker-compose on docker-compose.yml with the host-network override."""
    files = [arg for name in COMPOSE_FILES for arg in ("--file", name)]
    env = {**os.environ, "PORT": str(port)}
    return _run(["docker-compose", "--project-name", project, *files, *args], timeout, env)


@contextmanager
def composed(port: int) -> Iterator[tuple[str, str]]:
    """`docker-compose up -d --build` under a fresh project name; (project, container id); down at the end."""
    project = f"char-rnn-test-{uuid.uuid4().hex[:12]}"
    try:
        compose(project, "up", "--detach", "--build", port=port)
        container_id = compose(project, "ps", "--quiet", "char-rnn", port=port).strip()
        yield project, container_id
    finally:
        compose(project, "down", "--volumes", "--timeout", "5", port=port)


def compose_containers(project: str) -> list[str]:
    """Ids of every container, running or not, that belongs to the compose project."""
    label = f"label=com.docker.compose.project={project}"
    return docker("ps", "--all", "--quiet", "--no-trunc", "--filter", label).split()
