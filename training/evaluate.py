"""The assignment's question (d) on an artifact's recorded windows, from the command line.

python -m training.evaluate --artifact DIR [--corpus PATH]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from model.accuracy import Accuracy, batches, correct_in, sentence
from model.artifact import ArtifactError, load
from model.rnn import Params
from training.data import CorpusNotFoundError, Span, default_corpus_path, encode_text, read_corpus


def measure(params: Params, indices: NDArray[np.int64], span: Span, seq_length: int, label: str) -> Accuracy:
    """model.accuracy.count_correct with a progress bar on stderr (silent when it is not a terminal)."""
    starts = span.starts(seq_length)
    chunks = tqdm(list(batches(starts)), desc=label, unit="batch", disable=None, leave=False)
    correct = sum(correct_in(params, indices, chunk, seq_length) for chunk in chunks)
    return Accuracy(correct=correct, total=int(starts.size))


def main(argv: list[str] | None = None) -> int:
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
    data, seq_length = artifact.manifest["data"], artifact.seq_length
    train = measure(artifact.params, indices, Span.from_dict(data["train"]), seq_length, "train")
    heldout = measure(artifact.params, indices, Span.from_dict(data["heldout"]), seq_length, "heldout")
    print(sentence(train, heldout))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
