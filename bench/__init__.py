"""Benchmarks of training and serving, side by side with the alternatives.

Run them all with `make bench` (or `python -m bench`); one with `python -m bench --only NAME`.
Never part of `make test`: they take minutes and their figures depend on the machine.
"""
