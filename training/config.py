"""The training configuration: every default written once, here. The command line is built
from these fields (training/cli.py), so `python -m training --help` shows each of them.

No NumPy here: the command line reads this before it sets the BLAS threads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from model.limits import ARCHITECTURE_NAMES, MAX_CONTEXT, MAX_HIDDEN

CORPUS_ENV = "CHAR_RNN_CORPUS"
DEFAULT_CORPUS = Path("data/origin_of_species.txt")
AT_LEAST_ONE = ("hidden", "seq_length", "samples", "stride", "epochs", "lr_segment", "batch_size")
# Upper bounds: a typo costs an error naming the flag, not a MemoryError hours later. hidden and
# seq_length are what an artifact may hold.
AT_MOST = {
    "hidden": MAX_HIDDEN,
    "seq_length": MAX_CONTEXT,
    "samples": 10**8,
    "stride": 10**6,
    "epochs": 10_000,
    "lr_segment": 10_000,
    "batch_size": 65_536,
    "patience": 10_000,
}
MAX_SEED = 2**64 - 1
INFINITY = float("inf")
ARCHITECTURES = ARCHITECTURE_NAMES


def option(default: Any, help: str, choices: tuple[str, ...] | None = None, shown: str | None = None) -> Any:
    """A field with its command-line help, choices, and the default as --help shows it."""
    return field(default=default, metadata={"help": help, "choices": choices, "shown": shown or str(default)})


@dataclass(frozen=True)
class TrainingConfig:
    """The assignment's recipe is the defaults; RECIPES lists the others as changes to them."""

    recipe: str = option(
        "assignment", "named settings that the other flags override", choices=("assignment", "darwin-lstm")
    )
    corpus: Path | None = option(
        None, "the book's text", shown=f"${CORPUS_ENV} if set, else {DEFAULT_CORPUS}"
    )
    out: Path = option(Path("runs/char-rnn-assignment"), "directory of the artifact to write")
    architecture: str = option("rnn", "the network", choices=ARCHITECTURES)
    hidden: int = option(400, "hidden units H")
    seq_length: int = option(10, "characters per training window: the model's context")
    samples: int = option(
        5000, "training windows (rnn; an lstm trains on all the text before validation, or test with --refit)"
    )
    stride: int = option(1, "characters between the starts of two training windows (rnn)")
    epochs: int = option(15, "passes over the training windows")
    lr: float = option(0.001, "learning rate of the first segment")
    lr_segment: int = option(5, "epochs per learning-rate segment")
    lr_decay: float = option(0.5, "factor applied to the learning rate at each new segment")
    batch_size: int = option(1, "windows per update; 1 is the assignment's per-sample SGD")
    optimizer: str = option("sgd", "the update rule", choices=("sgd", "adam"))
    clip: float = option(5.0, "clip each gradient entry to +-CLIP; 0 = off")
    clip_norm: float = option(0.0, "scale the gradients down to this global L2 norm; 0 = off")
    dropout: float = option(0.0, "dropout rate on h before the output layer (lstm)")
    context_dropout: float = option(
        0.0, "rate at which a position's context embedding is dropped (lstm-contexts)"
    )
    order_dropout: float = option(
        0.0, "rate at which each order's row of a context embedding is dropped (lstm-contexts)"
    )
    patience: int = option(0, "stop after this many epochs without a better validation accuracy; 0 = never")
    carry: bool = option(
        False,
        "read whole texts: train on consecutive chunks of --batch-size streams with the state "
        "carried between them (truncated BPTT), and read every text from its first character "
        "(lstm); else each window of --seq-length characters is read from the zero state",
    )
    reset: float = option(
        0.0,
        "with --carry, the rate at which a stream's carried state is reset to a text's start "
        "at a chunk's start",
    )
    refit: bool = option(
        False,
        "then train afresh on all the text before the test split for the best epoch's count of "
        "epochs, and ship that (lstm)",
    )
    dtype: str = option("float32", "floating-point type of the weights", choices=("float32", "float64"))
    seed: int = option(0, "random seed of the initial weights and the window order")
    force: bool = option(False, "replace an existing artifact")
    resume: bool = option(False, "continue a killed run from its last checkpoint (lstm)")

    @property
    def context(self) -> int:
        """The manifest's context: the window's length, or 0 for a model that reads whole texts."""
        return 0 if self.carry else self.seq_length

    def hyperparameters(self) -> dict[str, Any]:
        values = asdict(self)
        for key in ("corpus", "out", "force", "resume"):
            values.pop(key)
        return values

    def problems(self) -> list[tuple[str, str]]:
        """(field, what is wrong with it) for every out-of-range value. Each check is written so
        that NaN fails it: every comparison with NaN is False."""
        found = [(name, "must be >= 1") for name in AT_LEAST_ONE if getattr(self, name) < 1]
        found += [
            (name, f"must be <= {most}") for name, most in AT_MOST.items() if getattr(self, name) > most
        ]
        if not 0 < self.lr < INFINITY:
            found.append(("lr", "must be a finite number > 0"))
        if not 0 < self.lr_decay <= 1:
            found.append(("lr_decay", "must be in (0, 1]"))
        found += [
            (name, "must be >= 0 and finite")
            for name in ("clip", "clip_norm")
            if not 0 <= getattr(self, name) < INFINITY
        ]
        if self.patience < 0:
            found.append(("patience", "must be >= 0"))
        found += [
            (name, "must be in [0, 1)")
            for name in ("dropout", "context_dropout", "order_dropout", "reset")
            if not 0 <= getattr(self, name) < 1
        ]
        if not 0 <= self.seed <= MAX_SEED:
            found.append(("seed", f"must be in 0..{MAX_SEED}"))
        if self.carry and self.architecture == "rnn":
            found.append(("carry", "needs a language model (--architecture lstm or lstm-contexts)"))
        if self.refit and self.architecture == "rnn":
            found.append(("refit", "needs a language model (--architecture lstm or lstm-contexts)"))
        if self.recipe not in RECIPES:
            found.append(("recipe", f"must be one of {sorted(RECIPES)}"))
        return found


# Each recipe: the fields it changes from the defaults (the assignment's recipe).
RECIPES: dict[str, dict[str, Any]] = {
    "assignment": {},
    "darwin-lstm": {
        "out": Path("runs/darwin-lstm"),
        "architecture": "lstm-contexts",
        "hidden": 384,
        "carry": True,
        "seq_length": 64,
        "epochs": 14,
        "lr": 0.003,
        "lr_segment": 1,
        "lr_decay": 0.85,
        "batch_size": 32,
        "optimizer": "adam",
        "clip": 0.0,
        "clip_norm": 5.0,
        "dropout": 0.3,
        "context_dropout": 0.25,
        "order_dropout": 0.5,
        "patience": 3,
        "reset": 0.2,
    },
}


def resolve(recipe: str, overrides: dict[str, Any]) -> TrainingConfig:
    """The recipe's configuration with `overrides` (the flags given) applied on top."""
    if recipe not in RECIPES:
        raise ValueError(f"recipe: {recipe!r} is not one of {sorted(RECIPES)}")
    return TrainingConfig(**{**RECIPES[recipe], **overrides, "recipe": recipe})
