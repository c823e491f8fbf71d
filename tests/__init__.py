"""The tests, and the scripts that rewrite the documentation's examples.

A matrix product's rounding depends on how BLAS splits it across threads, and
`python -m service` pins one BLAS thread; so the tests, and the README sessions they check
byte for byte, compute with one thread too: set here, before anything imports NumPy.
"""

from model.blas import set_default_threads

set_default_threads(1)
