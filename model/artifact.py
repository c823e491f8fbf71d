"""Versioned model artifacts: a directory holding weights.npz and manifest.json.

Writing is atomic: everything goes into a temporary sibling directory which is renamed into
place only when complete, so an interrupted run never leaves a half-written artifact and never
damages an existing one; only an artifact directory is ever replaced. Replacing takes two
renames (the old artifact aside, the new one in place); a writer killed between them leaves the
old one aside, and the next writer puts it back (`recover_interrupted_save`) before removing
leftovers. Loading checks the manifest (model/artifact_checks.py), the weights' checksum, each
array's header before its data (model/artifact_weights.py) and a forward pass, and raises
ArtifactError naming the file and the reason; the checksum is of the very bytes parsed, read
once. save() runs the same checks on what it wrote before moving it into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model import artifact_weights
from model.alphabet import ALPHABET
from model.artifact_checks import FORMAT_VERSION, ArtifactError, read_manifest, sign
from model.language_model import Architecture, LanguageModel, Params, architecture
from model.names import check_name

__all__ = ["FORMAT_VERSION", "Artifact", "ArtifactError", "committed_artifacts", "load", "save", "sign"]
# The committed artifacts, relative to the repository root (the current directory of `make` and
# of the container): the service serves them all and `python -m training.evaluate` checks them
# all unless told otherwise.
COMMITTED_ARTIFACTS = Path("artifacts")
# The same directory in the checkout these modules were loaded from (a clone, or an editable
# install), for a command started from another directory.
CHECKOUT_ARTIFACTS = Path(__file__).resolve().parents[1] / COMMITTED_ARTIFACTS
# The assignment's committed artifact: the one the benchmarks and the shipped-artifact tests load.
DEFAULT_ARTIFACT = COMMITTED_ARTIFACTS / "char-rnn-assignment"
WEIGHTS_FILE = "weights.npz"
MANIFEST_FILE = "manifest.json"


def committed_artifacts() -> Path:
    """COMMITTED_ARTIFACTS under the current directory, else the checkout's, else the relative
    path (which is not there, so whoever reads it names where it looked)."""
    if COMMITTED_ARTIFACTS.is_dir() or not CHECKOUT_ARTIFACTS.is_dir():
        return COMMITTED_ARTIFACTS
    return CHECKOUT_ARTIFACTS


@dataclass(frozen=True)
class Artifact:
    """A verified artifact: its weights and its manifest."""

    path: Path
    params: Params
    manifest: dict[str, Any]

    @property
    def context(self) -> int:
        """Characters the model reads before each guess."""
        return int(self.manifest["context"])

    @property
    def architecture(self) -> Architecture:
        return architecture(str(self.manifest["architecture"]))

    @property
    def model(self) -> LanguageModel:
        return LanguageModel(self.architecture, self.params, self.context)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.path.name))


def sha256_bytes(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_artifact(path: Path) -> bool:
    """A directory (not a link) holding manifest.json and weights.npz."""
    return (
        path.is_dir()
        and not path.is_symlink()
        and (path / MANIFEST_FILE).is_file()
        and (path / WEIGHTS_FILE).is_file()
    )


def check_target(target: Path, force: bool) -> None:
    """FileExistsError unless target is absent, an empty directory, or (with force) an artifact:
    nothing that is not an artifact is ever replaced."""
    if not target.exists() and not target.is_symlink():
        return
    if target.is_symlink():
        raise FileExistsError(f"{target}: a symbolic link, not an artifact directory; refusing to replace it")
    if not target.is_dir():
        raise FileExistsError(f"{target}: a file, not an artifact directory; refusing to replace it")
    if is_artifact(target):
        if not force:
            raise FileExistsError(f"{target}: an artifact already exists there; pass --force to replace it")
        return
    if any(target.iterdir()):
        raise FileExistsError(
            f"{target}: a directory that is not an artifact (no {MANIFEST_FILE} and {WEIGHTS_FILE}); "
            "refusing to replace it"
        )


def recover_interrupted_save(target: Path) -> Path | None:
    """Put back the artifact that a writer killed between its two renames left aside.

    With `target` absent, the newest `.NAME.old-PID-*` artifact of a writer no longer running
    is renamed to `target` (its replacement never finished, so it stays the last complete
    artifact). Returns what was restored, or None.
    """
    if target.exists() or target.is_symlink() or not target.parent.is_dir():
        return None
    candidates = [path for path in _leftovers(target, "old") if is_artifact(path)]
    if not candidates:
        return None
    newest = max(candidates, key=lambda path: path.stat().st_mtime)
    os.rename(newest, target)
    return newest


def _leftovers(target: Path, kind: str) -> list[Path]:
    """The `.NAME.{kind}-PID-*` directories of writers that are no longer running."""
    found = []
    for path in target.parent.glob(f".{target.name}.{kind}-*-*"):
        pid = path.name.removeprefix(f".{target.name}.{kind}-").split("-", 1)[0]
        if pid.isdigit() and path.is_dir() and not path.is_symlink() and not _alive(int(pid)):
            found.append(path)
    return found


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove the `.NAME.tmp-PID-*` and `.NAME.old-PID-*` directories of writers that are no
    longer running (killed mid-write); a live writer's stay. Returns what was removed."""
    recover_interrupted_save(target)  # never remove the last complete artifact as a leftover
    removed = []
    for kind in ("tmp", "old"):
        for path in _leftovers(target, kind):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def save(
    directory: str | Path,
    params: Params,
    manifest: dict[str, Any],
    force: bool = False,
    extra_files: Callable[[Path], None] | None = None,
) -> Path:
    """Write params and manifest (plus weights_sha256, format_version, alphabet and the
    manifest's own checksum) atomically, after loading them back as load() would.

    The manifest names the "architecture" (model.language_model.ARCHITECTURES), the
    "context" and the "hyperparameters" (with "seq_length" and "dtype"); the arrays saved are
    that architecture's parameters.

    `extra_files(tmp_dir)` may add files (a plot) before the directory is moved into place.
    An existing artifact is replaced only with force=True; nothing else is ever replaced.
    """
    target = Path(directory)
    names = architecture(manifest["architecture"]).param_names
    recover_interrupted_save(target)
    check_target(target, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a service running as another user reads it
        weights_path = tmp / WEIGHTS_FILE
        arrays: dict[str, Any] = {name: np.asarray(params[name]) for name in names}
        with _naming(weights_path), open(weights_path, "wb") as stream:
            np.savez(stream, **arrays)
        full_manifest = {
            "format_version": FORMAT_VERSION,
            "alphabet": ALPHABET,
            **manifest,
            "weights_sha256": sha256_file(weights_path),
        }
        with _naming(tmp / MANIFEST_FILE), open(tmp / MANIFEST_FILE, "w", encoding="utf-8") as stream:
            json.dump(sign(full_manifest), stream, indent=2, sort_keys=False)
            stream.write("\n")
        read_verified(tmp)  # never move into place what load() would refuse
        if extra_files is not None:
            extra_files(tmp)
        _fsync_dir_contents(tmp)
        _replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """An OSError while writing `path` (a full disk) names it, as open() alone would not."""
    try:
        yield
    except OSError as error:
        if error.filename is not None or error.errno is None:
            raise
        raise OSError(error.errno, error.strerror, str(path)) from error


def _fsync_dir_contents(directory: Path) -> None:
    for path in directory.iterdir():
        with open(path, "rb") as stream:
            os.fsync(stream.fileno())


def _replace_dir(tmp: Path, target: Path) -> None:
    """Move tmp to target (an empty directory is replaced by the rename itself); an old
    artifact is moved aside first and removed only afterwards."""
    if not target.exists() or not any(target.iterdir()):
        os.rename(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-{os.getpid()}-", dir=target.parent))
    os.rmdir(old)
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old)


def load(directory: str | Path) -> Artifact:
    """Load and verify an artifact; ArtifactError names the file and what is wrong."""
    root = Path(directory)
    manifest, params = read_verified(root)
    _check_served_name(root, manifest)
    return Artifact(path=root, params=params, manifest=manifest)


def _check_served_name(root: Path, manifest: dict[str, Any]) -> None:
    """ArtifactError unless the model's name (the manifest's, else the directory's) is safe to
    write into a path, a log line and a metric label (model/names.py)."""
    try:
        check_name(manifest.get("name", root.name))
    except ValueError as error:
        raise ArtifactError(f"{root / MANIFEST_FILE}: field name: {error}") from None


def read_verified(root: Path) -> tuple[dict[str, Any], Params]:
    """The manifest and weights of the artifact at root, after every check."""
    if not root.is_dir():
        raise ArtifactError(f"{root}: artifact directory not found")
    manifest = read_manifest(root / MANIFEST_FILE)
    weights_path = root / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ArtifactError(f"{weights_path}: file not found")
    raw = artifact_weights.read_bounded(weights_path)  # hashed and parsed: one read, one version
    actual = sha256_bytes(raw)
    if actual != manifest["weights_sha256"]:
        raise ArtifactError(
            f"{weights_path}: checksum mismatch (sha256 {actual}, "
            f"manifest says {str(manifest['weights_sha256'])[:64]})"
        )
    params = artifact_weights.read_weights(weights_path, manifest, raw)
    artifact_weights.check_finite(weights_path, params)
    network = architecture(manifest["architecture"])
    artifact_weights.self_test(weights_path, LanguageModel(network, params, manifest["context"]))
    return manifest, params
