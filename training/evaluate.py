"""The seed's question (d): how often is the next character guessed right?

python -m training.evaluate --artifact DIR [--corpus PATH]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.rnn import Params, predict_next
from training.data import Span

EVAL_BATCH = 4096


@dataclass(frozen=True)
class Accuracy:
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "samples": self.total}


def count_correct(params: Params, indices: NDArray[np.int64], span: Span, seq_length: int) -> Accuracy:
    """Windows of `span`: is the most probable character after each the actual next one?"""
    starts = span.starts(seq_length)
    correct = 0
    for first in range(0, starts.size, EVAL_BATCH):
        chunk = starts[first : first + EVAL_BATCH]
        offsets = chunk[:, None] + np.arange(seq_length)[None, :]
        predicted = predict_next(params, indices[offsets])
        correct += int(np.count_nonzero(predicted == indices[chunk + seq_length]))
    return Accuracy(correct=correct, total=int(starts.size))


def accuracy_on_text(params: Params, indices: NDArray[np.int64], seq_length: int) -> Accuracy:
    """Every window of the text (stride 1): total = len(indices) - seq_length."""
    return count_correct(params, indices, Span(0, len(indices), 1), seq_length)


def sentence(train: Accuracy, heldout: Accuracy) -> str:
    return (
        f"The RNN guesses the next character correctly {train.accuracy:.1%} of the time on "
        f"{train.total:,} training windows (held-out text: {heldout.accuracy:.1%} on "
        f"{heldout.total:,} windows)"
    )


def main(argv: list[str] | None = None) -> int:
    from training.artifact import ArtifactError, load
    from training.data import CorpusNotFoundError, default_corpus_path, encode_text, read_corpus

    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__)
    parser.add_argument("--artifact", required=True, help="artifact directory")
    parser.add_argument("--corpus", default=None, help="corpus file (default: $CHAR_RNN_CORPUS)")
    args = parser.parse_args(argv)
    try:
        artifact = load(args.artifact)
        text, corpus_sha256 = read_corpus(args.corpus or default_corpus_path())
    except (ArtifactError, CorpusNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if corpus_sha256 != artifact.manifest.get("corpus_sha256"):
        print("warning: this corpus differs from the one the artifact was trained on", file=sys.stderr)
    indices = encode_text(text)
    data = artifact.manifest["data"]
    seq_length = artifact.seq_length
    train = count_correct(artifact.params, indices, Span.from_dict(data["train"]), seq_length)
    heldout = count_correct(artifact.params, indices, Span.from_dict(data["heldout"]), seq_length)
    print(sentence(train, heldout))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
