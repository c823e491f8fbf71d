"""Reading weights.npz in bounded memory, and the forward pass that proves the weights usable.

Before any array's data is read: the zip's directory must list exactly the architecture's
members, their uncompressed sizes must add up to at most MAX_WEIGHTS_BYTES (a zip bomb is
refused before it inflates), and each member's .npy header must give the shape the manifest
implies, the manifest's dtype (little-endian), C order, and a size that is the header's plus
the array's bytes. Then each array is read into a buffer of exactly that size.
"""

from __future__ import annotations

import io
import math
import os
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.lib import format as npy

from model.alphabet import ALPHABET_SIZE, encode
from model.artifact_checks import ArtifactError
from model.language_model import LanguageModel, Params, architecture

MAX_WEIGHTS_BYTES = 64 << 20  # uncompressed; the darwin-lstm recipe's weights take 19.5 MB
ZIP_OVERHEAD = 1 << 16  # bytes of zip headers and directory allowed beyond the arrays
SELF_TEST_TEXT = "the origin of species by means of natural selection "
SELF_TEST_MAX_LENGTH = 256


def expected_arrays(manifest: dict[str, Any]) -> tuple[dict[str, tuple[int, ...]], np.dtype[Any]]:
    """The shape of each array the manifest implies, and their one dtype (little-endian)."""
    network = architecture(manifest["architecture"])
    shapes = network.param_shapes(ALPHABET_SIZE, manifest["n_hidden"], ALPHABET_SIZE)
    return shapes, np.dtype(manifest["hyperparameters"]["dtype"]).newbyteorder("<")


def weights_bytes(shapes: dict[str, tuple[int, ...]], dtype: np.dtype[Any]) -> int:
    """Bytes of the arrays' data."""
    return sum(math.prod(shape) for shape in shapes.values()) * dtype.itemsize


def read_weights(path: Path, manifest: dict[str, Any], raw: bytes) -> Params:
    """The arrays of weights.npz (its bytes `raw`, read from `path`), each checked against the
    manifest before its data is read."""
    shapes, dtype = expected_arrays(manifest)
    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise ArtifactError(f"{path}: unreadable (not a .npz archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            _check_directory(path, archive, list(shapes))
            return {name: _read_member(path, archive, name, shapes[name], dtype) for name in shapes}
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as error:
        raise ArtifactError(f"{path}: unreadable ({error})") from None


def read_bounded(path: Path) -> bytes:
    """The file's bytes; one too large to hold the largest allowed arrays is refused unread
    (and one that grows while read, after the bound)."""
    limit = MAX_WEIGHTS_BYTES + ZIP_OVERHEAD
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > limit:
                raise ArtifactError(f"{path}: {size:,} bytes, over the limit of {MAX_WEIGHTS_BYTES:,}")
            raw = stream.read(limit + 1)
    except OSError as error:
        raise ArtifactError(f"{path}: unreadable ({error.strerror or error})") from None
    if len(raw) > limit:
        raise ArtifactError(f"{path}: {len(raw):,} bytes, over the limit of {MAX_WEIGHTS_BYTES:,}")
    return raw


def _check_directory(path: Path, archive: zipfile.ZipFile, names: list[str]) -> None:
    members = archive.infolist()
    found = [member.filename.removesuffix(".npy") for member in members]
    if sorted(found) != sorted(names) or any(not m.filename.endswith(".npy") for m in members):
        raise ArtifactError(f"{path}: holds arrays {sorted(found)}, expected {names}")
    total = sum(member.file_size for member in members)
    if total > MAX_WEIGHTS_BYTES:
        raise ArtifactError(
            f"{path}: inflates to {total:,} bytes, over the limit of {MAX_WEIGHTS_BYTES:,} "
            "(refused before inflating)"
        )


def _read_header(stream: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    version = npy.read_magic(stream)
    if version == (1, 0):
        header = npy.read_array_header_1_0(stream)
    elif version == (2, 0):
        header = npy.read_array_header_2_0(stream)
    else:
        raise ValueError(f".npy format version {version} is not supported")
    shape, fortran_order, dtype = header
    return tuple(shape), bool(fortran_order), np.dtype(dtype)


def _read_member(
    path: Path, archive: zipfile.ZipFile, name: str, shape: tuple[int, ...], dtype: np.dtype[Any]
) -> np.ndarray[Any, Any]:
    member = archive.getinfo(f"{name}.npy")
    with archive.open(member) as stream:
        found_shape, fortran_order, found_dtype = _read_header(stream)
        if found_dtype.hasobject:
            raise ArtifactError(f"{path}: contains a pickled object array, refused")
        if found_shape != shape:
            raise ArtifactError(f"{path}: {name} has shape {found_shape}, expected {shape} (shape mismatch)")
        if found_dtype.str != dtype.str:
            raise ArtifactError(
                f"{path}: {name} has dtype {found_dtype.str}, expected {dtype.str} "
                "(the manifest's hyperparameters.dtype, little-endian)"
            )
        if fortran_order:
            raise ArtifactError(f"{path}: {name} is in Fortran order, expected C order")
        nbytes = math.prod(shape) * dtype.itemsize
        if member.file_size != stream.tell() + nbytes:
            raise ArtifactError(
                f"{path}: {name}.npy holds {member.file_size:,} bytes, "
                f"its header implies {stream.tell() + nbytes:,}"
            )
        buffer = bytearray(nbytes)
        view, done = memoryview(buffer), 0
        while done < nbytes:
            count = stream.readinto(view[done:])  # type: ignore[attr-defined]
            if not count:
                raise ArtifactError(f"{path}: {name}.npy ends early")
            done += count
    return np.frombuffer(buffer, dtype).reshape(shape)


def check_finite(path: Path, params: Params) -> None:
    for name, array in params.items():
        if not np.all(np.isfinite(array)):
            raise ArtifactError(f"{path}: {name} contains NaN or infinity")


def self_test(path: Path, model: LanguageModel) -> None:
    """Three fixed windows through the model: each distribution must be finite and sum to 1.

    Finite weights may still overflow at inference (V = 3e38 in float32); this is where such an
    artifact is refused rather than served answering NaN.
    """
    length = min(model.context or SELF_TEST_MAX_LENGTH, SELF_TEST_MAX_LENGTH)
    text = encode(SELF_TEST_TEXT)
    windows = np.stack(
        [
            np.resize(text, length),
            np.zeros(length, np.int64),
            np.arange(length, dtype=np.int64) % ALPHABET_SIZE,
        ]
    )
    with np.errstate(all="ignore"):  # overflow is the finding, reported below as one line
        probabilities = model.probabilities(windows)
        sums = probabilities.sum(axis=1)
    if not (np.all(np.isfinite(probabilities)) and np.allclose(sums, 1.0, atol=1e-4)):
        raise ArtifactError(
            f"{path}: the self-test forward pass gives probabilities that are not finite "
            "or do not sum to 1 (the weights overflow at inference)"
        )
