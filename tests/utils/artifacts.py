"""Small, honestly measured artifacts of either architecture, written with model.artifact.save."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from model import lstm_lm, rnn
from model.accuracy import evaluate, evaluate_split, sentence
from model.alphabet import ALPHABET_SIZE, encode, simplify
from model.artifact import save
from model.language_model import ARCHITECTURES, LanguageModel, Params
from training import baseline
from training.data import Span, evaluation_splits, trained_positions, validation_start, windows
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
LOSS_AND_GRADS: dict[str, Callable[[Params, Any, Any], tuple[float, Params]]] = {
    "rnn": rnn.loss_and_grads,
    "lstm": lstm_lm.loss_and_grads,
}
LEARNING_RATE = {"rnn": 0.5, "lstm": 2.0}  # plain SGD; the LSTM's gates learn slowly below this


def tiny_manifest(name: str, metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest of an untrained 27-6-27 RNN with a 4-character context, for artifacts whose
    figures no test reads: the fields model.artifact.save needs, nothing measured."""
    return {
        "name": name,
        "architecture": "rnn",
        "n_hidden": 6,
        "context": 4,
        "hyperparameters": {"seq_length": 4, "dtype": "float64"},
        "metrics": metrics or {},
    }


def build_artifact(
    directory: Path,
    architecture: str = "rnn",
    n_hidden: int = 16,
    context: int = 10,
    steps: int = 60,
    seed: int = 0,
    name: str | None = None,
) -> Path:
    """Train a tiny net for a few minibatch steps on SAMPLE_TEXT and save it with real metrics:
    the model's and the n-gram's on the splits training uses, by their own functions."""
    indices = encode(SAMPLE_TEXT)
    train_span = Span(0, validation_start(len(indices)), 1)
    inputs, targets = windows(indices, train_span, context)
    network = ARCHITECTURES[architecture]
    params = network.init_params(ALPHABET_SIZE, n_hidden, ALPHABET_SIZE, seed, np.float64)
    rng, sgd, rate = np.random.default_rng(seed), SGD(), LEARNING_RATE[architecture]
    history = []
    for step in range(1, steps + 1):
        batch = rng.integers(0, len(inputs), size=32)
        loss, grads = LOSS_AND_GRADS[architecture](params, inputs[batch], targets[batch])
        sgd.step(params, grads, learning_rate=rate)
        history.append({"epoch": step, "learning_rate": rate, "loss": loss})
    splits = {"train": trained_positions(train_span, context), **evaluation_splits(len(indices))}
    model = LanguageModel(network, params, context)
    measured = {split: evaluate(model, indices, positions) for split, positions in splits.items()}
    reference = baseline.bars(SAMPLE_TEXT, evaluation_splits(len(indices)))
    manifest = {
        "name": name or f"test-{architecture}-{n_hidden}",
        "architecture": architecture,
        "n_in": ALPHABET_SIZE,
        "n_hidden": n_hidden,
        "n_out": ALPHABET_SIZE,
        "context": context,
        "hyperparameters": {
            "steps": steps,
            "batch_size": 32,
            "lr": rate,
            "seed": seed,
            "seq_length": context,
            "dtype": "float64",
        },
        "history": history,
        "data": {split: positions.as_dict() for split, positions in splits.items()},
        "metrics": {split: accuracy.as_dict() for split, accuracy in measured.items()},
        "baseline": reference.section(),
        "sentence": sentence(network.description, context, measured["test"], reference.backoff["test"]),
    }
    return save(directory, params, manifest)


def build_stream_artifact(
    directory: Path, n_hidden: int = 12, steps: int = 40, seed: int = 0, name: str = "test-stream"
) -> Path:
    """A tiny LSTM with contexts that reads whole texts (context 0), trained for a few steps of
    truncated BPTT on SAMPLE_TEXT in float32 (as served) and saved with real metrics."""
    indices = encode(SAMPLE_TEXT)
    splits = evaluation_splits(len(indices))
    network = ARCHITECTURES["lstm-contexts"]
    params = network.init_params(ALPHABET_SIZE, n_hidden, ALPHABET_SIZE, seed, np.float32)
    sgd, rng, carried = SGD(), np.random.default_rng(seed), None
    streams = indices[: splits["validation"].start - 1 - (splits["validation"].start - 1) % 4].reshape(4, -1)
    history = []
    for step in range(1, steps + 1):
        first = (step - 1) * 16 % (streams.shape[1] - 17)
        if first == 0:
            carried = None
        x, y = streams[:, first : first + 16], streams[:, first + 1 : first + 17]
        loss, grads, carried = lstm_lm.loss_grads_and_carry(params, x, y, carried, rng=rng)
        sgd.step(params, grads, learning_rate=2.0)
        history.append({"epoch": step, "learning_rate": 2.0, "loss": loss})
    model = LanguageModel(network, params, 0)
    measured = {split: evaluate_split(model, indices, splits[split]) for split in ("validation", "test")}
    reference = baseline.bars(SAMPLE_TEXT, splits)
    manifest = {
        "name": name,
        "architecture": "lstm-contexts",
        "n_in": ALPHABET_SIZE,
        "n_hidden": n_hidden,
        "n_out": ALPHABET_SIZE,
        "context": 0,
        "hyperparameters": {
            "steps": steps,
            "seq_length": 16,
            "carry": True,
            "seed": seed,
            "dtype": "float32",
        },
        "history": history,
        "data": {"train": {"start": 1, "end": splits["validation"].start}}
        | {split: positions.as_dict() for split, positions in splits.items()},
        "metrics": {split: accuracy.as_dict() for split, accuracy in measured.items()},
        "baseline": reference.section(),
        "sentence": sentence(network.description, 0, measured["test"], reference.backoff["test"]),
    }
    return save(directory, params, manifest)
