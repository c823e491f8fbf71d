"""A child process run to its end, with its own peak RSS as the kernel counted it."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float


def run_measured(args: list[str], cwd: Path, env: dict[str, str], log_dir: Path) -> Finished:
    """Run a child to its end and read its own peak RSS from the kernel (wait4's ru_maxrss, KB)."""
    out_path, err_path = log_dir / "stdout", log_dir / "stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return Finished(process.returncode, out_path.read_text(), err_path.read_text(), usage.ru_maxrss / 1024)
