"""The tests, and the scripts that rewrite the documentation's examples.

A matrix product's rounding depends on how BLAS splits it across threads, and
`python -m service` pins one BLAS thread; so the tests, and the README sessions they check
byte for byte, compute with one thread too: set here, before anything imports NumPy.
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
