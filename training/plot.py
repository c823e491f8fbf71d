"""Loss and accuracy per epoch as a PNG beside the artifact (needs the optional 'plot' extra)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

PLOT_FILE = "training.png"


def available() -> bool:
    """Whether matplotlib is installed, so that a plot can be drawn."""
    return importlib.util.find_spec("matplotlib") is not None


# Per phase, the accuracy curves: (label, key prefix in the history). The refit's validation
# was trained on, and its label says so.
SERIES = {
    "phase 1": (("train", "train"), ("validation", "validation"), ("test", "test")),
    "refit": (("refit: validation, trained on", "validation_trained_on"), ("refit: test", "test")),
}
STYLES = {"phase 1": "-", "refit": "--"}


def writer(
    history: list[dict[str, Any]], refit: list[dict[str, Any]] | None = None
) -> Callable[[Path], None]:
    """A callback that draws the plot into an artifact directory, or says why it cannot. With
    a refit, its epochs are drawn beside phase 1's, dashed."""
    histories = {"phase 1": history, "refit": refit or []}

    def write(directory: Path) -> None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("note: matplotlib not installed (pip install '.[plot]'); no plot written", file=sys.stderr)
            return
        figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 4))
        for phase, records in histories.items():
            draw(loss_axis, accuracy_axis, phase, records)
        loss_axis.set(xlabel="epoch", ylabel="mean training loss", title="Training loss")
        accuracy_axis.set(xlabel="epoch", ylabel="next character right (%)", title="Accuracy per epoch")
        loss_axis.legend()
        accuracy_axis.legend()
        figure.tight_layout()
        figure.savefig(directory / PLOT_FILE, dpi=100)
        plt.close(figure)

    return write


def draw(loss_axis: Any, accuracy_axis: Any, phase: str, records: list[dict[str, Any]]) -> None:
    """One phase's loss and accuracy curves."""
    if not records:
        return
    epochs = [record["epoch"] for record in records]
    loss_axis.plot(epochs, [record["loss"] for record in records], STYLES[phase], marker="o", label=phase)
    for label, prefix in SERIES[phase]:
        values = [100 * record.get(f"{prefix}_accuracy", float("nan")) for record in records]
        if any(value == value for value in values):  # NaN != NaN: skip splits never measured
            accuracy_axis.plot(epochs, values, STYLES[phase], marker="o", label=label)
