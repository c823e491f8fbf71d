"""POST /accuracy's details: the guess at every scored position and its probability.

Kept beside, not inside, the accuracy count: the count answers "how often", this answers
"where", and the demo page colours each character by it. Both come from the same forward
passes (model.accuracy.guesses), so the details cover exactly the positions counted.
"""

from __future__ import annotations

from model.accuracy import Accuracy, guesses
from model.alphabet import ALPHABET
from service.schemas import AccuracyDetails
from service.served import OnChunk, ServedModel


def accuracy_details(
    served: ServedModel, text: str, on_chunk: OnChunk, adapt: bool = False
) -> tuple[Accuracy, AccuracyDetails]:
    """ServedModel.accuracy's result and the guess at each of its positions, in order.

    `on_chunk(done)` runs after each forward pass, and may raise to stop the work.
    """
    evaluator = served.check_adapt(adapt)
    simplified, indices, positions = served.scored(text)
    accuracy, guessed = guesses(served.model, indices, positions, on_chunk, evaluator)
    details = AccuracyDetails(
        text=simplified,
        start=guessed.start,
        predicted="".join(ALPHABET[index] for index in guessed.guesses.tolist()),
        probabilities=guessed.probabilities.tolist(),
    )
    return accuracy, details
