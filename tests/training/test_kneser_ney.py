"""The interpolated Kneser-Ney n-gram against probabilities worked out by hand from counts of
"abracadabra", its exact reference against the same, the fast path against the reference on
random texts, and its figures on the real test split (when the corpus is present)."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from model.accuracy import Positions
from model.alphabet import ALPHABET, encode
from training import kneser_ney
from training.data import evaluation_splits, read_corpus

TEXT = "abracadabra"

# Counts of "abracadabra" (a b r a c a d a b r a), written out:
# bigrams: ab 2, br 2, ra 2, ac 1, ca 1, ad 1, da 1, so at order 1 n1 = 4, n2 = 3, D1 = 4/10.
# Continuation counts of the symbols (distinct characters seen before each): a 3 (r, c, d),
# b 1, r 1, c 1, d 1: T0 = 7, N0 = 5, n1 = 4, n2 = 0, D0 = 1, and under P0 lies 1/27.
P0_A = Fraction(3 - 1, 7) + Fraction(1) * Fraction(5, 7) * Fraction(1, 27)  # 59/189
P0_OTHER = Fraction(5, 7) * Fraction(1, 27)  # b, r, c, d (continuation count 1) and the rest
D1 = Fraction(4, 4 + 2 * 3)
# After "a": b 2, c 1, d 1, so T1(a) = 4 and N1(a) = 3.
P1_B_AFTER_A = (2 - D1) / 4 + D1 * 3 / 4 * P0_OTHER
P1_C_AFTER_A = (1 - D1) / 4 + D1 * 3 / 4 * P0_OTHER
P1_A_AFTER_A = D1 * 3 / 4 * P0_A
P1_Z_AFTER_A = D1 * 3 / 4 * P0_OTHER


def probability(text: str, order: int, context: str, char: str) -> float:
    """The fast path's P(char | context) after the whole of `context`."""
    model = kneser_ney.fit(encode(text), order)
    at = np.array([len(context)])  # position 0 too, which Positions never names
    return float(kneser_ney.block_probabilities(model, encode(context + char), at)[0, ALPHABET.index(char)])


def test_the_hand_worked_values_are_what_they_should_be() -> None:
    assert (P0_A, P0_OTHER, D1) == (Fraction(59, 189), Fraction(5, 189), Fraction(2, 5))
    assert (P1_B_AFTER_A, P1_C_AFTER_A) == (Fraction(257, 630), Fraction(199, 1260))
    # b, c, d, a, and the 23 symbols never seen after "a"
    assert P1_B_AFTER_A + 2 * P1_C_AFTER_A + P1_A_AFTER_A + 23 * P1_Z_AFTER_A == 1


@pytest.mark.parametrize(
    ("context", "char", "expected"),
    [
        ("a", "b", P1_B_AFTER_A),
        ("a", "c", P1_C_AFTER_A),
        ("a", "d", P1_C_AFTER_A),
        ("a", "a", P1_A_AFTER_A),
        ("a", "z", P1_Z_AFTER_A),
        ("a", " ", P1_Z_AFTER_A),
        ("z", "a", P0_A),  # "z" never seen: P0 as it is
        ("z", "b", P0_OTHER),
        ("", "a", P0_A),  # no character before: the order-0 level alone
    ],
)
def test_bigram_probabilities_match_the_hand_worked_counts(
    context: str, char: str, expected: Fraction
) -> None:
    assert kneser_ney.reference_probability(TEXT, 1, context, char) == expected
    assert probability(TEXT, 1, context, char) == pytest.approx(float(expected), rel=1e-14, abs=0)


def test_trigram_probability_uses_raw_counts_at_the_top_and_continuation_counts_below() -> None:
    # trigrams: abr 2, bra 2, rac 1, aca 1, cad 1, ada 1, dab 1: n1 = 5, n2 = 2, D2 = 5/9.
    d2 = Fraction(5, 5 + 2 * 2)
    # Continuation counts of the bigrams, from the 7 distinct trigrams: br, ra, ac, ca, ad, da
    # and ab 1 each (the first "ab" has nothing before it), so D1 = 7/7 = 1; after "r": ra 1.
    p1_a_after_r = (max(1 - Fraction(1), Fraction(0)) + Fraction(1) * 1 * P0_A) / 1
    # After "br": a 2, so T2(br) = 2 and N2(br) = 1.
    expected = (2 - d2) / 2 + d2 * 1 / 2 * p1_a_after_r
    assert expected == Fraction(1376, 1701)
    assert kneser_ney.reference_probability(TEXT, 2, "br", "a") == expected
    assert probability(TEXT, 2, "br", "a") == pytest.approx(float(expected), rel=1e-14, abs=0)


def test_an_unseen_context_backs_off_to_its_longest_seen_suffix() -> None:
    # "za" was never seen: P2(w | za) = P1(w | a), where a is followed by ab, ac and ad once
    # each (continuation counts), T1 = N1 = 3 and D1 = 1: P1(b | a) = 0 + 1 * 3/3 * P0(b).
    assert kneser_ney.reference_probability(TEXT, 2, "za", "b") == P0_OTHER
    assert probability(TEXT, 2, "za", "b") == pytest.approx(float(P0_OTHER), rel=1e-14, abs=0)
    assert probability(TEXT, 2, "zz", "a") == pytest.approx(float(P0_A), rel=1e-14, abs=0)


def test_order_zero_reads_raw_symbol_counts() -> None:
    # a 5, b 2, r 2, c 1, d 1: T = 11, N = 5, n1 = 2, n2 = 2, D = 2/6.
    d = Fraction(2, 2 + 2 * 2)
    expected = (5 - d) / 11 + d * 5 / 11 * Fraction(1, 27)
    assert expected == Fraction(383, 891)
    assert kneser_ney.reference_probability(TEXT, 0, "abr", "a") == expected
    assert probability(TEXT, 0, "abr", "a") == pytest.approx(float(expected), rel=1e-14, abs=0)


def test_an_empty_text_gives_the_uniform_distribution() -> None:
    p = kneser_ney.probabilities(kneser_ney.fit(encode(""), 3), encode("abc"), Positions(1, 3))
    assert np.array_equal(p, np.full((2, 27), 1 / 27))


def test_evaluate_counts_the_first_ranked_and_sums_the_bits() -> None:
    # Fitted on the text itself at order 1, the guess after a is b, after b r, after r, c and
    # d a: right at 8 of the 10 positions (wrong where "ac" and "ad" follow an "a").
    model = kneser_ney.fit(encode(TEXT), 1)
    measured = kneser_ney.evaluate(model, encode(TEXT), Positions(1, 11))
    assert (measured.correct, measured.total) == (8, 10)
    exact = [kneser_ney.reference_probability(TEXT, 1, TEXT[p - 1], TEXT[p]) for p in range(1, 11)]
    assert measured.bits == pytest.approx(-sum(np.log2(float(p)) for p in exact), rel=1e-13)


@pytest.mark.parametrize("seed", range(8))
def test_the_fast_path_is_the_reference_and_sums_to_one(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice("ab c") for _ in range(rng.randint(0, 40)))
    order = rng.randint(0, 4)
    evaluated = "".join(rng.choice("abcd ") for _ in range(12))
    p = kneser_ney.probabilities(kneser_ney.fit(encode(text), order), encode(evaluated), Positions(1, 12))
    assert np.allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    for row, position in enumerate(range(1, 12)):
        context = evaluated[max(0, position - order) : position]
        for char in " abcd":
            exact = kneser_ney.reference_probability(text, order, context, char)
            assert p[row, ALPHABET.index(char)] == pytest.approx(float(exact), rel=1e-13, abs=0)


def test_a_text_without_singletons_still_gives_every_symbol_a_positive_probability() -> None:
    # "abc" 10 times: every count is at least 9, so n1 = 0 and the formula's D = 0 would give
    # 0 to "a" after "ab"; D = 1/2 keeps it positive: (0 + 1/2 * 1 * P1(a | b)) / 9.
    assert kneser_ney.discount(0, 7) == Fraction(1, 2)
    assert kneser_ney.discount(3, 0) == Fraction(1)
    p = kneser_ney.probabilities(kneser_ney.fit(encode("abc" * 10), 2), encode("abab"), Positions(2, 4))
    assert p.min() > 0 and np.allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    exact = kneser_ney.reference_probability("abc" * 10, 2, "ab", "a")
    assert p[0, ALPHABET.index("a")] == pytest.approx(float(exact), rel=1e-13, abs=0)
    assert 0 < exact < Fraction(1, 18)


def test_an_order_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match=r"order: must be in 0\.\.12, got 13"):
        kneser_ney.fit(encode(TEXT), 13)


@pytest.mark.corpus
def test_the_real_test_split_figures(corpus: Path) -> None:
    """The figures docs/model.md states, each distribution summing to 1 (4 s on an idle machine)."""
    indices = encode(read_corpus(corpus)[0])
    test = evaluation_splits(len(indices))["test"]
    model = kneser_ney.fit(indices[: test.start], 10)
    sums = kneser_ney.probabilities(model, indices, test).sum(axis=1)
    assert np.abs(sums - 1).max() < 1e-12
    measured = kneser_ney.evaluate(model, indices, test)
    assert (measured.total, round(measured.accuracy, 4), round(measured.bits_per_char, 3)) == (
        87407,
        0.7274,
        1.308,
    )
