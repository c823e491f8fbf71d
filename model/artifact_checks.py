"""The manifest's checks: read in bounded memory, protected by a checksum of its own content,
and every field checked against the others, so that an edit, even one re-signed, is refused
where it would change what is served.

The checksum ("manifest_sha256") is the sha256 of the manifest without that key, written as
canonical JSON (sorted keys, no spaces). It is not a signature: anyone may recompute it
(`sign`). It catches an edit made by hand or by a tool that does not know of it; the checks
of fields against each other and against the weights (model/artifact_weights.py) catch the
edits that would change what the model answers.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, TypeGuard

from model.alphabet import ALPHABET, ALPHABET_SIZE
from model.language_model import architecture
from model.limits import MAX_CONTEXT, MAX_HIDDEN

FORMAT_VERSION = 2
CHECKSUM_KEY = "manifest_sha256"
MAX_MANIFEST_BYTES = 1 << 20  # the largest manifest written holds about 10 KB
DTYPES = ("float32", "float64")
REQUIRED = (
    "format_version",
    "alphabet",
    "architecture",
    "n_hidden",
    "context",
    "hyperparameters",
    "metrics",
    "weights_sha256",
    CHECKSUM_KEY,
)


class ArtifactError(Exception):
    """An artifact is missing, corrupted or inconsistent; the message names file and reason."""


def canonical_sha256(manifest: dict[str, Any]) -> str:
    """sha256 of the manifest without its checksum, as sorted compact JSON."""
    content = {key: value for key, value in manifest.items() if key != CHECKSUM_KEY}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sign(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with its checksum (re)computed: for writers and for tests that edit one."""
    return {**manifest, CHECKSUM_KEY: canonical_sha256(manifest)}


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest at path, checked: size first, then JSON, checksum and fields."""
    if not path.is_file():
        raise ArtifactError(f"{path}: file not found")
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        raise ArtifactError(f"{path}: {size:,} bytes, over the limit of {MAX_MANIFEST_BYTES:,}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except RecursionError:
        raise ArtifactError(f"{path}: not valid JSON (nested too deeply)") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:  # ValueError: also 4,300+ digits
        raise ArtifactError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path}: expected a JSON object")
    check_fields(path, manifest)
    return manifest


def check_fields(path: Path, manifest: dict[str, Any]) -> None:
    """Every field the loader relies on, present, well formed and consistent."""
    if "format_version" in manifest:
        _check_version(path, manifest["format_version"])
    missing = [key for key in REQUIRED if key not in manifest]
    if missing:
        raise ArtifactError(f"{path}: missing fields {missing}")
    _check_checksum(path, manifest)
    try:
        architecture(manifest["architecture"])
    except ValueError as error:
        raise ArtifactError(f"{path}: {error}") from None
    if manifest["alphabet"] != ALPHABET:
        raise ArtifactError(f"{path}: alphabet {manifest['alphabet']!r} differs from {ALPHABET!r}")
    _check_sizes(path, manifest)
    _check_hyperparameters(path, manifest["hyperparameters"], manifest["context"])
    _check_measurements(path, manifest)
    _check_trained_text(path, manifest)
    if "refit" in manifest:
        _check_refit(path, manifest)


def _check_version(path: Path, version: object) -> None:
    if type(version) is not int or version != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: format_version {version!r} is not supported (expected {FORMAT_VERSION})"
        )


def _check_checksum(path: Path, manifest: dict[str, Any]) -> None:
    try:
        actual = canonical_sha256(manifest)
    except (RecursionError, ValueError) as error:
        raise ArtifactError(f"{path}: cannot be checksummed ({error})") from None
    if actual != manifest[CHECKSUM_KEY]:
        raise ArtifactError(
            f"{path}: {CHECKSUM_KEY} mismatch, the manifest was edited after it was written "
            f"(sha256 {actual}, manifest says {str(manifest[CHECKSUM_KEY])[:64]!r})"
        )


def is_count(value: object, low: int = 0, high: int | None = None) -> bool:
    """An int (not a bool) in low..high."""
    if type(value) is not int or value < low:
        return False
    return high is None or value <= high


def _check_sizes(path: Path, manifest: dict[str, Any]) -> None:
    for key, high in (("n_hidden", MAX_HIDDEN), ("context", MAX_CONTEXT)):
        value = manifest[key]
        if key == "context" and reads_whole_texts(manifest):
            continue
        if not is_count(value, 1):
            raise ArtifactError(f"{path}: {key} must be a positive integer, got {str(value)[:20]}")
        if value > high:
            raise ArtifactError(f"{path}: {key} must be in 1..{high}, got {str(value)[:20]}")
    for key in ("n_in", "n_out"):
        if key in manifest and manifest[key] != ALPHABET_SIZE:
            raise ArtifactError(f"{path}: {key} must be {ALPHABET_SIZE}, the alphabet's size")


def reads_whole_texts(manifest: dict[str, Any]) -> bool:
    """Context 0 with carry in the hyperparameters: a model that reads whole texts."""
    hyperparameters = manifest.get("hyperparameters")
    carried = isinstance(hyperparameters, dict) and hyperparameters.get("carry") is True
    return carried and type(manifest.get("context")) is int and manifest["context"] == 0


def _check_hyperparameters(path: Path, hyperparameters: object, context: int) -> None:
    if not isinstance(hyperparameters, dict):
        raise ArtifactError(f"{path}: hyperparameters must be an object")
    seq_length = hyperparameters.get("seq_length")
    if context == 0 and hyperparameters.get("carry") is True and is_count(seq_length, 1, MAX_CONTEXT):
        pass  # a model that reads whole texts trained on chunks of seq_length characters
    elif seq_length != context or type(seq_length) is not int:
        raise ArtifactError(
            f"{path}: hyperparameters.seq_length {str(seq_length)[:20]} differs from context {context}"
        )
    if hyperparameters.get("dtype") not in DTYPES:
        raise ArtifactError(f"{path}: hyperparameters.dtype must be one of {list(DTYPES)}")


def _check_measurements(path: Path, manifest: dict[str, Any]) -> None:
    """metrics and the baseline (both n-grams): ratios in [0, 1], counts that match the recorded
    positions."""
    data = manifest.get("data", {})
    if not isinstance(data, dict):
        raise ArtifactError(f"{path}: data must be an object")
    for split, where in data.items():
        if not (isinstance(where, dict) and is_count(where.get("start")) and is_count(where.get("end"))):
            raise ArtifactError(f"{path}: data.{split} must hold integer start and end")
        if where["end"] < where["start"]:
            raise ArtifactError(f"{path}: data.{split} ends before it starts")
    metrics, baseline = manifest["metrics"], manifest.get("baseline", {})
    if not isinstance(metrics, dict) or not isinstance(baseline, dict):
        raise ArtifactError(f"{path}: metrics and baseline must be objects")
    kneser_ney = baseline.get("kneser_ney", {})
    if not isinstance(kneser_ney, dict):
        raise ArtifactError(f"{path}: baseline.kneser_ney must be an object")
    recorded = {f"metrics.{split}": value for split, value in metrics.items()}
    recorded |= {f"baseline.{split}": value for split, value in baseline.items() if split in data}
    recorded |= {
        f"baseline.kneser_ney.{split}": value for split, value in kneser_ney.items() if split in data
    }
    for name, record in recorded.items():
        problem = _record_problem(record, data.get(name.rsplit(".", 1)[1]))
        if problem:
            raise ArtifactError(f"{path}: {name}: {problem}")


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _record_problem(record: object, where: dict[str, int] | None) -> str | None:
    """What is wrong with one split's record, or None."""
    if not isinstance(record, dict):
        return "must be an object"
    accuracy, samples = record.get("accuracy"), record.get("samples", 0)
    if not (_is_number(accuracy) and 0 <= accuracy <= 1):
        return f"accuracy must be a number in [0, 1], got {str(accuracy)[:20]}"
    if not is_count(samples):
        return f"samples must be a non-negative integer, got {str(samples)[:20]}"
    bits = record.get("bits_per_char", 0.0)
    if not (_is_number(bits) and 0 <= bits < math.inf):
        return f"bits_per_char must be a finite number >= 0, got {str(bits)[:20]}"
    if where is not None and "samples" in record and samples != where["end"] - where["start"]:
        return f"samples {samples} differs from the {where['end'] - where['start']} positions in data"
    return None


def _overlaps(first: dict[str, int], second: dict[str, int]) -> bool:
    return first["start"] < second["end"] and second["start"] < first["end"]


def _check_trained_text(path: Path, manifest: dict[str, Any]) -> None:
    """No figure but "train" is measured on text the weights trained on (data.train): the
    others are read as held out."""
    data = manifest.get("data", {})
    trained = data.get("train")
    for split in manifest["metrics"]:
        if trained is not None and split != "train" and split in data and _overlaps(data[split], trained):
            raise ArtifactError(f"{path}: metrics.{split} is measured on text the weights trained on")


def _check_refit(path: Path, manifest: dict[str, Any]) -> None:
    """A refit's section: its epochs are phase 1's best epoch, one record each, its time is
    part of the training time, and the chosen model's validation figure is well formed."""
    refit, data = manifest["refit"], manifest.get("data", {})
    if not isinstance(refit, dict):
        raise ArtifactError(f"{path}: refit must be an object")
    epochs, history = refit.get("epochs"), refit.get("history")
    if not is_count(epochs, 1) or epochs != manifest.get("best_epoch", epochs):
        raise ArtifactError(f"{path}: refit.epochs must be best_epoch, a positive integer")
    if not isinstance(history, list) or len(history) != epochs:
        raise ArtifactError(f"{path}: refit.history must hold one record per refit epoch")
    seconds, total = refit.get("seconds"), manifest.get("training_seconds", math.inf)
    if not (_is_number(seconds) and _is_number(total) and 0 <= seconds <= total):
        raise ArtifactError(f"{path}: refit.seconds must be a number in [0, training_seconds]")
    _check_refit_text(path, refit.get("text"), data)
    chosen = refit.get("validation_before_refit")
    problem = _record_problem(chosen, data.get("validation"))
    if problem is None and isinstance(chosen, dict) and not {"bits_per_char", "samples"} <= chosen.keys():
        problem = "must hold accuracy, bits_per_char and samples"
    if problem:
        raise ArtifactError(f"{path}: refit.validation_before_refit: {problem}")


def _check_refit_text(path: Path, text: object, data: dict[str, Any]) -> None:
    """The refit's text ends where data.train does, and before the test split."""
    if not (isinstance(text, dict) and is_count(text.get("start")) and is_count(text.get("end"))):
        raise ArtifactError(f"{path}: refit.text must hold integer start and end")
    if "train" not in data or text["end"] != data["train"]["end"] or text["start"] > text["end"]:
        raise ArtifactError(f"{path}: refit.text must end where data.train ends")
    if "test" in data and text["end"] > data["test"]["start"]:
        raise ArtifactError(f"{path}: refit.text reaches into the test split")
