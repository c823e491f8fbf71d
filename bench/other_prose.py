"""Generalisation: each model and the n-gram on English prose that the project never trains on.

python -m bench.other_prose --text FILE [--text FILE ...] [--artifact DIR ...] [--corpus PATH]

Every position of the simplified text after its first letter is predicted from the text before
it, as /predict-next answers (model.accuracy.evaluate), and, by a model that reads whole texts,
also adaptively (model/dynamic.py, as `"adapt": true` answers); the n-grams (backoff and Kneser-Ney) are
fitted on all the book before the test split, as in every manifest, and guess the same positions.
The project ships no such text; docs/model.md names the one measured (Debian's `fortunes` quotations).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model import dynamic
from model.accuracy import evaluate, text_positions
from model.alphabet import encode, simplify
from model.artifact import load
from training import baseline, kneser_ney
from training.data import default_corpus_path, evaluation_splits, read_corpus
from training.evaluate import default_artifacts


def read_prose(paths: list[Path]) -> str:
    """The files' text, joined by spaces and simplified."""
    return simplify(" ".join(path.read_text(encoding="utf-8", errors="replace") for path in paths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.other_prose", description=__doc__)
    parser.add_argument("--text", action="append", type=Path, required=True, help="prose file (repeatable)")
    parser.add_argument("--artifact", action="append", type=Path, help="artifact (default: all shipped)")
    parser.add_argument("--corpus", type=Path, default=None, help="the book (default: $CHAR_RNN_CORPUS)")
    args = parser.parse_args(argv)
    book, _ = read_corpus(args.corpus or default_corpus_path())
    ngram = baseline.fit(book[: evaluation_splits(len(book))["test"].start])
    prose = read_prose(args.text)
    indices = encode(prose)
    positions = text_positions(indices)
    if positions is None:
        parser.error("--text: no letters to predict")
    reference = baseline.evaluate(ngram, prose, positions)
    test_start = evaluation_splits(len(book))["test"].start
    kn = kneser_ney.evaluate(kneser_ney.fit(encode(book[:test_start]), ngram.order), indices, positions)
    print(
        f"{len(prose):,} characters; order-{ngram.order} n-gram: {reference.accuracy:.4f}; "
        f"Kneser-Ney: {kn.accuracy:.4f}, {kn.bits_per_char:.3f} bits/char",
        flush=True,
    )
    for path in args.artifact or default_artifacts():
        artifact = load(path)
        readings = [("", evaluate)]
        if artifact.model.reads_text:  # the prose read in order, as an adaptive compressor reads it
            readings.append((" adaptive", dynamic.evaluate_adaptive))
        for label, evaluator in readings:
            measured = evaluator(artifact.model, indices, positions)
            print(
                f"{artifact.name}{label}: {measured.accuracy:.4f}, {measured.bits_per_char:.3f} bits/char "
                f"on {measured.total:,} positions ({measured.accuracy - kn.accuracy:+.4f} accuracy, "
                f"{measured.bits_per_char - kn.bits_per_char:+.3f} bits/char against Kneser-Ney)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
