"""`python -m bench.request_path`: the modules a POST /predict-next runs through are the ones
docs/architecture.md gives, and as many."""

from __future__ import annotations

import subprocess
import sys

from tests.utils.server import REPO_ROOT


def section(title: str) -> str:
    text = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_documented_path_of_a_prediction_is_the_measured_one() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.request_path"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    paths: list[list[str]] = []  # the modules listed under each request's heading
    for line in result.stdout.splitlines():
        if line.startswith("  "):
            paths[-1].append(line.strip())
        else:
            paths.append([])
    cold, cached = paths
    assert "service/batcher.py" in cold and "service/batcher.py" not in cached
    documented = section("One object per served model")
    assert [module for module in cold + cached if f"`{module}`" not in documented] == []
    service = sum(module.startswith("service/") for module in cold)
    words = " ".join(documented.split())
    assert f"That is {service} of the service's modules and {len(cold) - service} of the model's" in words
    assert f"{len(cold)} in all; a window answered from the cache runs {len(cached)}" in words
