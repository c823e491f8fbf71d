"""Where the models are wrong: test accuracy by kind of position, beside the n-gram's.

python -m bench.mistakes [--artifact DIR ...] [--corpus PATH]

The test positions are split by what the character to guess is: the first letter of a word
(the position follows a space), a later letter of a word, or the space that ends a word.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from model.accuracy import Positions, guesses
from model.alphabet import encode
from model.artifact import load
from training import baseline
from training.data import default_corpus_path, evaluation_splits, read_corpus
from training.evaluate import default_artifacts


def kinds(indices: NDArray[np.int64], start: int, end: int) -> dict[str, NDArray[np.bool_]]:
    """Boolean masks over positions start..end - 1, one per kind of position."""
    target, before = indices[start:end], indices[start - 1 : end - 1]
    return {
        "first letter of a word": (target != 0) & (before == 0),
        "later letter of a word": (target != 0) & (before != 0),
        "space after a word": target == 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mistakes", description=__doc__)
    parser.add_argument("--artifact", action="append", type=Path, help="artifact (default: all shipped)")
    parser.add_argument("--corpus", type=Path, default=None, help="the book (default: $CHAR_RNN_CORPUS)")
    args = parser.parse_args(argv)
    text, _ = read_corpus(args.corpus or default_corpus_path())
    indices = encode(text)
    test = evaluation_splits(len(text))["test"]
    ngram = baseline.fit(text[: test.start])
    ngram_hits = np.array(
        [ngram.predict(text[max(0, p - ngram.order) : p]) == text[p] for p in range(test.start, test.end)]
    )
    masks = kinds(indices, test.start, test.end)
    columns = [("n-gram", ngram_hits)]
    for path in args.artifact or default_artifacts():
        artifact = load(path)
        if artifact.model.reads_text:  # the split as a text of its own (model.accuracy.evaluate_split)
            _, guessed = guesses(
                artifact.model, indices[test.start - 1 : test.end], Positions(1, test.end - test.start + 1)
            )
        else:
            _, guessed = guesses(artifact.model, indices, test)
        columns.append((artifact.name, guessed.guesses == indices[test.start : test.end]))
    print("| position | share | " + " | ".join(name for name, _ in columns) + " |")
    print("| --- | ---: |" + " ---: |" * len(columns))
    for kind, mask in masks.items():
        cells = " | ".join(f"{hits[mask].mean():.1%}" for _, hits in columns)
        print(f"| {kind} | {mask.mean():.1%} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
