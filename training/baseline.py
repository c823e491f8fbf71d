"""The bars to beat: two character n-grams, on the same split and positions as the models.

python -m training.baseline [--corpus PATH] [--order 10]

The backoff n-gram guesses, for each position, the character that most often followed the
longest context (up to `order` characters before the position) that the training text holds;
with no such context it backs off to a shorter one, down to the most frequent character. It is
written by hand because it is twenty lines and no kept library offers this exact rule. It gives
no probabilities, so no bits per character.

The interpolated Kneser-Ney n-gram (training/kneser_ney.py) gives probabilities: accuracy and
bits per character. Both are fitted on all the text before each split; `bars` measures both and
`Bars.section` is the manifest's "baseline" section.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from model.accuracy import Accuracy, Positions
from model.alphabet import encode
from training import kneser_ney
from training.data import CorpusNotFoundError, default_corpus_path, evaluation_splits, read_corpus

DEFAULT_ORDER = 10
METHOD = "backoff character n-gram, fitted on all the text before each split"
KNESER_NEY_METHOD = (
    "interpolated Kneser-Ney character n-gram (one absolute discount per order, n1/(n1+2 n2)), "
    "fitted on all the text before each split"
)


@dataclass(frozen=True)
class NGram:
    """best[k][context] is the most frequent character after `context`, len(context) == k."""

    order: int
    best: tuple[dict[str, str], ...]

    def predict(self, context: str) -> str:
        """The guess after `context`, from its longest suffix seen in training."""
        for k in range(min(self.order, len(context)), -1, -1):
            guess = self.best[k].get(context[len(context) - k :])
            if guess is not None:
                return guess
        raise ValueError("context: the n-gram was trained on empty text")


def fit(text: str, order: int = DEFAULT_ORDER) -> NGram:
    """Count, for every k <= order, which character follows each k-character context."""
    if order < 0:
        raise ValueError("order: must be >= 0")
    counts: list[defaultdict[str, Counter[str]]] = [defaultdict(Counter) for _ in range(order + 1)]
    for position, char in enumerate(text):
        for k in range(min(order, position) + 1):
            counts[k][text[position - k : position]][char] += 1
    best = tuple({context: c.most_common(1)[0][0] for context, c in table.items()} for table in counts)
    return NGram(order, best)


def evaluate(ngram: NGram, text: str, positions: Positions) -> Accuracy:
    """The n-gram's accuracy at `positions` of the simplified text, each guessed from the
    `order` characters before it: the positions and the rule of model.accuracy.evaluate."""
    correct = sum(
        ngram.predict(text[max(0, p - ngram.order) : p]) == text[p]
        for p in range(positions.start, positions.end)
    )
    return Accuracy(correct=correct, total=positions.end - positions.start)


def record(accuracy: Accuracy) -> dict[str, Any]:
    """What a manifest records of the n-gram on a split: it gives no probabilities, so no bits."""
    return {"accuracy": accuracy.accuracy, "samples": accuracy.total}


def on_splits(text: str, splits: dict[str, Positions], order: int = DEFAULT_ORDER) -> dict[str, Accuracy]:
    """The n-gram's accuracy on each split, fitted on all the text before that split: for the
    test split that includes the validation text, which a refitted model trains on too and any
    other model does not (the bar is then if anything higher than a fit on its training text)."""
    return {
        split: evaluate(fit(text[: positions.start], order), text, positions)
        for split, positions in splits.items()
    }


@dataclass(frozen=True)
class Bars:
    """Both n-grams' figures on each split, at one order."""

    order: int
    backoff: dict[str, Accuracy]
    kneser_ney: dict[str, Accuracy]

    def section(self) -> dict[str, Any]:
        """The manifest's "baseline": the backoff n-gram's figures, and the Kneser-Ney's under
        "kneser_ney" in the same form with bits per character."""
        return {
            "method": METHOD,
            "order": self.order,
            **{split: record(accuracy) for split, accuracy in self.backoff.items()},
            "kneser_ney": {
                "method": KNESER_NEY_METHOD,
                "order": self.order,
                **{split: accuracy.as_dict() for split, accuracy in self.kneser_ney.items()},
            },
        }


def bars(text: str, splits: dict[str, Positions], order: int = DEFAULT_ORDER) -> Bars:
    """Both n-grams on each split of the simplified text, each fitted on the text before it."""
    return Bars(order, on_splits(text, splits, order), kneser_ney.on_splits(encode(text), splits, order))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.baseline", description=__doc__)
    parser.add_argument("--corpus", default=None, help="corpus file (default: $CHAR_RNN_CORPUS)")
    parser.add_argument("--order", type=int, default=DEFAULT_ORDER, help="longest context (default: 10)")
    args = parser.parse_args(argv)
    if not 0 <= args.order <= kneser_ney.MAX_ORDER:
        parser.error(f"--order must be in 0..{kneser_ney.MAX_ORDER}")
    try:
        text, _ = read_corpus(args.corpus or default_corpus_path())
    except CorpusNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    measured = bars(text, evaluation_splits(len(text)), args.order)
    for split, accuracy in measured.backoff.items():
        kn = measured.kneser_ney[split]
        print(
            f"{split} ({accuracy.total:,} positions), order {args.order}: backoff n-gram "
            f"{accuracy.accuracy:.4f}; Kneser-Ney {kn.accuracy:.4f}, {kn.bits_per_char:.3f} bits/char"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
