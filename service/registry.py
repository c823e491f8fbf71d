"""Every model the service serves, by name, and which one answers a request that names none.

All are loaded and verified at start: one unusable artifact refuses the start, so a request
never meets a model that fails to load. `load_registry` also builds what the models share (the
admission queues' bounds and pool, the metrics they feed) and hands it to each (service.served).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from anyio import CapacityLimiter
from prometheus_client import Counter

from model.artifact import MANIFEST_FILE, WEIGHTS_FILE, ArtifactError
from model.names import check_name, clipped
from service.schemas import ModelInfo
from service.served import ServedModel, Shared, load_served, no_observer, not_draining, own_refusals
from service.settings import Settings, SettingsError


class UnknownModel(Exception):
    """A request named a model that is not served; the message lists those that are."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        super().__init__(f"Unknown model {clipped(name)}: the models served are {', '.join(self.known)}")


class ModelRegistry:
    """The served models by name (in name order) and the default one. Never mutated after start."""

    def __init__(self, served: Sequence[ServedModel], default: str | None = None) -> None:
        if not served:
            raise ValueError("served: at least one model is needed")
        for model in served:
            check_served_name(model)
        self._served = {model.name: model for model in sorted(served, key=_name)}
        if len(self._served) != len(served):
            raise ValueError("served: two models have the same name")
        if default is not None and default not in self._served:
            raise SettingsError(
                f"invalid setting DEFAULT_MODEL={default!r}: not one of the models served "
                f"({', '.join(self.names)})"
            )
        self.default = self._served[default] if default is not None else best(self.served)
        self._infos = {
            name: model.info.model_copy(update={"default": model is self.default})
            for name, model in self._served.items()
        }

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._served)

    @property
    def served(self) -> tuple[ServedModel, ...]:
        return tuple(self._served.values())

    def get(self, name: str | None) -> ServedModel:
        """The model called `name`, or the default for None; UnknownModel otherwise."""
        if name is None:
            return self.default
        try:
            return self._served[name]
        except KeyError:
            raise UnknownModel(name, self.names) from None

    def info(self, name: str | None) -> ModelInfo:
        """GET /model's answer for `name` (None: the default), with its `default` flag."""
        return self._infos[self.get(name).name]

    def infos(self) -> list[ModelInfo]:
        return list(self._infos.values())


def check_served_name(model: ServedModel) -> None:
    """ArtifactError unless the model's name is safe to write into a log line or a metric label
    (load() refuses such an artifact too; a ServedModel may be built from another source)."""
    try:
        check_name(model.name)
    except ValueError as error:
        raise ArtifactError(f"{model.path / MANIFEST_FILE}: field name: {error}") from None


def _name(model: ServedModel) -> str:
    return model.name


def best(served: Sequence[ServedModel]) -> ServedModel:
    """The highest recorded test accuracy; the first in name order among equals."""
    return max(served, key=lambda model: model.recorded.test.accuracy)


def artifact_directories(settings: Settings) -> list[Path]:
    """CHAR_RNN_ARTIFACT alone; else each CHAR_RNN_ARTIFACTS entry that is an artifact, and
    every subdirectory (but hidden ones and lost+found) of each entry that is not."""
    if settings.artifact is not None:
        return list(settings.artifact_paths)
    directories: list[Path] = []
    for path in settings.artifact_paths:
        if any((path / name).is_file() for name in (MANIFEST_FILE, WEIGHTS_FILE)) or not path.is_dir():
            directories.append(path)  # load() names a missing directory or manifest
            continue
        inside = sorted(p for p in path.iterdir() if p.is_dir() and not _skipped(p.name))
        if not inside:
            raise ArtifactError(f"{path}: no artifact directory in it (CHAR_RNN_ARTIFACTS)")
        directories.extend(inside)
    return directories


def _skipped(name: str) -> bool:
    """Hidden directories (a save in progress) and a volume's lost+found are not artifacts."""
    return name.startswith(".") or name == "lost+found"


def load_registry(
    settings: Settings,
    refusals: Counter | None = None,
    observe_pass: Callable[[int], object] = no_observer,
    draining: Callable[[], bool] = not_draining,
) -> ModelRegistry:
    """Load and verify every artifact the settings name, each served with what they all share:
    `refusals` counts the admission queues' refusals by model and reason (without it, a count of
    their own), `observe_pass` sees each dynamic batch's size, and nothing is admitted once
    `draining()`. ArtifactError names the file and the reason, SettingsError a DEFAULT_MODEL that
    is not served."""
    directories = artifact_directories(settings)  # one model each
    running = settings.max_concurrent_evaluations
    shared = Shared(
        running,
        settings.max_queued_evaluations,
        settings.queue_timeout_seconds,
        # One pool for every model's admitted work, as many threads as they admit in all, apart
        # from the default pool that the batchers and the body parser use.
        CapacityLimiter(running * len(directories)),
        refusals if refusals is not None else own_refusals(),
        observe_pass,
        draining,
    )
    served: dict[str, ServedModel] = {}
    for directory in directories:
        model = load_served(directory, settings.max_text_chars, settings.predict_cache_size, shared)
        if model.name in served:
            raise ArtifactError(
                f"{directory / MANIFEST_FILE}: name {model.name!r} is already served from "
                f"{served[model.name].path}"
            )
        served[model.name] = model
    return ModelRegistry(list(served.values()), settings.default_model)
