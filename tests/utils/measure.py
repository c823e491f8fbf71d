"""A child process run to its end, with its own peak RSS as the kernel counted it.

The kernel's ru_maxrss of a child also counts the memory of the process it was forked from,
up to its exec; a test runner may hold hundreds of MB. So a small launcher (`python -I -S`,
about 10 MB) starts the child and reads the child's ru_maxrss from wait4: the figure is the
child's peak, plus at most the launcher's own few MB.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# argv: report path, seconds allowed, then the command; a child still running then is killed.
LAUNCHER = """
import os, signal, sys, time
pid = os.posix_spawn(sys.argv[3], sys.argv[3:], os.environ)
deadline = time.monotonic() + float(sys.argv[2])
while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
    if time.monotonic() > deadline:
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.02)
with open(sys.argv[1], "w") as report:
    report.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float


def run_measured(
    args: list[str], cwd: Path, env: dict[str, str], log_dir: Path, seconds: float = 60.0
) -> Finished:
    """Run args to their end, or kill them after `seconds` (status -9); their exit status,
    output and peak RSS in MB."""
    out_path, err_path, report = log_dir / "stdout", log_dir / "stderr", log_dir / "rusage"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(report), str(seconds), *args]
        subprocess.run(launcher, cwd=cwd, env=env, stdout=out, stderr=err, check=True)
    status, max_rss_kb = (int(field) for field in report.read_text().split())
    return Finished(status, out_path.read_text(), err_path.read_text(), max_rss_kb / 1024)
