"""Settings from the environment: defaults, parsing, and one clear message for a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.artifact import CHECKOUT_ARTIFACTS
from service.settings import Settings, SettingsError, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert (settings.artifact, settings.artifacts) == (None, (Path("artifacts"),))
    # No artifacts/ here: the checkout's (tests/test_commands.py covers the two cases).
    assert settings.artifact_paths == (CHECKOUT_ARTIFACTS,)
    assert settings.default_model is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert (settings.max_text_chars, settings.max_batch, settings.max_body_bytes) == (
        100_000,
        1000,
        1_000_000,
    )
    assert settings.log_level == "info"
    assert settings.cors_origins == ()


def test_environment_is_read_and_parsed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHAR_RNN_ARTIFACT", str(tmp_path / "model"))
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("MAX_TEXT_CHARS", "500")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("CORS_ORIGINS", " http://a.example ,http://b.example,, ")
    settings = load_settings()
    assert settings.artifact_paths == (tmp_path / "model",)
    assert (settings.host, settings.port, settings.max_text_chars) == ("0.0.0.0", 9000, 500)
    assert settings.log_level == "warning"
    assert settings.cors_origins == ("http://a.example", "http://b.example")


def test_artifacts_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHAR_RNN_ARTIFACTS", " models/a , /srv/b,, ")
    monkeypatch.setenv("DEFAULT_MODEL", "b")
    settings = load_settings()
    assert settings.artifacts == (Path("models/a"), Path("/srv/b"))
    assert settings.artifact_paths == (tmp_path / "models" / "a", Path("/srv/b"))
    assert settings.default_model == "b"


def test_one_artifact_and_a_list_together_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAR_RNN_ARTIFACT", "artifacts/one")
    monkeypatch.setenv("CHAR_RNN_ARTIFACTS", "artifacts")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value) == (
        "invalid settings: set CHAR_RNN_ARTIFACT (one artifact) or CHAR_RNN_ARTIFACTS, not both"
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "CHAR_RNN_ARTIFACTS",
            " , ",
            "invalid setting CHAR_RNN_ARTIFACTS=(): Tuple should have at least 1 item after validation",
        ),
        ("DEFAULT_MODEL", "", "invalid setting DEFAULT_MODEL='': String should have at least 1 character"),
        ("PORT", "0", "invalid setting PORT='0': Input should be greater than or equal to 1"),
        ("MAX_TEXT_CHARS", "lots", "invalid setting MAX_TEXT_CHARS='lots': Input should be a valid integer"),
        (
            "MAX_BODY_BYTES",
            "-5",
            "invalid setting MAX_BODY_BYTES='-5': Input should be greater than or equal to 1",
        ),
        ("PREDICT_CACHE_SIZE", "-1", "invalid setting PREDICT_CACHE_SIZE='-1': Input should be greater than"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValueError):
        settings.port = 1  # type: ignore[misc]
