"""`python -m training.evaluate` on a hostile artifact: one line, exit status 2, bounded memory."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from tests.utils.artifacts import SAMPLE_TEXT
from tests.utils.attacks import ATTACKS, Attack, attacked_copy
from tests.utils.measure import run_measured

ROOT = Path(__file__).resolve().parents[2]
CHOSEN = (
    "100k nested arrays",
    "zip bomb, 1.6 MB inflating to 1.6 GB",
    "finite weights that overflow (V = 3e38)",
)
EVALUATE_ATTACKS = tuple(attack for attack in ATTACKS if attack.name in CHOSEN)


@pytest.mark.parametrize("attack", EVALUATE_ATTACKS, ids=[attack.name for attack in EVALUATE_ATTACKS])
def test_evaluate_refuses_each_attack_in_one_line(
    small_artifact: Path, tmp_path: Path, attack: Attack
) -> None:
    directory = attacked_copy(small_artifact, tmp_path / "attacked", attack)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(SAMPLE_TEXT)
    args = [sys.executable, "-m", "training.evaluate", "--artifact", str(directory), "--corpus", str(corpus)]
    finished = run_measured(args, ROOT, dict(os.environ), tmp_path)
    assert finished.returncode == 2, finished.stderr
    lines = finished.stderr.splitlines()
    assert len(lines) == 1, finished.stderr
    assert re.match(rf"error: {re.escape(str(directory))}/{attack.refusal}", lines[0]), lines[0]
    assert finished.peak_rss_mb < 400
