"""Session fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.utils.artifacts import build_artifact


@pytest.fixture(scope="session")
def small_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 27-16-27 net with seq_length 10, shared by the whole session; never modify it."""
    return build_artifact(tmp_path_factory.mktemp("artifacts") / "small")


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The real corpus that CHAR_RNN_CORPUS names; the test is skipped without it."""
    path = os.environ.get("CHAR_RNN_CORPUS")
    if not path or not Path(path).is_file():
        pytest.skip("CHAR_RNN_CORPUS is not set to an existing file")
    return Path(path)
