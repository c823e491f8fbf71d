"""The image and docker-compose.yml, built and run by a real Docker engine (`pytest -m container`).

Skipped, saying why, when no engine answers or the base image is missing (`.ci/run` installs
Docker, starts an engine and makes the base image). The image is built once for the module.
Containers run on the host's network, each on a free loopback port: the checks that only read
share one, and each of the others (stop, a broken artifact, compose) starts its own.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from packaging.utils import canonicalize_name

from tests.test_image_build import pins
from tests.utils import docker
from tests.utils.examples import actual_output, examples
from tests.utils.server import REPO_ROOT, free_port, wait_for_refusal

pytestmark = pytest.mark.container

IMAGE_USER = "10001"  # the Dockerfile's USER, uid and gid
HEALTHY_WITHIN = 60.0  # start-period 30 s; the first check comes one 5 s interval after the start


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    missing = docker.engine_missing()
    if missing:
        pytest.skip(missing)
    docker.build_image()
    yield docker.IMAGE


def listening_addresses(container: str, port: int) -> list[str]:
    """The IPv4 and IPv6 addresses with a socket listening on PORT, from the container's /proc/net."""
    addresses = []
    for table in ("tcp", "tcp6"):
        for row in docker.exec_in(container, "cat", f"/proc/net/{table}").splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                addresses.append(decode_address(address))
    return sorted(addresses)


def decode_address(hexadecimal: str) -> str:
    """/proc/net/tcp's address: 32-bit words in host (little-endian) order."""
    raw = b"".join(bytes.fromhex(hexadecimal[i : i + 8])[::-1] for i in range(0, len(hexadecimal), 8))
    if len(raw) == 4:
        return ".".join(str(byte) for byte in raw)
    return ":".join(raw[i : i + 2].hex() for i in range(0, 16, 2))


def test_decode_address_reads_proc_net_tcp() -> None:
    assert decode_address("0100007F") == "127.0.0.1"
    assert decode_address("00000000000000000000000001000000") == "0000:0000:0000:0000:0000:0000:0000:0001"


@pytest.fixture(scope="module")
def served(image: str) -> Iterator[docker.Container]:
    """One container of the image, shared by the checks that only read from it."""
    with docker.running_container(free_port(), image=image) as container:
        yield container


def test_the_image_turns_healthy(served: docker.Container) -> None:
    assert docker.wait_for_health(served.id, HEALTHY_WITHIN) == "healthy", docker.logs(served.id)


def test_the_image_answers_the_readme_examples_byte_for_byte(served: docker.Container) -> None:
    assert docker.wait_for_health(served.id, HEALTHY_WITHIN) == "healthy"
    readme = examples((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    with httpx.Client(base_url=served.base_url, timeout=30.0) as http:
        answers = [(example.command, actual_output(http, example, served.base_url)) for example in readme]
        demo = http.get("/").content
    assert answers == [(example.command, example.output) for example in readme]
    assert demo == (REPO_ROOT / "service" / "demo" / "index.html").read_bytes()  # package data


def test_the_image_serves_as_its_unprivileged_user_on_loopback_with_the_locked_packages(
    served: docker.Container,
) -> None:
    assert docker.wait_for_health(served.id, HEALTHY_WITHIN) == "healthy"
    status = docker.process_status(served.id, "1")  # the service itself: no init here
    assert (status["Name"], status["Uid"], status["Gid"]) == (
        "python",
        "\t".join([IMAGE_USER] * 4),
        "\t".join([IMAGE_USER] * 4),
    )
    port = int(served.base_url.rsplit(":", 1)[1])
    assert listening_addresses(served.id, port) == ["127.0.0.1"]
    assert installed(served.id) == pins() | {"char-rnn-service": project_version()}


def installed(container: str) -> dict[str, str]:
    """The lock's packages and the project as pip in the image lists them (Debian's own left out)."""
    listed = json.loads(docker.exec_in(container, "python", "-m", "pip", "list", "--format=json"))
    versions = {canonicalize_name(item["name"]): item["version"] for item in listed}
    return {name: versions[name] for name in versions.keys() & (set(pins()) | {"char-rnn-service"})}


def project_version() -> str:
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    return str(version)


def test_docker_stop_finishes_the_request_in_flight_and_exits_0(image: str) -> None:
    port = free_port()
    with docker.running_container(port, image=image) as container:
        assert docker.wait_for_health(container.id, HEALTHY_WITHIN) == "healthy", docker.logs(container.id)
        outcome: dict[str, Any] = {}
        # The longest text allowed: several seconds of work in the container.
        body = {
            "text": ("natural selection acts by the preservation of profitable variations " * 1500)[:100_000]
        }

        def slow_request() -> None:
            try:
                outcome["response"] = httpx.post(f"{container.base_url}/accuracy", json=body, timeout=60.0)
            except httpx.HTTPError as error:  # reported by the assertions below
                outcome["error"] = error

        worker = threading.Thread(target=slow_request)
        worker.start()
        time.sleep(0.5)  # the request has reached the handler
        assert worker.is_alive(), "the request finished before docker stop; it was not in flight"
        started = time.monotonic()
        docker.docker("stop", container.id, timeout=docker.STOP_GRACE_SECONDS + 20)
        stopped = time.monotonic() - started
        worker.join(timeout=60)
        assert "error" not in outcome, outcome.get("error")
        assert outcome["response"].status_code == 200
        assert outcome["response"].json()["total"] == 99_999
        assert docker.inspect(container.id)["State"]["ExitCode"] == 0
        assert stopped < docker.STOP_GRACE_SECONDS, f"docker stop took {stopped:.1f} s"
        assert wait_for_refusal(port, timeout=1.0)
        log = docker.logs(container.id)
    assert '"POST /accuracy" 200' in log and log.rstrip().endswith("Finished server process [1]")


def test_a_broken_artifact_stops_the_container_with_status_2_and_one_line_naming_the_file(
    image: str, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(REPO_ROOT / "artifacts" / "char-rnn-assignment", broken)
    weights = broken / "weights.npz"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    for path in (broken, *broken.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)  # readable by the image's user
    recorded = json.loads((broken / "manifest.json").read_text(encoding="utf-8"))["weights_sha256"]
    mount = f"--volume={broken}:/models/broken:ro"
    with docker.running_container(free_port(), mount, image=image, CHAR_RNN_ARTIFACT="/models/broken") as run:
        assert docker.wait_for_exit(run.id, timeout=120) == 2
        log = docker.logs(run.id)
    actual = hashlib.sha256(bytes(data)).hexdigest()
    assert log.splitlines() == [
        f"error: /models/broken/weights.npz: checksum mismatch (sha256 {actual}, manifest says {recorded})"
    ]


@pytest.fixture(scope="module")
def compose_image(image: str) -> str:
    if shutil.which("docker-compose") is None:
        pytest.skip("no docker-compose command (apt-get install docker-compose)")
    return image


def test_compose_runs_healthy_with_what_it_promises_and_down_removes_it(compose_image: str) -> None:
    port = free_port()  # PORT moves the service and its health check together
    with docker.composed(port) as (project, container_id):
        assert docker.wait_for_health(container_id, HEALTHY_WITHIN) == "healthy", docker.logs(container_id)
        assert httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=10.0).json() == {"status": "ready"}
        check_what_compose_promises(container_id, port)
        started = time.monotonic()
        docker.compose(project, "stop", port=port)
        stopped = time.monotonic() - started
        assert docker.inspect(container_id)["State"]["ExitCode"] == 0
        assert stopped < docker.STOP_GRACE_SECONDS
        assert docker.compose_containers(project) == [container_id]
    assert docker.compose_containers(project) == []


def check_what_compose_promises(container: str, port: int) -> None:
    """Read-only root, no capabilities, no new privileges, an init, the image's user, loopback only."""
    with pytest.raises(docker.DockerError, match="touch: cannot touch '/app/x': Read-only file system"):
        docker.exec_in(container, "touch", "/app/x")
    (service_pid,) = docker.exec_in(container, "cat", "/proc/1/task/1/children").split()
    init, service = docker.process_status(container, "1"), docker.process_status(container, service_pid)
    assert (init["Name"], service["Name"]) == ("docker-init", "python")
    for process in (init, service):
        assert process["Uid"] == process["Gid"] == "\t".join([IMAGE_USER] * 4)
        assert (process["CapEff"], process["CapPrm"], process["CapBnd"]) == ("0" * 16,) * 3
        assert process["NoNewPrivs"] == "1"
    assert listening_addresses(container, port) == ["127.0.0.1"]
    config = docker.inspect(container)
    assert config["Config"]["StopTimeout"] == docker.STOP_GRACE_SECONDS
    assert config["HostConfig"]["RestartPolicy"] == {"Name": "unless-stopped", "MaximumRetryCount": 0}
    # The image's own health check, on the port compose sets.
    assert config["Config"]["Healthcheck"] == docker.inspect(docker.IMAGE)["Config"]["Healthcheck"]
