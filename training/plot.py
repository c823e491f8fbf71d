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


def writer(history: list[dict[str, Any]]) -> Callable[[Path], None]:
    """A callback that draws the plot into an artifact directory, or says why it cannot."""

    def write(directory: Path) -> None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("note: matplotlib not installed (pip install '.[plot]'); no plot written", file=sys.stderr)
            return
        epochs = [record["epoch"] for record in history]
        figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 4))
        loss_axis.plot(epochs, [record["loss"] for record in history], marker="o")
        loss_axis.set(xlabel="epoch", ylabel="mean training loss", title="Training loss")
        for split in ("train", "validation", "test"):
            values = [100 * record.get(f"{split}_accuracy", float("nan")) for record in history]
            if any(value == value for value in values):  # NaN != NaN: skip splits never measured
                accuracy_axis.plot(epochs, values, marker="o", label=split)
        accuracy_axis.set(xlabel="epoch", ylabel="next character right (%)", title="Accuracy per epoch")
        accuracy_axis.legend()
        figure.tight_layout()
        figure.savefig(directory / PLOT_FILE, dpi=100)
        plt.close(figure)

    return write
