"""The service's settings: one class, read from the environment and validated at start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from model.artifact import DEFAULT_ARTIFACT

LogLevel = Literal["critical", "error", "warning", "info", "debug"]
LogFormat = Literal["text", "json"]


class Settings(BaseSettings):
    """Every knob of the service; the environment variable is the field's alias.

    A relative CHAR_RNN_ARTIFACT is resolved against the current directory (the repository
    root for `make serve`, /app in the container).
    """

    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", frozen=True, populate_by_name=True
    )

    artifact: Path = Field(DEFAULT_ARTIFACT, alias="CHAR_RNN_ARTIFACT")
    host: str = Field("127.0.0.1", alias="HOST", min_length=1)
    port: int = Field(8000, alias="PORT", ge=1, le=65535)
    max_text_chars: int = Field(100_000, alias="MAX_TEXT_CHARS", ge=1)
    max_batch: int = Field(1000, alias="MAX_BATCH", ge=1)
    max_body_bytes: int = Field(1_000_000, alias="MAX_BODY_BYTES", ge=1)
    # POST /accuracy computations running at once (each may take seconds and tens of MB).
    max_concurrent_evaluations: int = Field(2, alias="MAX_CONCURRENT_EVALUATIONS", ge=1, le=64)
    # Windows whose ranking /predict-next keeps (LRU); 0 turns the cache off.
    predict_cache_size: int = Field(4096, alias="PREDICT_CACHE_SIZE", ge=0, le=1_000_000)
    # Seconds a connection may take to send a request's headers (idle or slow ones are closed).
    header_timeout_seconds: float = Field(10.0, alias="HEADER_TIMEOUT_SECONDS", ge=0.1, le=300)
    # Open connections at most; past it a new one gets a 503 and is closed at once.
    max_connections: int = Field(1000, alias="MAX_CONNECTIONS", ge=1, le=100_000)
    log_level: LogLevel = Field("info", alias="LOG_LEVEL")
    # text: one readable line per record; json: one JSON object per line, for a log collector.
    log_format: LogFormat = Field("text", alias="LOG_FORMAT")
    # Comma-separated origins; empty means no CORS headers at all.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field((), alias="CORS_ORIGINS")
    # Seconds uvicorn waits for in-flight requests after SIGTERM before closing them.
    graceful_shutdown_seconds: int = Field(30, alias="GRACEFUL_SHUTDOWN_SECONDS", ge=1, le=3600)
    # Seconds after SIGTERM during which /health/ready answers 503 while requests are still
    # served, so a load balancer stops routing here before the socket closes.
    drain_seconds: float = Field(0, alias="DRAIN_SECONDS", ge=0, le=300)

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    @property
    def artifact_path(self) -> Path:
        """The artifact directory as an absolute path."""
        return self.artifact if self.artifact.is_absolute() else Path.cwd() / self.artifact


class SettingsError(Exception):
    """An environment variable holds an invalid value; the message names it."""


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, overridden by `overrides` (keyed by variable name), or
    SettingsError naming the first bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {name}={first.get('input')!r}: {first['msg']}") from None
