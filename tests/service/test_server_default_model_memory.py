"""The committed default model served for real: one small POST /accuracy no longer costs a
gigabyte (issue 20, defect 1: the window model kept every step's activations for 2,048
windows at a time, 969 MB for 2,100 characters), and the longest text allowed, twice at once,
stays far under the Kubernetes limit of 512 MiB."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.utils.server import REPO_ROOT, ServerProcess, running_server

DEFAULT_MODEL = REPO_ROOT / "artifacts" / "darwin-lstm"
WORDS = "when we look to the individuals of the same variety or sub variety of our older cultivated plants "


def peak_rss_mb(server: ServerProcess) -> float:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(
        DEFAULT_MODEL, tmp_path_factory.mktemp("memory") / "server.log", timeout=120
    ) as process:
        yield process


def test_a_small_accuracy_request_costs_megabytes_not_a_gigabyte(server: ServerProcess) -> None:
    before = peak_rss_mb(server)
    text = (WORDS * 22)[:2100]
    response = httpx.post(f"{server.base_url}/accuracy", json={"text": text}, timeout=120)
    assert response.status_code == 200
    assert response.json()["total"] == 2099
    assert peak_rss_mb(server) - before < 50  # the window model: about 850 MB more


def test_two_longest_texts_at_once_stay_under_the_pods_limit(server: ServerProcess) -> None:
    text = (WORDS * 1100)[:100_000]
    statuses: list[int] = []

    def post() -> None:
        statuses.append(
            httpx.post(f"{server.base_url}/accuracy", json={"text": text}, timeout=300).status_code
        )

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200]
    assert peak_rss_mb(server) < 300  # deploy/kubernetes: 512Mi
