"""The backoff n-gram against guesses worked out by hand from counts of "abracadabra", the
manifest's baseline section with both n-grams, and `python -m training.baseline`."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.accuracy import Accuracy, Positions
from model.alphabet import encode
from training import baseline, kneser_ney

TEXT = "abracadabra"


def test_the_most_frequent_follower_of_each_context_by_hand() -> None:
    # a b r a c a d a b r a: a 5, b 2, r 2, c 1, d 1; after "a": b 2, c 1, d 1; after "b": r 2;
    # after "r", "c" and "d": a; after "ab": r 2; after "ca": d 1.
    ngram = baseline.fit(TEXT, 2)
    assert ngram.best[0] == {"": "a"}
    assert ngram.best[1] == {"a": "b", "b": "r", "r": "a", "c": "a", "d": "a"}
    assert ngram.best[2] == {"ab": "r", "br": "a", "ra": "c", "ac": "a", "ca": "d", "ad": "a", "da": "b"}


@pytest.mark.parametrize(
    ("context", "guess"),
    [
        ("ca", "d"),  # seen at order 2
        ("xxca", "d"),  # only the last 2 characters are read
        ("za", "b"),  # "za" unseen: the order-1 "a"
        ("zz", "a"),  # nothing seen: the most frequent character
        ("", "a"),
    ],
)
def test_predict_backs_off_to_the_longest_seen_suffix(context: str, guess: str) -> None:
    assert baseline.fit(TEXT, 2).predict(context) == guess


def test_a_tie_goes_to_the_follower_seen_first() -> None:
    # After "a": b once, then c once.
    assert baseline.fit("abac", 1).predict("a") == "b"


def test_order_zero_always_guesses_the_most_frequent_character() -> None:
    ngram = baseline.fit(TEXT, 0)
    assert [ngram.predict(context) for context in ("", "b", "abr")] == ["a", "a", "a"]


def test_evaluate_counts_the_hand_worked_guesses() -> None:
    # Order 1 on its own text: a->b, b->r, r->a, c->a, d->a; wrong only where "c" and "d" follow
    # an "a" (positions 4 and 6): 8 of the 10.
    assert baseline.evaluate(baseline.fit(TEXT, 1), TEXT, Positions(1, 11)) == Accuracy(8, 10)


def test_bad_orders_and_empty_text_are_refused() -> None:
    with pytest.raises(ValueError, match=r"order: must be >= 0"):
        baseline.fit(TEXT, -1)
    with pytest.raises(ValueError, match=r"trained on empty text"):
        baseline.fit("", 3).predict("ab")


def test_the_section_holds_both_n_grams_on_each_split() -> None:
    text = TEXT * 6
    splits = {"validation": Positions(40, 50), "test": Positions(50, 66)}
    section = baseline.bars(text, splits, 3).section()
    indices = encode(text)
    expected = {
        split: baseline.record(baseline.evaluate(baseline.fit(text[: where.start], 3), text, where))
        for split, where in splits.items()
    }
    expected_kn = {
        split: kneser_ney.evaluate(kneser_ney.fit(indices[: where.start], 3), indices, where).as_dict()
        for split, where in splits.items()
    }
    assert section == {
        "method": baseline.METHOD,
        "order": 3,
        **expected,
        "kneser_ney": {"method": baseline.KNESER_NEY_METHOD, "order": 3, **expected_kn},
    }
    assert (section["test"]["samples"], section["kneser_ney"]["test"]["samples"]) == (16, 16)


def test_the_command_prints_both_n_grams(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("Abracadabra! " * 20)  # simplified: "abracadabra " 20 times, 240 characters
    assert baseline.main(["--corpus", str(corpus), "--order", "4"]) == 0
    # Validation is positions 204..216, test 216..240. Every 4-character context has one follower but
    # "abra", followed by "c" and by " " equally often: the backoff n-gram guesses "c" (seen
    # first), wrong once in each 12 characters. Kneser-Ney ranks the same way.
    indices = encode("abracadabra " * 20)
    kn = {
        split: kneser_ney.evaluate(kneser_ney.fit(indices[: where.start], 4), indices, where)
        for split, where in {"validation": Positions(204, 216), "test": Positions(216, 240)}.items()
    }
    assert capsys.readouterr().out.splitlines() == [
        f"validation (12 positions), order 4: backoff n-gram 0.9167; Kneser-Ney 0.9167, "
        f"{kn['validation'].bits_per_char:.3f} bits/char",
        f"test (24 positions), order 4: backoff n-gram 0.9167; Kneser-Ney 0.9167, "
        f"{kn['test'].bits_per_char:.3f} bits/char",
    ]
    assert (kn["validation"].correct, kn["test"].correct) == (11, 22)


def test_the_command_refuses_an_order_the_codes_cannot_hold(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        baseline.main(["--order", "13"])
    assert "--order must be in 0..12" in capsys.readouterr().err


def test_the_command_names_a_missing_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert baseline.main(["--corpus", str(tmp_path / "none.txt")]) == 2
    assert "corpus not found" in capsys.readouterr().err
