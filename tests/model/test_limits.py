"""The NumPy-free names and bounds agree with the modules that use them."""

from __future__ import annotations

from model.language_model import ARCHITECTURES
from model.limits import ARCHITECTURE_NAMES


def test_the_architecture_names_are_the_architectures() -> None:
    assert ARCHITECTURE_NAMES == tuple(ARCHITECTURES)
