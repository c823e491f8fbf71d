"""The 27-symbol alphabet: space and a-z, and the text <-> index conversions."""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import NDArray

ALPHABET = " abcdefghijklmnopqrstuvwxyz"
ALPHABET_SIZE = len(ALPHABET)
_INDEX = {char: index for index, char in enumerate(ALPHABET)}
_OUTSIDE = re.compile(r"[^a-z]+")
# Lookup table from byte value to symbol index; 255 marks "not in the alphabet".
_BYTE_TO_INDEX = np.full(256, 255, dtype=np.uint8)
for _char, _index in _INDEX.items():
    _BYTE_TO_INDEX[ord(_char)] = _index


class AlphabetError(ValueError):
    """A character outside the 27-symbol alphabet was given to a strict encoder."""


def simplify(text: str) -> str:
    """Lowercase, then turn every run of characters outside a-z into one space."""
    return _OUTSIDE.sub(" ", text.lower())


def encode(text: str) -> NDArray[np.int64]:
    """Indices of the characters of `text`; raises AlphabetError on any character outside it."""
    raw = text.encode("ascii", errors="replace")  # non-ASCII becomes '?', which is outside
    indices = _BYTE_TO_INDEX[np.frombuffer(raw, dtype=np.uint8)]
    bad = np.flatnonzero(indices == 255)
    if bad.size:
        position = int(bad[0])
        raise AlphabetError(
            f"character {text[position]!r} at position {position} is not in the alphabet "
            f"(space and a-z); simplify the text first"
        )
    return indices.astype(np.int64)


def decode(indices: NDArray[np.integer] | list[int]) -> str:
    """The text of a sequence of alphabet indices."""
    array = np.asarray(indices)
    if array.size and (array.min() < 0 or array.max() >= ALPHABET_SIZE):
        raise AlphabetError(f"index out of range 0..{ALPHABET_SIZE - 1}")
    return "".join(ALPHABET[int(i)] for i in array.ravel())
