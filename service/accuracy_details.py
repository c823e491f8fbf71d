"""POST /accuracy's details: the guess at every predicted position and its probability.

Kept beside, not inside, the accuracy count: the count answers "how often", this answers
"where", and the demo page colours each character by it.
"""

from __future__ import annotations

import numpy as np

from model.alphabet import ALPHABET, encode, simplify
from model.rnn import next_char_probabilities
from service.predictor import Predictor
from service.schemas import AccuracyDetails

# Windows per forward pass: the hidden states of a chunk stay a few MB on a 100,000-character text.
DETAILS_CHUNK = 4096


def accuracy_details(predictor: Predictor, text: str) -> AccuracyDetails:
    """Each position from seq_length on, guessed from the seq_length characters before it.

    These are the positions Predictor.accuracy counts, and the guess is the most probable
    character, so `correct` is the number of positions where the guess is the character.
    """
    simplified = simplify(text)
    indices = encode(simplified)
    seq_length = predictor.seq_length
    positions = np.arange(seq_length, indices.size, dtype=np.int64)
    guesses, probabilities = [np.empty(0, dtype=np.int64)], [np.empty(0)]
    for first in range(0, positions.size, DETAILS_CHUNK):
        chunk = positions[first : first + DETAILS_CHUNK]
        windows = indices[chunk[:, None] - seq_length + np.arange(seq_length)[None, :]]  # (chunk, T)
        distribution = next_char_probabilities(predictor.params, windows)  # (chunk, 27)
        best = np.argmax(distribution, axis=1)
        guesses.append(best)
        probabilities.append(distribution[np.arange(best.size), best])
    return AccuracyDetails(
        text=simplified,
        start=seq_length,
        predicted="".join(ALPHABET[index] for index in np.concatenate(guesses).tolist()),
        probabilities=np.concatenate(probabilities).astype(float).tolist(),
    )
