"""A training run's checkpoint: written atomically after every epoch, read by --resume.

A run with a refit keeps two: phase 1's, which stops changing once phase 1 is done (its best
epoch decides the refit's length), and the refit's own, beside it.

A directory holding state.npz (the parameters, the best epoch's parameters and the
optimiser's moments, keyed "params/U", "best/U", "m/U", ...) and state.json (the epoch, the
history, the random generator's exact state and the configuration it belongs to).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from training.config import TrainingConfig
from training.fit import Run
from training.optim import OPTIMIZERS, Adam

STATE_ARRAYS, STATE_JSON = "state.npz", "state.json"


class CheckpointError(ValueError):
    """No checkpoint to resume, or one that belongs to another configuration."""


def path_for(out: Path) -> Path:
    """Where a run writing the artifact `out` keeps its checkpoint: a hidden sibling."""
    return out.parent / f".{out.name}.checkpoint"


def refit_path_for(out: Path) -> Path:
    """Where the refit of a run writing `out` keeps its checkpoint."""
    return out.parent / f".{out.name}.refit-checkpoint"


def remove(directory: Path) -> None:
    """Delete a checkpoint, and the previous epoch's state that a killed save() may leave."""
    shutil.rmtree(directory, ignore_errors=True)
    shutil.rmtree(directory.with_name(directory.name + ".old"), ignore_errors=True)


def resumable(config: TrainingConfig) -> dict[str, Any]:
    """The settings a resumed run must share with the run it continues. Whether a refit follows
    changes no epoch of phase 1, nor of the refit."""
    values = dataclasses.asdict(config)
    for key in ("corpus", "out", "force", "resume", "epochs", "patience", "refit"):
        values.pop(key, None)
    return json.loads(json.dumps(values, default=str))  # type: ignore[no-any-return]


def holder(directory: Path) -> Path:
    """Where the checkpoint of `directory` is: the directory itself or, for a run killed between
    the two renames of save(), the previous epoch's state beside it."""
    old = directory.with_name(directory.name + ".old")
    return old if not directory.is_dir() and old.is_dir() else directory


def saved_epoch(directory: Path) -> int | None:
    """The epoch the checkpoint of `directory` holds, or None if there is none to resume."""
    try:
        return int(json.loads((holder(directory) / STATE_JSON).read_text(encoding="utf-8"))["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(directory: Path, config: TrainingConfig, run: Run) -> None:
    arrays: dict[str, Any] = {f"params/{name}": array for name, array in run.params.items()}
    arrays |= {f"best/{name}": array for name, array in run.best_params.items()}
    if isinstance(run.optimizer, Adam):
        arrays |= {f"m/{name}": array for name, array in run.optimizer.m.items()}
        arrays |= {f"v/{name}": array for name, array in run.optimizer.v.items()}
    state = {
        "config": resumable(config),
        "epoch": run.epoch,
        "history": run.history,
        "best_epoch": run.best_epoch,
        "best_validation": run.best_validation,
        "seconds": run.seconds,
        "cpu_seconds": run.cpu_seconds,
        "optimizer_steps": getattr(run.optimizer, "steps", 0),
        "rng": run.rng.bit_generator.state,
    }
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{directory.name}.tmp-", dir=directory.parent))
    try:
        with open(tmp / STATE_ARRAYS, "wb") as stream:
            np.savez(stream, **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        with open(tmp / STATE_JSON, "w", encoding="utf-8") as stream:
            json.dump(state, stream)
            stream.flush()
            os.fsync(stream.fileno())
        old = directory.with_name(directory.name + ".old")
        if directory.exists():
            os.rename(directory, old)
        os.rename(tmp, directory)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load(directory: Path, config: TrainingConfig) -> Run:
    """The run saved in `directory`; CheckpointError if missing or from another configuration."""
    directory = holder(directory)
    if not (directory / STATE_JSON).is_file():
        raise CheckpointError(f"{directory}: no checkpoint to resume; run without --resume")
    state = json.loads((directory / STATE_JSON).read_text(encoding="utf-8"))
    if state["config"] != resumable(config):
        changed = sorted(k for k in state["config"] if state["config"][k] != resumable(config).get(k))
        raise CheckpointError(f"{directory}: the checkpoint was made with other settings: {changed}")
    with np.load(directory / STATE_ARRAYS, allow_pickle=False) as archive:
        groups: dict[str, dict[str, Any]] = {"params": {}, "best": {}, "m": {}, "v": {}}
        for key in archive.files:
            group, name = key.split("/", 1)
            groups[group][name] = archive[key]
    optimizer = OPTIMIZERS[config.optimizer]()
    if isinstance(optimizer, Adam):
        optimizer.m, optimizer.v, optimizer.steps = groups["m"], groups["v"], int(state["optimizer_steps"])
    rng = np.random.default_rng()
    rng.bit_generator.state = state["rng"]
    return Run(
        params=groups["params"],
        optimizer=optimizer,
        rng=rng,
        epoch=int(state["epoch"]),
        history=list(state["history"]),
        best_params=groups["best"],
        best_epoch=int(state["best_epoch"]),
        best_validation=float(state["best_validation"]),
        seconds=float(state["seconds"]),
        cpu_seconds=float(state["cpu_seconds"]),
    )
