"""Each hostile artifact of tests/utils/attacks.py handed to `python -m service`: its exit
status, its last line on stderr, the wall time to refuse and the peak RSS (tests/utils/measure.py),
after load() of the good artifact each attack starts from.

python -m bench.artifact_attacks [--code DIR]

--code runs the service of another checkout (an export of an older commit) on the same
attacks, for the figures before the checks.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tests.utils.artifacts import build_artifact
from tests.utils.attacks import ATTACKS, attacked_copy
from tests.utils.measure import run_measured
from tests.utils.server import REPO_ROOT, free_port, service_env

LOAD_ONLY = "import sys; from model.artifact import load; load(sys.argv[1])"


def measure(command: list[str], directory: Path, scratch: Path, code: Path) -> tuple[int, float, float, str]:
    began = time.perf_counter()
    finished = run_measured(command, code, service_env(directory, free_port()), scratch, seconds=15)
    seconds = time.perf_counter() - began
    line = finished.stderr.strip().splitlines()[-1] if finished.stderr.strip() else ""
    if finished.returncode == -9:
        line = "served: still running after 15 s, killed"
    return finished.returncode, seconds, finished.peak_rss_mb, line.replace(str(directory), "DIR")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.artifact_attacks", description=__doc__)
    parser.add_argument("--code", type=Path, default=REPO_ROOT, help="checkout whose service runs")
    code = parser.parse_args(argv).code.resolve()
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        good = build_artifact(root / "good")
        status, seconds, rss, _ = measure([sys.executable, "-c", LOAD_ONLY, str(good)], good, root, code)
        print(f"{'good artifact, load() only':45} exit {status}  {seconds:5.2f} s  {rss:6.1f} MB")
        for index, attack in enumerate(ATTACKS):
            directory = attacked_copy(good, root / f"attack-{index}", attack)
            status, seconds, rss, line = measure([sys.executable, "-m", "service"], directory, root, code)
            print(f"{attack.name:45} exit {status}  {seconds:5.2f} s  {rss:6.1f} MB  {line[:90]}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
