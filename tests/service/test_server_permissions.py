"""Permission faults at start: one line on stderr and exit status 2, as the image's non-root user.

The tests run as root, which may read everything, so each fault is real but the server runs as
uid/gid 65534 (nobody), switched to by util-linux's setpriv before Python starts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.registry import artifact_directories
from tests.utils.client import ExplicitSettings
from tests.utils.server import free_port, service_env

AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="switching to another user needs root and setpriv",
)


@pytest.fixture
def shared(small_artifact: Path) -> Iterator[Path]:
    """A directory every user may enter (pytest's tmp_path is root's alone), with artifacts/m."""
    root = Path(tempfile.mkdtemp(prefix="permissions-", dir="/tmp"))
    try:
        shutil.copytree(small_artifact, root / "artifacts" / "m")
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield root
    finally:
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755)
        shutil.rmtree(root)


def start_as_nobody(cwd: Path, **env: str) -> str:
    """`python -m service` as nobody: it must exit with 2 and one line on stderr."""
    result = subprocess.run(
        [*AS_NOBODY, sys.executable, "-m", "service"],
        cwd=cwd,
        # Not measured by coverage: nobody may not write its data file into the checkout.
        env={
            key: value
            for key, value in {**service_env(None, free_port()), **env}.items()
            if "COVERAGE" not in key
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, len(result.stderr.strip().splitlines())) == (2, 1), result.stderr
    return result.stderr.strip()


def test_an_unreadable_weights_file(shared: Path) -> None:
    (shared / "artifacts" / "m" / "weights.npz").chmod(0o000)
    line = start_as_nobody(shared, CHAR_RNN_ARTIFACTS=str(shared / "artifacts"))
    assert line == f"error: {shared}/artifacts/m/weights.npz: unreadable (Permission denied)"


def test_an_artifacts_directory_that_cannot_be_listed(shared: Path) -> None:
    (shared / "artifacts").chmod(0o311)
    line = start_as_nobody(shared, CHAR_RNN_ARTIFACTS=str(shared / "artifacts"))
    assert line == f"error: {shared}/artifacts: Permission denied (check that the service's user may read it)"


def test_a_lost_and_found_of_mode_0700_is_not_an_artifact(shared: Path) -> None:
    (shared / "artifacts" / "m").rename(shared / "m")
    (shared / "artifacts" / "lost+found").mkdir(mode=0o700)
    line = start_as_nobody(shared, CHAR_RNN_ARTIFACTS=str(shared / "artifacts"))
    assert line == f"error: {shared}/artifacts: no artifact directory in it (CHAR_RNN_ARTIFACTS)"
    (shared / "m").rename(shared / "artifacts" / "m")
    settings = ExplicitSettings(CHAR_RNN_ARTIFACTS=(shared / "artifacts",))
    assert artifact_directories(settings) == [shared / "artifacts" / "m"]


def test_an_unreadable_working_directory(shared: Path) -> None:
    shared.chmod(0o700)  # root's: nobody may not look inside
    line = start_as_nobody(shared)
    # The service looks for artifacts/ in the working directory first: that lookup is refused.
    assert (
        line
        == f"error: {shared / 'artifacts'}: Permission denied (check that the service's user may read it)"
    )
