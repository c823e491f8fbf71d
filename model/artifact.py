"""Versioned model artifacts: a directory holding weights.npz and manifest.json.

Writing is atomic: everything goes into a temporary sibling directory which is renamed into
place only when complete, so an interrupted run never leaves a half-written artifact and never
damages an existing one. Loading verifies the checksum, the alphabet and every shape, and
raises ArtifactError naming the file and the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.alphabet import ALPHABET
from model.language_model import Architecture, LanguageModel, Params, architecture
from model.names import check_name

FORMAT_VERSION = 2
# The committed artifact, relative to the repository root: the default of every command.
DEFAULT_ARTIFACT = Path("artifacts/char-rnn-assignment")
WEIGHTS_FILE = "weights.npz"
MANIFEST_FILE = "manifest.json"


class ArtifactError(Exception):
    """An artifact is missing, corrupted or inconsistent; the message names file and reason."""


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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save(
    directory: str | Path,
    params: Params,
    manifest: dict[str, Any],
    force: bool = False,
    extra_files: Callable[[Path], None] | None = None,
) -> Path:
    """Write params and manifest (plus weights_sha256, format_version, alphabet) atomically.

    The manifest names the "architecture" (model.language_model.ARCHITECTURES) and the
    "context"; the arrays saved are that architecture's parameters.

    `extra_files(tmp_dir)` may add files (a plot) before the directory is moved into place.
    An existing artifact is replaced only with force=True.
    """
    target = Path(directory)
    names = architecture(manifest["architecture"]).param_names
    if target.exists() and not force:
        raise FileExistsError(f"{target}: an artifact already exists there; pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a service running as another user reads it
        weights_path = tmp / WEIGHTS_FILE
        with open(weights_path, "wb") as stream:
            arrays: dict[str, Any] = {name: np.asarray(params[name]) for name in names}
            np.savez(stream, **arrays)
        full_manifest = {
            "format_version": FORMAT_VERSION,
            "alphabet": ALPHABET,
            **manifest,
            "weights_sha256": sha256_file(weights_path),
        }
        with open(tmp / MANIFEST_FILE, "w", encoding="utf-8") as stream:
            json.dump(full_manifest, stream, indent=2, sort_keys=False)
            stream.write("\n")
        if extra_files is not None:
            extra_files(tmp)
        _fsync_dir_contents(tmp)
        _replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _fsync_dir_contents(directory: Path) -> None:
    for path in directory.iterdir():
        with open(path, "rb") as stream:
            os.fsync(stream.fileno())


def _replace_dir(tmp: Path, target: Path) -> None:
    """Move tmp to target; an old target is moved aside first and removed only afterwards."""
    if not target.exists():
        os.rename(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rmdir(old)
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def load(directory: str | Path) -> Artifact:
    """Load and verify an artifact; ArtifactError names the file and what is wrong."""
    root = Path(directory)
    if not root.is_dir():
        raise ArtifactError(f"{root}: artifact directory not found")
    manifest = _read_manifest(root / MANIFEST_FILE)
    _check_served_name(root, manifest)
    weights_path = root / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ArtifactError(f"{weights_path}: file not found")
    actual = sha256_file(weights_path)
    if actual != manifest["weights_sha256"]:
        raise ArtifactError(
            f"{weights_path}: checksum mismatch (sha256 {actual}, manifest says {manifest['weights_sha256']})"
        )
    params = _read_weights(weights_path, architecture(manifest["architecture"]).param_names)
    _check_shapes(weights_path, params, manifest)
    return Artifact(path=root, params=params, manifest=manifest)


def _check_served_name(root: Path, manifest: dict[str, Any]) -> None:
    """ArtifactError unless the model's name (the manifest's, else the directory's) is safe to
    write into a path, a log line and a metric label (model/names.py)."""
    try:
        check_name(manifest.get("name", root.name))
    except ValueError as error:
        raise ArtifactError(f"{root / MANIFEST_FILE}: field name: {error}") from None


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ArtifactError(f"{path}: file not found")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path}: expected a JSON object")
    required = ("format_version", "alphabet", "architecture", "n_hidden", "context", "weights_sha256")
    missing = [key for key in required if key not in manifest]
    if missing:
        raise ArtifactError(f"{path}: missing fields {missing}")
    version = manifest["format_version"]
    if isinstance(version, bool) or version != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: format_version {version!r} is not supported (expected {FORMAT_VERSION})"
        )
    try:
        architecture(manifest["architecture"])
    except ValueError as error:
        raise ArtifactError(f"{path}: {error}") from None
    if manifest["alphabet"] != ALPHABET:
        raise ArtifactError(f"{path}: alphabet {manifest['alphabet']!r} differs from {ALPHABET!r}")
    for key in ("n_hidden", "context"):
        value = manifest[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ArtifactError(f"{path}: {key} must be a positive integer, got {value!r}")
    return manifest


def _read_weights(path: Path, expected: tuple[str, ...]) -> Params:
    if not zipfile.is_zipfile(path):
        raise ArtifactError(f"{path}: unreadable (not a .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = set(archive.files)
            if names != set(expected):
                raise ArtifactError(f"{path}: holds arrays {sorted(names)}, expected {list(expected)}")
            params = {name: archive[name] for name in expected}
    except ArtifactError:
        raise
    except ValueError as error:
        if "pickle" in str(error):
            raise ArtifactError(f"{path}: contains a pickled object array, refused") from None
        raise ArtifactError(f"{path}: unreadable ({error})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise ArtifactError(f"{path}: unreadable ({error})") from None
    return params


def _check_shapes(path: Path, params: Params, manifest: dict[str, Any]) -> None:
    """The architecture's check_params for the shapes, then the sizes the manifest and the
    alphabet fix."""
    network = architecture(manifest["architecture"])
    for name in ("U", "V"):  # check_params reads its sizes from these two matrices
        if params[name].ndim != 2:
            raise ArtifactError(
                f"{path}: {name} has shape {params[name].shape}, expected a matrix (shape mismatch)"
            )
    try:
        n_in, n_hidden, n_out = network.check_params(params)
    except ValueError as error:
        raise ArtifactError(f"{path}: {str(error).removeprefix('params: ')} (shape mismatch)") from None
    n_symbols = len(ALPHABET)
    if (n_hidden, n_in) != (manifest["n_hidden"], n_symbols):
        rows = params["U"].shape[0] // n_hidden * manifest["n_hidden"]
        expected = (rows, n_symbols)
        raise ArtifactError(f"{path}: U has shape {params['U'].shape}, expected {expected} (shape mismatch)")
    if n_out != n_symbols:
        expected = (n_symbols, n_hidden)
        raise ArtifactError(f"{path}: V has shape {params['V'].shape}, expected {expected} (shape mismatch)")
    for name in network.param_names:
        array = params[name]
        if not np.issubdtype(array.dtype, np.floating):
            raise ArtifactError(f"{path}: {name} has dtype {array.dtype}, expected floating point")
        if not np.all(np.isfinite(array)):
            raise ArtifactError(f"{path}: {name} contains NaN or infinity")
