"""The stronger bar: an interpolated Kneser-Ney character n-gram, with probabilities.

Chen & Goodman's interpolated Kneser-Ney (1998, section 3.5), with one absolute discount per
order. For the k characters h before a position (k = order at the top) and each symbol w,

    P_k(w | h) = max(a_k(h w) - D_k, 0) / T_k(h) + D_k N_k(h) / T_k(h) * P_{k-1}(w | h')

where h' is h without its first character, T_k(h) = sum over w of a_k(h w), N_k(h) = the
number of symbols w with a_k(h w) > 0, and D_k = n1 / (n1 + 2 n2), n1 and n2 being the number
of (k+1)-grams with a_k = 1 and a_k = 2 (1/2 where n1 = 0, so that no probability is 0). At the
top order a_k is the count of h w in the text; below it, the continuation count: the number of
distinct characters seen before h w. A context never seen (T_k(h) = 0) passes P_{k-1} on
unchanged; under P_0 lies the uniform 1/27. Every count a_k >= 1 >= D_k > 0, so each P_k is
positive and sums to 1 over the 27 symbols. The order, as the backoff n-gram's, is the number of
characters read before a position: order 10 counts 11-grams.

Why hand-written: no kept library offers it for characters in NumPy. nltk's
`nltk.lm.KneserNeyInterpolated` (3.10.4) is no dependency, takes one discount for every order
(0.1 unless told) rather than one estimated per order, and computes each probability in Python
through dictionaries: fitted on only 50,000 characters of the book at context 10, it took 370 ms
for the 27 probabilities of one position, about 9 hours for the 87,407 test positions. Here an
n-gram is an exact int64 code (base 27: 11 symbols fit in 27^11 < 2^63), the counts come from
np.unique, and a look-up is np.searchsorted: at order 10, fitting on the 786,671 characters before
the test split and scoring its 87,407 positions takes about 2 s. `reference_probability` is the formula read
directly, one probability at a time, for the tests to hold the fast path to.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from model.accuracy import Accuracy, Positions
from model.alphabet import ALPHABET_SIZE

MAX_ORDER = 12  # a 13-gram's code, 27^13 < 2^63, is the longest that fits in int64
SCORE_BLOCK = 8192  # positions per block of probabilities: bounded memory on any text
Codes = NDArray[np.int64]


@dataclass(frozen=True)
class Level:
    """The (k+1)-grams h w of one order k, each coded h * 27 + w (codes sorted), and per context."""

    codes: Codes  # (grams,) sorted
    counts: Codes  # (grams,) a_k(h w)
    contexts: Codes  # (contexts,) sorted
    totals: Codes  # (contexts,) T_k(h)
    types: Codes  # (contexts,) N_k(h)
    discount: float  # D_k


@dataclass(frozen=True)
class KneserNey:
    order: int
    levels: tuple[Level, ...]  # levels[k] reads k characters of context


def discount(n1: int, n2: int) -> Fraction:
    """D = n1 / (n1 + 2 n2), from the number of counts equal to 1 and to 2. Without a count of 1
    (a tiny or repetitive text) the formula gives 0, and every symbol never seen after a seen
    context would get probability 0 (infinite bits): D = 1/2 there instead."""
    return Fraction(n1, n1 + 2 * n2) if n1 else Fraction(1, 2)


def gram_codes(indices: Codes, length: int) -> Codes:
    """The code of every `length`-gram of the text, the last symbol the least significant."""
    if len(indices) < length:
        return np.zeros(0, dtype=np.int64)
    codes = indices[length - 1 :].copy()
    for j in range(1, length):
        codes += indices[length - 1 - j : len(indices) - j] * ALPHABET_SIZE**j
    return codes


def fit(indices: Codes, order: int) -> KneserNey:
    """Count every (k+1)-gram of the text, k = 0..order, raw at the top, continuation below."""
    if not 0 <= order <= MAX_ORDER:
        raise ValueError(f"order: must be in 0..{MAX_ORDER}, got {order}")
    indices = np.asarray(indices, dtype=np.int64)
    levels: list[Level] = []
    above: Codes = np.zeros(0, dtype=np.int64)  # the distinct (k+2)-grams, for continuation counts
    for k in range(order, -1, -1):
        if k == order:
            codes, counts = np.unique(gram_codes(indices, k + 1), return_counts=True)
        else:  # a_k(h w): how many distinct x precede h w, read off the distinct (k+2)-grams x h w
            codes, counts = np.unique(above % ALPHABET_SIZE ** (k + 1), return_counts=True)
        levels.append(level(codes, counts.astype(np.int64)))
        above = np.unique(gram_codes(indices, k + 1)) if k else above
    return KneserNey(order, tuple(reversed(levels)))


def level(codes: Codes, counts: Codes) -> Level:
    """One order's table from its sorted codes and their counts."""
    contexts, first = np.unique(codes // ALPHABET_SIZE, return_index=True)
    totals = np.add.reduceat(counts, first) if len(first) else np.zeros(0, dtype=np.int64)
    types = np.diff(np.append(first, len(codes))).astype(np.int64)
    d = discount(int(np.sum(counts == 1)), int(np.sum(counts == 2)))
    return Level(codes, counts, contexts, totals, types, float(d))


def find(table: Codes, queries: Codes) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """(where each query is in the sorted table, whether it is there at all)."""
    if not len(table):
        return np.zeros(queries.shape, dtype=np.intp), np.zeros(queries.shape, dtype=bool)
    at = np.minimum(np.searchsorted(table, queries), len(table) - 1)
    return at, table[at] == queries


def probabilities(model: KneserNey, indices: Codes, positions: Positions) -> NDArray[np.float64]:
    """P(w | the `order` characters before p) for every p in positions: shape (n, 27)."""
    blocks = [
        block_probabilities(model, indices, np.arange(start, min(start + SCORE_BLOCK, positions.end)))
        for start in range(positions.start, positions.end, SCORE_BLOCK)
    ]
    return np.concatenate(blocks) if blocks else np.zeros((0, ALPHABET_SIZE))


def block_probabilities(model: KneserNey, indices: Codes, at: Codes) -> NDArray[np.float64]:
    """The recursion from P_0 up, for the positions `at` of the text at once."""
    indices = np.asarray(indices, dtype=np.int64)
    symbols = np.arange(ALPHABET_SIZE, dtype=np.int64)
    p = np.full((len(at), ALPHABET_SIZE), 1.0 / ALPHABET_SIZE)  # (n, 27)
    context = np.zeros(len(at), dtype=np.int64)  # the code of the k characters before each p
    for k, table in enumerate(model.levels):
        if k:  # prepend the character k places back; -1 where the text starts too soon
            reaches = (at - k >= 0) & (context >= 0)
            context = np.where(
                reaches, context + indices[np.maximum(at - k, 0)] * ALPHABET_SIZE ** (k - 1), -1
            )
        if not len(table.codes):  # a text too short to hold any (k+1)-gram
            continue
        row, seen = find(table.contexts, context)
        gram, present = find(table.codes, context[:, None] * ALPHABET_SIZE + symbols)  # (n, 27)
        counts = np.where(present, table.counts[gram], 0)
        totals, types = table.totals[row][:, None], table.types[row][:, None]
        safe = np.where(seen[:, None], totals, 1)
        interpolated = (np.maximum(counts - table.discount, 0) + table.discount * types * p) / safe
        p = np.where(seen[:, None], interpolated, p)
    return p


def evaluate(model: KneserNey, indices: Codes, positions: Positions) -> Accuracy:
    """Accuracy (the most probable symbol, the lowest index on a tie) and bits at `positions`."""
    p = probabilities(model, indices, positions)  # (n, 27)
    actual = np.asarray(indices)[positions.start : positions.end]
    correct = int(np.sum(p.argmax(axis=1) == actual))
    bits = -float(np.sum(np.log2(p[np.arange(len(actual)), actual])))
    return Accuracy(correct=correct, total=len(actual), bits=bits)


def on_splits(indices: Codes, splits: dict[str, Positions], order: int) -> dict[str, Accuracy]:
    """The model's figures on each split, fitted on all the text before that split."""
    return {
        split: evaluate(fit(indices[: positions.start], order), indices, positions)
        for split, positions in splits.items()
    }


def reference_probability(text: str, order: int, context: str, char: str) -> Fraction:
    """P(char | context) by the formula above, read directly from counts of the text's
    substrings, exactly (the readable path beside fit and probabilities; slow)."""
    p = Fraction(1, ALPHABET_SIZE)
    for k in range(min(order, len(context)) + 1):
        counts = reference_counts(text, order, k)
        h = context[len(context) - k :]
        following = {gram[-1]: count for gram, count in counts.items() if gram[:-1] == h}
        if following:
            values = list(counts.values())
            d = discount(values.count(1), values.count(2))
            kept = max(following.get(char, 0) - d, Fraction(0))
            p = (kept + d * len(following) * p) / sum(following.values())
    return p


def reference_counts(text: str, order: int, k: int) -> Counter[str]:
    """a_k of every (k+1)-gram: its count at the top order, its continuation count below."""
    if k == order:
        return Counter(text[q - k : q + 1] for q in range(k, len(text)))
    return Counter(gram[1:] for gram in {text[q - k - 1 : q + 1] for q in range(k + 1, len(text))})
