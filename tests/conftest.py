"""Session fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.utils.artifacts import build_artifact


@pytest.fixture(scope="session")
def small_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 27-16-27 net with seq_length 10, shared by the whole session; never modify it."""
    return build_artifact(tmp_path_factory.mktemp("artifacts") / "small")
