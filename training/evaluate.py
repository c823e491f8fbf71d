"""Recompute an artifact's recorded metrics from its weights, beside the backoff and the
Kneser-Ney n-grams' on the same positions, and say whether they match the manifest.

python -m training.evaluate (or char-rnn-evaluate) [--artifact DIR ...] [--corpus PATH]
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from model.accuracy import Accuracy, Evaluator, Positions, agrees, evaluate_split
from model.artifact import CHECKOUT_ARTIFACTS, Artifact, ArtifactError, committed_artifacts, load
from model.dynamic import evaluate_adaptive
from model.version import add_version_option, program_name
from training import baseline, kneser_ney
from training.data import CorpusNotFoundError, default_corpus_path, encode_text, read_corpus


def measure(
    artifact: Artifact,
    indices: NDArray[np.int64],
    positions: Positions,
    label: str,
    evaluator: Evaluator | None = None,
) -> Accuracy:
    """model.accuracy.evaluate_split (or, with evaluator, model/dynamic.py's adaptive reading)
    with a progress bar on stderr (silent when it is not a terminal)."""
    total = positions.end - positions.start
    with tqdm(total=total, desc=label, unit="pos", disable=None, leave=False) as bar:

        def advance(done: int) -> None:
            bar.update(done - bar.n)

        return evaluate_split(artifact.model, indices, positions, advance, evaluator)


def report(artifact: Artifact, text: str, indices: NDArray[np.int64]) -> list[str]:
    """One line per recorded split; a line starting "MISMATCH" where the manifest disagrees.
    A split the shipped weights trained on (a refit's validation) gets the n-gram's figure and
    the recorded figure of the model chosen before the refit, whose weights are not shipped."""
    manifest: dict[str, Any] = artifact.manifest
    lines = [model_line(artifact, text, indices, split) for split in manifest["metrics"]]
    lines += [
        adaptive_line(artifact, indices, split) for split in manifest.get("adaptive", {}).get("metrics", {})
    ]
    baseline_splits = manifest.get("baseline", {})
    for split in [key for key in baseline_splits if key in manifest["data"]]:
        if split not in manifest["metrics"]:
            lines.append(trained_on_line(artifact, text, split))
    return lines


def model_line(artifact: Artifact, text: str, indices: NDArray[np.int64], split: str) -> str:
    """The shipped weights on one split, and the n-gram beside them if the manifest has it."""
    manifest: dict[str, Any] = artifact.manifest
    positions = Positions.from_dict(manifest["data"][split])
    measured = measure(artifact, indices, positions, f"{artifact.name} {split}")
    line = (
        f"{artifact.name} {split}: accuracy {measured.accuracy:.4f}, "
        f"{measured.bits_per_char:.3f} bits/char on {measured.total:,} positions"
    )
    problems: list[str] = []
    if split in manifest.get("baseline", {}):
        part, problems = ngram_part(manifest, text, split)
        line += part
    recorded = manifest["metrics"][split]
    if not agrees(recorded, measured):
        problems.append(f"manifest: {recorded}")
    return flagged(line, problems)


def adaptive_line(artifact: Artifact, indices: NDArray[np.int64], split: str) -> str:
    """The shipped weights read adaptively (dynamic evaluation) on one split."""
    manifest: dict[str, Any] = artifact.manifest
    adaptive = manifest["adaptive"]
    positions = Positions.from_dict(manifest["data"][split])
    evaluator = functools.partial(
        evaluate_adaptive,
        segment=adaptive["segment"],
        learning_rate=adaptive["learning_rate"],
        table_rate=adaptive["table_rate"],
    )
    measured = measure(artifact, indices, positions, f"{artifact.name} {split} adaptive", evaluator)
    line = (
        f"{artifact.name} {split}, adaptive (dynamic evaluation, segments of {adaptive['segment']}, "
        f"learning rate {adaptive['learning_rate']}, E x{adaptive['table_rate']}): "
        f"accuracy {measured.accuracy:.4f}, "
        f"{measured.bits_per_char:.3f} bits/char on {measured.total:,} positions"
    )
    recorded = adaptive["metrics"][split]
    return flagged(line, [] if agrees(recorded, measured) else [f"manifest: {recorded}"])


def trained_on_line(artifact: Artifact, text: str, split: str) -> str:
    """A split the shipped weights trained on: no figure of theirs, the n-gram's checked."""
    manifest: dict[str, Any] = artifact.manifest
    line = f"{artifact.name} {split}: trained on by these weights, not measured"
    chosen = manifest.get("refit", {}).get(f"{split}_before_refit")
    if chosen is not None:
        line += (
            f"; the epoch-{manifest['refit']['epochs']} model chosen before the refit: accuracy "
            f"{chosen['accuracy']:.4f}, {chosen['bits_per_char']:.3f} bits/char on "
            f"{chosen['samples']:,} positions (recorded: its weights are not shipped)"
        )
    part, problems = ngram_part(manifest, text, split)
    return flagged(line + part, problems)


def ngram_part(manifest: dict[str, Any], text: str, split: str) -> tuple[str, list[str]]:
    """ "; order-N n-gram A on the same positions", and what the manifest records otherwise."""
    positions = Positions.from_dict(manifest["data"][split])
    order = int(manifest["baseline"]["order"])
    reference = baseline.evaluate(baseline.fit(text[: positions.start], order), text, positions)
    part = f"; order-{order} n-gram {reference.accuracy:.4f} on the same positions"
    recorded = manifest["baseline"][split]
    problems = [] if baseline.record(reference) == recorded else [f"manifest n-gram: {recorded}"]
    kn_part, kn_problems = kneser_ney_part(manifest, text, split)
    return part + kn_part, problems + kn_problems


def kneser_ney_part(manifest: dict[str, Any], text: str, split: str) -> tuple[str, list[str]]:
    """ "; Kneser-Ney order-N A, B bits/char", computed from the corpus whether or not the
    manifest records it (manifests written before it was measured do not), and checked where it does."""
    positions = Positions.from_dict(manifest["data"][split])
    recorded = manifest["baseline"].get("kneser_ney", {})
    order = int(recorded.get("order", baseline.DEFAULT_ORDER))
    measured = kneser_ney_on(text, positions.start, positions.end, order)
    part = f"; Kneser-Ney order-{order} {measured.accuracy:.4f}, {measured.bits_per_char:.3f} bits/char"
    if split in recorded and not agrees(recorded[split], measured):
        return part, [f"manifest Kneser-Ney: {recorded[split]}"]
    return part, []


@functools.lru_cache(maxsize=8)
def kneser_ney_on(text: str, start: int, end: int, order: int) -> Accuracy:
    """The Kneser-Ney n-gram fitted on text[:start], at start..end: every artifact shares the splits."""
    indices = encode_text(text)
    return kneser_ney.evaluate(kneser_ney.fit(indices[:start], order), indices, Positions(start, end))


def flagged(line: str, problems: list[str]) -> str:
    """The line, or "MISMATCH line (what the manifest says)" where it disagrees."""
    return f"MISMATCH {line} ({'; '.join(problems)})" if problems else line


def default_artifacts() -> list[Path]:
    """Every committed artifact directory (ArtifactError if there is no such directory)."""
    directory = committed_artifacts()
    if not directory.is_dir():
        raise ArtifactError(
            f"no artifact directory at {directory.resolve()} nor {CHECKOUT_ARTIFACTS}: "
            "name one with --artifact DIR"
        )
    return sorted(path for path in directory.iterdir() if (path / "manifest.json").is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program_name("python -m training.evaluate"), description=__doc__)
    add_version_option(parser)
    parser.add_argument("--artifact", action="append", type=Path, help="artifact directory (repeatable)")
    parser.add_argument("--corpus", default=None, help="corpus file (default: $CHAR_RNN_CORPUS)")
    args = parser.parse_args(argv)
    try:
        artifacts = [load(path) for path in args.artifact or default_artifacts()]
        text, corpus_sha256 = read_corpus(args.corpus or default_corpus_path())
    except (ArtifactError, CorpusNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    indices = encode_text(text)
    mismatches = 0
    for artifact in artifacts:
        if corpus_sha256 != artifact.manifest.get("corpus_sha256"):
            print(f"warning: {artifact.name} was trained on another corpus", file=sys.stderr)
        for line in report(artifact, text, indices):
            mismatches += line.startswith("MISMATCH")
            print(line, flush=True)
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
