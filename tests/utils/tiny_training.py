"""A tiny language-model run: a few hundred characters, eight hidden units, three epochs, so
that training tests run in about a second and still exercise every path of the real recipe."""

from __future__ import annotations

from model.accuracy import Positions
from model.alphabet import encode, simplify
from training.config import resolve

SAMPLE = simplify(
    "When we look to the individuals of the same variety or sub-variety of our older cultivated "
    "plants and animals, one of the first points which strikes us is that they generally differ. "
)
INDICES = encode(SAMPLE * 6)
# The darwin-lstm recipe in small, with a refit: the tests of the refit phase read it too.
CONFIG = resolve(
    "darwin-lstm", {"hidden": 8, "seq_length": 12, "batch_size": 8, "epochs": 3, "patience": 0, "refit": True}
)
PROBES = {"validation": (INDICES, Positions(500, 700)), "test": (INDICES, Positions(700, 900))}
