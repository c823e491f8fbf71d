"""The adaptive figures of a model that reads whole texts: model/dynamic.py's reading of each
split that the manifest's metrics hold, recorded beside the static figures under "adaptive".

python -m training.adaptive --artifact DIR [--corpus PATH]

measures them with the current settings (dynamic.SEGMENT, LEARNING_RATE and TABLE_RATE, chosen
on the validation split) and writes them into the artifact, atomically, with its training
plot drawn again from its history. The pipeline calls `section` after training.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import Any

from model import dynamic
from model.accuracy import Positions, evaluate_split
from model.artifact import ArtifactError, load, save
from model.language_model import LanguageModel
from training import plot
from training.data import CorpusNotFoundError, default_corpus_path, encode_text, read_corpus

METHOD = (
    "dynamic evaluation: after each segment is scored, one SGD step on its mean loss, on a copy of "
    "the weights"
)


def section(
    model: LanguageModel, indices: Any, data: dict[str, Positions], splits: list[str]
) -> dict[str, Any]:
    """The manifest's "adaptive" section: the settings and each split's figures."""
    evaluator = partial(
        dynamic.evaluate_adaptive,
        segment=dynamic.SEGMENT,
        learning_rate=dynamic.LEARNING_RATE,
        table_rate=dynamic.TABLE_RATE,
    )
    measured = {split: evaluate_split(model, indices, data[split], None, evaluator) for split in splits}
    return {
        "method": METHOD,
        "segment": dynamic.SEGMENT,
        "learning_rate": dynamic.LEARNING_RATE,
        "table_rate": dynamic.TABLE_RATE,
        "metrics": {split: accuracy.as_dict() for split, accuracy in measured.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.adaptive", description=__doc__)
    parser.add_argument("--artifact", type=Path, required=True, help="artifact directory")
    parser.add_argument("--corpus", default=None, help="corpus file (default: $CHAR_RNN_CORPUS)")
    args = parser.parse_args(argv)
    try:
        artifact = load(args.artifact)
        text, digest = read_corpus(args.corpus or default_corpus_path())
    except (ArtifactError, CorpusNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    manifest = dict(artifact.manifest)
    if not artifact.model.reads_text:
        print(f"error: {args.artifact}: the model reads windows; only a model that reads whole texts adapts")
        return 2
    if digest != manifest.get("corpus_sha256"):
        print(f"error: {args.artifact} was trained on another corpus", file=sys.stderr)
        return 2
    data = {split: Positions.from_dict(where) for split, where in manifest["data"].items()}
    manifest["adaptive"] = section(artifact.model, encode_text(text), data, list(manifest["metrics"]))
    for key in ("weights_sha256", "manifest_sha256", "format_version", "alphabet"):
        manifest.pop(key, None)
    save(args.artifact, artifact.params, manifest, force=True, extra_files=plot.writer(manifest["history"]))
    for split, figures in manifest["adaptive"]["metrics"].items():
        print(f"{split}: accuracy {figures['accuracy']:.4f}, {figures['bits_per_char']:.3f} bits/char")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
