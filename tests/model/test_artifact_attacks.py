"""Every hostile artifact of tests/utils/attacks.py is refused by the loader, naming the file
and the reason; a real process refusing them is in tests/service and tests/training."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.artifact import ArtifactError, load
from tests.utils.attacks import ATTACKS, Attack, attacked_copy


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.name for attack in ATTACKS])
def test_each_attack_is_refused_by_the_loader(small_artifact: Path, tmp_path: Path, attack: Attack) -> None:
    directory = attacked_copy(small_artifact, tmp_path / "attacked", attack)
    with pytest.raises(ArtifactError, match=attack.refusal) as refused:
        load(directory)
    assert str(refused.value).startswith(f"{directory}{'/'}")
    assert "\n" not in str(refused.value)


def test_the_untouched_copy_loads(small_artifact: Path, tmp_path: Path) -> None:
    """The attacks start from an artifact the loader accepts: each refusal is its own fault."""
    untouched = Attack("nothing", lambda directory: None, "")
    assert load(attacked_copy(small_artifact, tmp_path / "copy", untouched)).context == 10
