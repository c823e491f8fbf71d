"""Dockerfile and docker-compose.yml, checked without a container engine.

docker-compose.yml is written in YAML's JSON-compatible flow style with whole-line comments,
so it parses here with json after dropping those lines; its structure is then checked against
the parts of the Compose specification's JSON schema (compose-spec/schema/compose-spec.json)
that apply to what the file uses: allowed keys at each level and the type of every value.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.utils.server import free_port, running_server

ROOT = Path(__file__).resolve().parents[1]
SERVE_COMMAND = ["python", "-m", "service"]  # what the tests start, with sys.executable as python

# From the Compose specification's schema: the top level and a service's properties.
TOP_LEVEL = {"version", "name", "include", "services", "models", "networks", "volumes", "secrets", "configs"}
SERVICE_PROPERTIES = {
    "develop", "deploy", "annotations", "attach", "build", "blkio_config", "cap_add", "cap_drop", "cgroup",
    "cgroup_parent", "command", "configs", "container_name", "cpu_count", "cpu_percent", "cpu_shares",
    "cpu_quota", "cpu_period", "cpu_rt_period", "cpu_rt_runtime", "cpus", "cpuset", "credential_spec",
    "depends_on", "device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "domainname",
    "entrypoint", "env_file", "label_file", "environment", "expose", "extends", "provider", "external_links",
    "extra_hosts", "gpus", "group_add", "healthcheck", "hostname", "image", "init", "ipc", "isolation",
    "labels", "links", "logging", "mac_address", "mem_limit", "mem_reservation", "mem_swappiness",
    "memswap_limit", "network_mode", "models", "networks", "oom_kill_disable", "oom_score_adj", "pid",
    "pids_limit", "platform", "ports", "post_start", "pre_stop", "privileged", "profiles", "pull_policy",
    "pull_refresh_after", "read_only", "restart", "runtime", "scale", "security_opt", "shm_size", "secrets",
    "sysctls", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "tmpfs", "tty", "ulimits",
    "use_api_socket", "user", "uts", "userns_mode", "volumes", "volumes_from", "working_dir",
}  # fmt: skip
BUILD_PROPERTIES = {
    "context", "dockerfile", "dockerfile_inline", "entitlements", "args", "ssh", "labels", "cache_from",
    "cache_to", "no_cache", "additional_contexts", "network", "pull", "target", "shm_size", "extra_hosts",
    "isolation", "privileged", "secrets", "tags", "ulimits", "platforms",
}  # fmt: skip
HEALTHCHECK_PROPERTIES = {
    "disable",
    "interval",
    "retries",
    "test",
    "timeout",
    "start_period",
    "start_interval",
}
NAME = re.compile(r"^[a-zA-Z0-9._-]+$")
DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")
# Types of the service properties the file may use, as the schema gives them.
SCALAR_TYPES: dict[str, tuple[type, ...]] = {
    "image": (str,),
    "init": (bool, str),
    "read_only": (bool, str),
    "restart": (str,),
    "stop_grace_period": (str,),
    "stop_signal": (str,),
    "user": (str,),
    "container_name": (str,),
}


def read_compose() -> dict[str, Any]:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "\t" not in text, "YAML forbids tabs in indentation"
    kept = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    document = json.loads("\n".join(kept))
    assert isinstance(document, dict)
    return document


def extension(key: str) -> bool:
    return key.startswith("x-")


def check_list_of_unique_strings(value: Any, where: str) -> None:
    assert isinstance(value, list) and all(isinstance(item, str) for item in value), where
    assert len(set(value)) == len(value), f"{where}: items must be unique"


def check_build(build: Any) -> None:
    if isinstance(build, str):
        return
    assert isinstance(build, dict), "build: string or object"
    unknown = {key for key in build if key not in BUILD_PROPERTIES and not extension(key)}
    assert not unknown, f"build: unknown properties {unknown}"
    for key in ("context", "dockerfile"):
        assert isinstance(build.get(key, ""), str), f"build.{key}: string"


def check_healthcheck(healthcheck: Any) -> None:
    assert isinstance(healthcheck, dict)
    unknown = {key for key in healthcheck if key not in HEALTHCHECK_PROPERTIES and not extension(key)}
    assert not unknown, f"healthcheck: unknown properties {unknown}"
    test = healthcheck["test"]
    assert isinstance(test, str) or (isinstance(test, list) and all(isinstance(item, str) for item in test))
    if isinstance(test, list):
        assert test[0] in ("NONE", "CMD", "CMD-SHELL"), "healthcheck.test starts with NONE, CMD or CMD-SHELL"
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if key in healthcheck:
            assert isinstance(healthcheck[key], str) and DURATION.match(healthcheck[key]), (
                f"healthcheck.{key}"
            )
    assert isinstance(healthcheck.get("retries", 0), int | float | str)


def check_service(name: str, service: Any) -> None:
    assert NAME.match(name), f"service name {name!r}"
    assert isinstance(service, dict)
    unknown = {key for key in service if key not in SERVICE_PROPERTIES and not extension(key)}
    assert not unknown, f"{name}: properties outside the Compose specification: {unknown}"
    assert "build" in service or "image" in service, f"{name}: needs build or image"
    if "build" in service:
        check_build(service["build"])
    for item in service.get("ports", []):
        assert isinstance(item, int | float | str | dict), f"{name}.ports item {item!r}"
    environment = service.get("environment", {})
    if isinstance(environment, dict):
        for key, value in environment.items():
            assert isinstance(value, str | int | float | bool) or value is None, f"environment.{key}"
    else:
        check_list_of_unique_strings(environment, "environment")
    for item in service.get("volumes", []):
        assert isinstance(item, str | dict), f"{name}.volumes item {item!r}"
    for key in ("cap_add", "cap_drop", "security_opt"):
        if key in service:
            check_list_of_unique_strings(service[key], f"{name}.{key}")
    for key, types in SCALAR_TYPES.items():
        if key in service:
            assert isinstance(service[key], types), f"{name}.{key}: {types}"
    if "stop_grace_period" in service:
        assert DURATION.match(service["stop_grace_period"])
    if "healthcheck" in service:
        check_healthcheck(service["healthcheck"])


def test_compose_file_follows_the_compose_specification() -> None:
    compose = read_compose()
    unknown = {key for key in compose if key not in TOP_LEVEL and not extension(key)}
    assert not unknown, f"top level: unknown keys {unknown}"
    services = compose["services"]
    assert isinstance(services, dict) and services
    for name, service in services.items():
        check_service(name, service)


def test_compose_check_catches_mistakes() -> None:
    """The hand-written check can fail: a typo or a wrong type is reported."""
    with pytest.raises(AssertionError, match="outside the Compose specification"):
        check_service("char-rnn", {"build": ".", "healtcheck": {}})
    with pytest.raises(AssertionError, match="healthcheck.interval"):
        check_healthcheck({"test": ["CMD", "true"], "interval": "30 seconds"})
    with pytest.raises(AssertionError, match="needs build or image"):
        check_service("char-rnn", {"ports": ["8000:8000"]})


def test_compose_service_builds_this_image_with_a_health_check_on_readiness() -> None:
    (service,) = read_compose()["services"].values()
    assert service["build"]["context"] == "."
    assert service["build"]["dockerfile"] == "Dockerfile"
    # One PORT (default 8000) moves the container's port, the published one and the check.
    assert service["ports"] == ["127.0.0.1:${PORT:-8000}:${PORT:-8000}"]
    assert service["environment"]["PORT"] == "${PORT:-8000}"
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"] and "/health/ready" in test[3]
    assert "8000/" not in test[3] and "os.environ.get('PORT'" in test[3]
    compile(test[3], "healthcheck", "exec")
    assert "CHAR_RNN_ARTIFACT" not in service["environment"], "the override stays optional (commented)"
    assert "volumes" not in service
    assert ":" not in service["image"], "the version lives in pyproject.toml alone"


def test_compose_documents_the_optional_artifact_override() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    optional = [line for line in text.splitlines() if "# OPTIONAL:" in line]
    assert len(optional) == 2
    uncommented = "\n".join(
        line.replace("# OPTIONAL: ", "")
        for line in text.splitlines()
        if not line.lstrip().startswith("#") or "# OPTIONAL:" in line
    )
    (service,) = json.loads(uncommented)["services"].values()
    mount_source, mount_target, mode = service["volumes"][0].split(":")
    assert service["environment"]["CHAR_RNN_ARTIFACT"].startswith(mount_target + "/")
    assert mode == "ro"


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


def test_image_runs_the_tested_serve_command() -> None:
    (cmd,) = only("CMD")
    assert json.loads(cmd) == SERVE_COMMAND
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    serve_line = makefile.split("\nserve:", 1)[1].splitlines()[1]
    assert serve_line.strip().endswith("$(BIN)/python -m service")


def test_image_is_python_311_slim_and_runs_as_non_root() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = only("USER")
    assert users, "the image must switch to an unprivileged user"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    names = [name for name, _ in instructions]
    assert names.index("USER") < names.index("CMD")
    assert not any(name == "USER" for name in names[names.index("CMD") :])


def test_image_installs_the_lock_before_the_code() -> None:
    copies = only("COPY")
    assert copies.index("requirements.lock ./") < copies.index("service/ service/")
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert "requirements.lock" not in ignored and "deploy" in ignored


def test_image_bakes_in_every_artifact_and_listens_on_all_interfaces() -> None:
    assert "artifacts/ artifacts/" in only("COPY")
    assert "model/ model/" in only("COPY") and "service/ service/" in only("COPY")
    assert not any("training" in copied for copied in only("COPY"))
    environment = " ".join(only("ENV"))
    assert "HOST=0.0.0.0" in environment
    # The default, artifacts/ under the WORKDIR, serves every model; an image that set either
    # variable would refuse a deployment's own CHAR_RNN_ARTIFACT (the two are exclusive).
    assert "CHAR_RNN_ARTIFACT" not in environment
    assert only("WORKDIR") == ["/app"]
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert "artifacts" not in ignored and ".venv" in ignored and ".git" in ignored


def healthcheck_command() -> list[str]:
    (healthcheck,) = only("HEALTHCHECK")
    options, _, command = healthcheck.partition("CMD ")
    assert "--timeout=" in options and "--interval=" in options
    argv = json.loads(command)
    assert isinstance(argv, list)
    return [str(item) for item in argv]


def test_image_health_check_asks_readiness_with_the_standard_library() -> None:
    argv = healthcheck_command()
    assert argv[:2] == ["python", "-c"]
    assert "urllib.request" in argv[2] and "/health/ready" in argv[2]
    assert "curl" not in shlex.join(argv)


def compose_healthcheck_code() -> str:
    (service,) = read_compose()["services"].values()
    return str(service["healthcheck"]["test"][3])


@pytest.mark.parametrize("check", [lambda: healthcheck_command()[2], compose_healthcheck_code])
def test_health_checks_pass_on_a_live_server_and_fail_without_one(
    small_artifact: Path, tmp_path: Path, check: Any
) -> None:
    code = check()
    with running_server(small_artifact, tmp_path / "server.log") as server:
        port = server.base_url.rsplit(":", 1)[1]
        healthy = subprocess.run(
            [sys.executable, "-c", code], env={"PORT": port}, capture_output=True, timeout=30
        )
    assert healthy.returncode == 0, healthy.stderr
    unhealthy = subprocess.run(
        [sys.executable, "-c", code], env={"PORT": str(free_port())}, capture_output=True, timeout=30
    )
    assert unhealthy.returncode != 0
