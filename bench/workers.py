"""Run a Python module of bench/ as a subprocess with the BLAS thread count set before NumPy
loads, and read back the one JSON line it prints last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from model.blas import THREAD_VARIABLES

REPOSITORY = Path(__file__).resolve().parent.parent


def environment(threads: int | None = None, **extra: str) -> dict[str, str]:
    """This process's environment, with bench/ importable and the BLAS threads pinned."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), env.get("PYTHONPATH", "")]))
    if threads is not None:
        env.update({variable: str(threads) for variable in THREAD_VARIABLES})
    env.update(extra)
    return env


def run_json(module: str, arguments: list[str], threads: int | None, timeout: float) -> dict[str, Any]:
    """`python -m module arguments` in a fresh process; its last stdout line parsed as JSON."""
    completed = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        env=environment(threads),
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(arguments)} failed:\n{completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result
