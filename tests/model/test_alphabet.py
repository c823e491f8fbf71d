"""simplify / encode / decode: examples and properties."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.alphabet import ALPHABET, ALPHABET_SIZE, AlphabetError, decode, encode, simplify

alphabet_text = st.text(alphabet=ALPHABET)


def test_alphabet_is_space_then_a_to_z() -> None:
    assert ALPHABET == " abcdefghijklmnopqrstuvwxyz"
    assert ALPHABET_SIZE == 27


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Charles Darwin", "charles darwin"),
        ("origin of species--that mystery", "origin of species that mystery"),
        ("H.M.S. 'Beagle,'", "h m s beagle "),
        ("in 1837, that", "in that"),
        ("  \n\t", " "),
        ("", ""),
        ("naïve café", "na ve caf "),
    ],
)
def test_simplify_examples(text: str, expected: str) -> None:
    assert simplify(text) == expected


@given(st.text())
def test_simplify_is_the_assignment_regex(text: str) -> None:
    assert simplify(text) == re.sub(r"[^a-z]+", " ", text.lower())


@given(st.text())
def test_simplify_gives_alphabet_text_without_double_spaces(text: str) -> None:
    simple = simplify(text)
    assert set(simple) <= set(ALPHABET)
    assert "  " not in simple
    assert simplify(simple) == simple


@given(alphabet_text)
def test_decode_inverts_encode(text: str) -> None:
    indices = encode(text)
    assert indices.dtype == np.int64
    assert indices.shape == (len(text),)
    assert decode(indices) == text


@given(st.lists(st.integers(0, ALPHABET_SIZE - 1)))
def test_encode_inverts_decode(indices: list[int]) -> None:
    assert encode(decode(indices)).tolist() == indices


def test_encode_indices() -> None:
    assert encode(" az").tolist() == [0, 1, 26]


@given(alphabet_text, st.characters().filter(lambda char: char not in ALPHABET), alphabet_text)
def test_strict_encoding_names_the_first_bad_character(before: str, bad: str, after: str) -> None:
    with pytest.raises(AlphabetError, match=f"at position {len(before)} is not in the alphabet"):
        encode(before + bad + after)


def test_decode_refuses_out_of_range_indices() -> None:
    with pytest.raises(AlphabetError, match="index out of range"):
        decode([0, 27])
