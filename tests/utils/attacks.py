"""Hostile artifacts, each made from a copy of a good one: the attacks the loader,
`python -m service` and `python -m training.evaluate` refuse.

Each attack rewrites what it must so that only its own fault is left: a new weights.npz gets
its weights_sha256, and an edit is re-signed unless the attack is the unsigned edit itself.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy

from model.artifact import MANIFEST_FILE, WEIGHTS_FILE, sha256_file, sign


def read_manifest(directory: Path) -> dict[str, Any]:
    return json.loads((directory / MANIFEST_FILE).read_text())


def write_manifest(directory: Path, manifest: dict[str, Any], signed: bool = True) -> Path:
    path = directory / MANIFEST_FILE
    path.write_text(json.dumps(sign(manifest) if signed else manifest))
    return path


def edit_manifest(directory: Path, signed: bool = True, **changes: Any) -> Path:
    """Change top-level fields; re-signed so that only the change itself is wrong."""
    return write_manifest(directory, {**read_manifest(directory), **changes}, signed)


def npy_bytes(array: np.ndarray[Any, Any]) -> bytes:
    stream = io.BytesIO()
    npy.write_array(stream, array, allow_pickle=False)
    return stream.getvalue()


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    stream = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    npy.write_array_header_1_0(stream, header)
    return stream.getvalue()


def current_members(directory: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(directory / WEIGHTS_FILE) as archive:
        return {name.removesuffix(".npy"): archive.read(name) for name in archive.namelist()}


def write_weights(directory: Path, members: dict[str, bytes], deflated: bool = False) -> None:
    """weights.npz holding these .npy members; the manifest's checksums follow."""
    path = directory / WEIGHTS_FILE
    method = zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method, compresslevel=9 if deflated else None) as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
    edit_manifest(directory, weights_sha256=sha256_file(path))


def replace_arrays(directory: Path, **arrays: np.ndarray[Any, Any]) -> None:
    members = current_members(directory)
    write_weights(directory, {**members, **{name: npy_bytes(a) for name, a in arrays.items()}})


def params(directory: Path) -> dict[str, np.ndarray[Any, Any]]:
    with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def append_to_manifest(directory: Path, raw_json_value: str) -> None:
    """A field whose JSON text is given raw, for values json.dumps cannot write or Python cannot read."""
    text = json.dumps(read_manifest(directory))
    (directory / MANIFEST_FILE).write_text(f'{text[:-1]}, "extra": {raw_json_value}}}')


BOMB_BYTES = 1_600_000_000
_bomb_cache: dict[str, bytes] = {}


def zip_bomb(directory: Path) -> None:
    """W.npy deflated: a 1.6 GB array of zeros in about 1.6 MB (built once per session)."""
    members = current_members(directory)
    key = str(sorted((name, len(data)) for name, data in members.items()))
    if key not in _bomb_cache:
        stream = io.BytesIO()
        with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for name, data in members.items():
                if name != "W":
                    archive.writestr(f"{name}.npy", data)
            with archive.open("W.npy", "w", force_zip64=True) as member:
                member.write(npy_header((BOMB_BYTES // 8 // 10_000, 10_000)))
                zeros = bytes(1 << 24)
                for _ in range(BOMB_BYTES // len(zeros)):
                    member.write(zeros)
                member.write(bytes(BOMB_BYTES % len(zeros)))
        _bomb_cache[key] = stream.getvalue()
    (directory / WEIGHTS_FILE).write_bytes(_bomb_cache[key])
    edit_manifest(directory, weights_sha256=sha256_file(directory / WEIGHTS_FILE))


def padded_member(directory: Path) -> None:
    """W.npy's header is right, but the member goes on for 50 MB (deflated to about 50 KB)."""
    members = current_members(directory)
    write_weights(directory, {**members, "W": members["W"] + bytes(50_000_000)}, deflated=True)


def overflowing_weights(directory: Path) -> None:
    """Finite float32 weights whose output layer overflows: V = 3e38 (the float32 maximum is
    3.4e38), and b = 1 so that every h_t holds units of at least 1."""
    arrays = {name: array.astype(np.float32) for name, array in params(directory).items()}
    arrays["V"][:] = np.float32(3e38)
    arrays["b"][:] = np.float32(1.0)
    write_weights(directory, {name: npy_bytes(array) for name, array in arrays.items()})
    manifest = read_manifest(directory)
    edit_manifest(directory, hyperparameters={**manifest["hyperparameters"], "dtype": "float32"})


def nested_metric(directory: Path, split: str, **changes: Any) -> None:
    manifest = read_manifest(directory)
    manifest["metrics"][split] |= changes
    write_manifest(directory, manifest)


def hyperparameter(directory: Path, **changes: Any) -> None:
    manifest = read_manifest(directory)
    edit_manifest(directory, hyperparameters={**manifest["hyperparameters"], **changes})


def huge_context(directory: Path) -> None:
    hyperparameter(directory, seq_length=10**9)
    edit_manifest(directory, context=10**9)


def converted(directory: Path, name: str, dtype: str) -> None:
    replace_arrays(directory, **{name: params(directory)[name].astype(dtype)})


@dataclass(frozen=True)
class Attack:
    name: str
    apply: Callable[[Path], object]
    refusal: str  # a regular expression the one-line refusal must match


ATTACKS = (
    Attack(
        "100k nested arrays",
        lambda d: append_to_manifest(d, "[" * 100_000 + "]" * 100_000),
        r"manifest\.json: not valid JSON \(nested too deeply\)",
    ),
    Attack(
        "5,000-digit integer",
        lambda d: append_to_manifest(d, "9" * 5000),
        r"manifest\.json: not valid JSON \(Exceeds the limit \(4300 digits\)",
    ),
    Attack(
        "2 MB manifest",
        lambda d: edit_manifest(d, padding="x" * 2_000_000),
        r"manifest\.json: 2,00\d,\d{3} bytes, over the limit of 1,048,576",
    ),
    Attack(
        "NaN in the manifest",
        lambda d: append_to_manifest(d, "NaN"),
        r"manifest\.json: not valid JSON \(NaN is not a JSON number\)",
    ),
    Attack(
        "edited, not re-signed",
        lambda d: edit_manifest(d, signed=False, context=3),
        r"manifest\.json: manifest_sha256 mismatch, the manifest was edited after it was written",
    ),
    Attack(
        "made-up metrics, not re-signed",
        lambda d: edit_manifest(d, signed=False, metrics={"test": {"accuracy": 0.99, "samples": 1}}),
        r"manifest\.json: manifest_sha256 mismatch",
    ),
    Attack(
        "checksum removed",
        lambda d: write_manifest(
            d, {k: v for k, v in sign(read_manifest(d)).items() if k != "manifest_sha256"}, signed=False
        ),
        r"manifest\.json: missing fields \['manifest_sha256'\]",
    ),
    Attack(
        "context 3 while seq_length is 10",
        lambda d: edit_manifest(d, context=3),
        r"manifest\.json: hyperparameters\.seq_length 10 differs from context 3",
    ),
    Attack(
        "seq_length 3 while context is 10",
        lambda d: hyperparameter(d, seq_length=3),
        r"manifest\.json: hyperparameters\.seq_length 3 differs from context 10",
    ),
    Attack("context 10^9", huge_context, r"manifest\.json: context must be in 1\.\.4096, got 1000000000"),
    Attack(
        "n_hidden 10^6",
        lambda d: edit_manifest(d, n_hidden=10**6),
        r"manifest\.json: n_hidden must be in 1\.\.4096, got 1000000",
    ),
    Attack(
        "format_version true",
        lambda d: edit_manifest(d, format_version=True),
        r"manifest\.json: format_version True is not supported \(expected 2\)",
    ),
    Attack(
        "accuracy 1.5",
        lambda d: nested_metric(d, "test", accuracy=1.5),
        r"manifest\.json: metrics\.test: accuracy must be a number in \[0, 1\], got 1\.5",
    ),
    Attack(
        "samples that disagree with the data",
        lambda d: nested_metric(d, "test", samples=5),
        r"manifest\.json: metrics\.test: samples 5 differs from the \d+ positions in data",
    ),
    Attack(
        "hyperparameters.dtype float16",
        lambda d: hyperparameter(d, dtype="float16"),
        r"manifest\.json: hyperparameters\.dtype must be one of \['float32', 'float64'\]",
    ),
    Attack(
        "header claiming shape (10^6, 10^6)",
        lambda d: write_weights(d, {**current_members(d), "W": npy_header((10**6, 10**6)) + bytes(1024)}),
        r"weights\.npz: W has shape \(1000000, 1000000\), expected \(16, 16\) \(shape mismatch\)",
    ),
    Attack(
        "zip bomb, 1.6 MB inflating to 1.6 GB",
        zip_bomb,
        r"weights\.npz: inflates to 1,600,\d{3},\d{3} bytes, over the limit of 67,108,864 \(refused before",
    ),
    Attack(
        "a member longer than its header says",
        padded_member,
        r"weights\.npz: W\.npy holds 50,002,\d{3} bytes, its header implies 2,\d{3}",
    ),
    Attack(
        "float16 weights", lambda d: converted(d, "W", "<f2"), r"weights\.npz: W has dtype <f2, expected <f8"
    ),
    Attack(
        "big-endian weights",
        lambda d: converted(d, "U", ">f8"),
        r"weights\.npz: U has dtype >f8, expected <f8",
    ),
    Attack(
        "mixed dtypes", lambda d: converted(d, "V", "<f4"), r"weights\.npz: V has dtype <f4, expected <f8"
    ),
    Attack(
        "Fortran order",
        lambda d: replace_arrays(d, W=np.asfortranarray(params(d)["W"].T)),
        r"weights\.npz: W is in Fortran order, expected C order",
    ),
    Attack(
        "finite weights that overflow (V = 3e38)",
        overflowing_weights,
        r"weights\.npz: the self-test forward pass gives probabilities that are not finite",
    ),
)
# What a real process is asked to refuse: the cases that cost memory or gave a traceback.
PROCESS_ATTACKS = tuple(
    attack
    for attack in ATTACKS
    if attack.name
    in {
        "100k nested arrays",
        "5,000-digit integer",
        "2 MB manifest",
        "header claiming shape (10^6, 10^6)",
        "zip bomb, 1.6 MB inflating to 1.6 GB",
        "a member longer than its header says",
        "finite weights that overflow (V = 3e38)",
        "seq_length 3 while context is 10",
    }
)


def attacked_copy(source: Path, target: Path, attack: Attack) -> Path:
    shutil.copytree(source, target)
    attack.apply(target)
    return target
