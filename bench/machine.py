"""What the figures were measured on: CPU, cores, load, NumPy's BLAS, PyTorch's version."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import time
from pathlib import Path


def cpu_model() -> str:
    """The 'model name' line of /proc/cpuinfo, or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: another process's work shows up here."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def busy_seconds() -> float:
    """CPU seconds all processes have spent busy since boot, summed over cores (/proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class Contention:
    """How much of the machine other processes used while a measurement ran.

    with Contention() as other: ...; other.share(own_cpu_seconds) -> fraction of all cores.
    """

    def __enter__(self) -> Contention:
        self.busy, self.started = busy_seconds(), time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.busy = busy_seconds() - self.busy
        self.wall = time.perf_counter() - self.started

    def share(self, own_cpu_seconds: float) -> float:
        return max(0.0, self.busy - own_cpu_seconds) / (self.wall * (os.cpu_count() or 1))


def blas_description() -> str:
    """NumPy's BLAS library and version, as numpy.show_config reports them."""
    import numpy as np

    config = np.show_config(mode="dicts")
    blas = config.get("Build Dependencies", {}).get("blas", {})
    name, version = blas.get("name", "unknown"), blas.get("version", "")
    detail = blas.get("openblas configuration", "")
    return f"{name} {version}".strip() + (f" ({detail})" if detail else "")


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def describe() -> list[str]:
    """One line per fact, ready to print."""
    import numpy as np

    return [
        f"CPU: {cpu_model()}, {os.cpu_count()} logical cores",
        f"load average at start: {load_average()}",
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}",
        f"numpy {np.__version__}, BLAS: {blas_description()}",
        f"torch {package_version('torch')}",
    ]
