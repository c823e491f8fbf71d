"""Small, honestly measured artifacts written with model.artifact.save."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.accuracy import count_correct
from model.alphabet import ALPHABET_SIZE, encode, simplify
from model.artifact import save
from model.rnn import init_params, loss_and_grads
from training.data import Span, windows
from training.optim import SGD

# A few sentences in Darwin's manner, enough for a tiny net to learn common letter pairs.
_SENTENCES = (
    "When we look to the individuals of the same variety or sub-variety of our older cultivated "
    "plants and animals, one of the first points which strikes us is that they generally differ "
    "more from each other than do the individuals of any one species or variety in a state of "
    "nature. Charles Darwin wrote on the origin of species by means of natural selection, or the "
    "preservation of favoured races in the struggle for life. "
)
SAMPLE_TEXT = simplify(_SENTENCES) * 3


def build_artifact(
    directory: Path, n_hidden: int = 16, seq_length: int = 10, steps: int = 60, seed: int = 0
) -> Path:
    """Train a tiny net for a few minibatch steps on SAMPLE_TEXT and save it with real metrics."""
    indices = encode(SAMPLE_TEXT)
    cut = int(len(indices) * 0.9)
    train, heldout = Span(0, cut, 1), Span(cut, len(indices), seq_length)
    inputs, targets = windows(indices, train, seq_length)
    params = init_params(ALPHABET_SIZE, n_hidden, ALPHABET_SIZE, seed=seed)
    rng = np.random.default_rng(seed)
    history, sgd = [], SGD()
    for step in range(1, steps + 1):
        batch = rng.integers(0, len(inputs), size=32)
        loss, grads = loss_and_grads(params, inputs[batch], targets[batch])
        sgd.step(params, grads, learning_rate=0.5)
        history.append({"epoch": step, "learning_rate": 0.5, "loss": loss})
    metrics = {
        name: count_correct(params, indices, span, seq_length).as_dict()
        for name, span in (("train", train), ("heldout", heldout))
    }
    manifest = {
        "name": f"test-rnn-{n_hidden}",
        "n_hidden": n_hidden,
        "seq_length": seq_length,
        "hyperparameters": {"steps": steps, "batch_size": 32, "lr": 0.5, "seed": seed},
        "history": history,
        "data": {"train": train.as_dict(), "heldout": heldout.as_dict()},
        "metrics": metrics,
    }
    return save(directory, params, manifest)
