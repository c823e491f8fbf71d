"""The BLAS thread count: the variables that set it, read before NumPy loads (so this module
imports no NumPy), and the count they give. The one list of those variables: the serve command,
the trainer, the benchmarks and the tests all set them through this module."""

from __future__ import annotations

import os

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def set_default_threads(count: int) -> None:
    """Ask for `count` BLAS threads unless the environment already says; only effective
    before NumPy is first imported."""
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, str(count))


def blas_threads() -> int:
    """Threads each BLAS call uses, as the environment set them before NumPy loaded; unset
    means one per core."""
    for variable in THREAD_VARIABLES:
        value = os.environ.get(variable, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1
