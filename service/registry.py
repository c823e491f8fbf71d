"""Every model the service serves, by name, and which one answers a request that names none.

All are loaded and verified at start: one unusable artifact refuses the start, so a request
never meets a model that fails to load.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from model.artifact import MANIFEST_FILE, WEIGHTS_FILE, ArtifactError
from model.names import check_name, clipped
from service.predictor import Predictor, load_predictor
from service.schemas import ModelInfo
from service.settings import Settings, SettingsError


class UnknownModel(Exception):
    """A request named a model that is not served; the message lists those that are."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        super().__init__(f"Unknown model {clipped(name)}: the models served are {', '.join(self.known)}")


class ModelRegistry:
    """Predictors by name (in name order) and the default one. Never mutated after start."""

    def __init__(self, predictors: Sequence[Predictor], default: str | None = None) -> None:
        if not predictors:
            raise ValueError("predictors: at least one model is needed")
        for predictor in predictors:
            check_served_name(predictor)
        self._predictors = {predictor.name: predictor for predictor in sorted(predictors, key=_name)}
        if len(self._predictors) != len(predictors):
            raise ValueError("predictors: two models have the same name")
        if default is not None and default not in self._predictors:
            raise SettingsError(
                f"invalid setting DEFAULT_MODEL={default!r}: not one of the models served "
                f"({', '.join(self.names)})"
            )
        self.default = self._predictors[default] if default is not None else best(self.predictors)
        self._infos = {
            name: predictor.info.model_copy(update={"default": predictor is self.default})
            for name, predictor in self._predictors.items()
        }

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._predictors)

    @property
    def predictors(self) -> tuple[Predictor, ...]:
        return tuple(self._predictors.values())

    def get(self, name: str | None) -> Predictor:
        """The model called `name`, or the default for None; UnknownModel otherwise."""
        if name is None:
            return self.default
        try:
            return self._predictors[name]
        except KeyError:
            raise UnknownModel(name, self.names) from None

    def info(self, name: str | None) -> ModelInfo:
        """GET /model's answer for `name` (None: the default), with its `default` flag."""
        return self._infos[self.get(name).name]

    def infos(self) -> list[ModelInfo]:
        return list(self._infos.values())


def check_served_name(predictor: Predictor) -> None:
    """ArtifactError unless the model's name is safe to write into a log line or a metric label
    (load() refuses such an artifact too; a Predictor may be built from another source)."""
    try:
        check_name(predictor.name)
    except ValueError as error:
        raise ArtifactError(f"{predictor.path / MANIFEST_FILE}: field name: {error}") from None


def _name(predictor: Predictor) -> str:
    return predictor.name


def best(predictors: Sequence[Predictor]) -> Predictor:
    """The highest recorded test accuracy; the first in name order among equals."""
    return max(predictors, key=lambda predictor: predictor.recorded.test.accuracy)


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


def load_registry(settings: Settings) -> ModelRegistry:
    """Load and verify every artifact the settings name; ArtifactError names the file and the
    reason, SettingsError a DEFAULT_MODEL that is not served."""
    predictors: dict[str, Predictor] = {}
    for directory in artifact_directories(settings):
        predictor = load_predictor(directory, settings.max_text_chars, settings.predict_cache_size)
        if predictor.name in predictors:
            raise ArtifactError(
                f"{directory / MANIFEST_FILE}: name {predictor.name!r} is already served from "
                f"{predictors[predictor.name].path}"
            )
        predictors[predictor.name] = predictor
    return ModelRegistry(list(predictors.values()), settings.default_model)
