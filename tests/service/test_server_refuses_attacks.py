"""`python -m service` on a hostile artifact: one line naming the file and the reason, exit
status 2, and a peak RSS far below what the artifact asks for (figures: docs/reliability.md)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.utils.attacks import PROCESS_ATTACKS, Attack, attacked_copy
from tests.utils.measure import run_measured
from tests.utils.server import REPO_ROOT, free_port, service_env

PEAK_RSS_LIMIT_MB = 400


@pytest.mark.parametrize("attack", PROCESS_ATTACKS, ids=[attack.name for attack in PROCESS_ATTACKS])
def test_the_service_refuses_each_attack_in_one_line_and_bounded_memory(
    small_artifact: Path, tmp_path: Path, attack: Attack
) -> None:
    directory = attacked_copy(small_artifact, tmp_path / "attacked", attack)
    finished = run_measured(
        [sys.executable, "-m", "service"], REPO_ROOT, service_env(directory, free_port()), tmp_path
    )
    assert finished.returncode == 2, finished.stderr
    assert finished.stdout == ""
    lines = finished.stderr.splitlines()
    assert len(lines) == 1, finished.stderr
    assert re.match(rf"error: {re.escape(str(directory))}/{attack.refusal}", lines[0]), lines[0]
    assert finished.peak_rss_mb < PEAK_RSS_LIMIT_MB
