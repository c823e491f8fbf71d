"""The service's settings: one class, read from the environment and validated at start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from model.artifact import CHECKOUT_ARTIFACTS, COMMITTED_ARTIFACTS, committed_artifacts

# Where the served artifacts live unless CHAR_RNN_ARTIFACTS or CHAR_RNN_ARTIFACT says otherwise.
DEFAULT_ARTIFACTS = COMMITTED_ARTIFACTS

LogLevel = Literal["critical", "error", "warning", "info", "debug"]
LogFormat = Literal["text", "json"]


class Settings(BaseSettings):
    """Every knob of the service; the environment variable is the field's alias.

    CHAR_RNN_ARTIFACTS names a directory of artifacts (every subdirectory is served) or a
    comma-separated list of artifact directories; CHAR_RNN_ARTIFACT serves one artifact alone.
    Relative paths are resolved against the current directory (the repository root for `make
    serve`, /app in the container); left unset, `artifacts` is looked for there, then in the
    checkout the service was installed from, so the command works from any directory.
    """

    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", frozen=True, populate_by_name=True
    )

    # Each description is the settings table of docs/api.md (make docs-examples writes it).
    artifact: Path | None = Field(
        None,
        alias="CHAR_RNN_ARTIFACT",
        description="serve this one artifact directory alone (not together with `CHAR_RNN_ARTIFACTS`)",
    )
    artifacts: Annotated[tuple[Path, ...], NoDecode] = Field(
        (DEFAULT_ARTIFACTS,),
        alias="CHAR_RNN_ARTIFACTS",
        min_length=1,
        description="the models to serve: a directory of artifacts (each subdirectory but hidden ones is "
        "one), or a comma-separated list of artifact directories; unset, `artifacts` in the current "
        "directory, else in the checkout the service is installed from",
    )
    default_model: str | None = Field(
        None,
        alias="DEFAULT_MODEL",
        min_length=1,
        description="the model of requests that name none; unset: the best recorded test accuracy",
    )
    host: str = Field(
        "127.0.0.1", alias="HOST", min_length=1, description="where to listen (the container sets 0.0.0.0)"
    )
    port: int = Field(8000, alias="PORT", ge=1, le=65535, description="the port to listen on")
    max_text_chars: int = Field(100_000, alias="MAX_TEXT_CHARS", ge=1, description="longest text accepted")
    max_batch: int = Field(1000, alias="MAX_BATCH", ge=1, description="most texts in one batch")
    max_body_bytes: int = Field(1_000_000, alias="MAX_BODY_BYTES", ge=1, description="largest request body")
    max_concurrent_evaluations: int = Field(
        2,
        alias="MAX_CONCURRENT_EVALUATIONS",
        ge=1,
        le=64,
        description="expensive requests (generation, batch, POST /accuracy, /v1/completions, adapt) "
        "computing at once per model, each in a thread of their own pool",
    )
    predict_cache_size: int = Field(
        4096,
        alias="PREDICT_CACHE_SIZE",
        ge=0,
        le=1_000_000,
        description="windows whose ranking /predict-next keeps (LRU); 0 turns the cache off",
    )
    header_timeout_seconds: float = Field(
        10.0,
        alias="HEADER_TIMEOUT_SECONDS",
        ge=0.1,
        le=300,
        description="a connection that has not sent a whole request head in this time (after connecting, "
        "or after its last answer) is closed",
    )
    max_connections: int = Field(
        1000,
        alias="MAX_CONNECTIONS",
        ge=1,
        le=100_000,
        description='open connections at most (per worker); one more gets a 503 `{"detail": "Too many '
        'open connections (MAX_CONNECTIONS)"}` and is closed; the open-file limit is raised to fit it at '
        "start, or the start is refused",
    )
    log_level: LogLevel = Field("info", alias="LOG_LEVEL", description="the least severe level logged")
    log_format: LogFormat = Field(
        "text",
        alias="LOG_FORMAT",
        description="`text`: one readable line per record; `json`: one JSON object per line, for a log "
        "collector",
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        alias="CORS_ORIGINS",
        description="comma-separated origins allowed by CORS; empty means no CORS headers at all",
    )
    graceful_shutdown_seconds: int = Field(
        30,
        alias="GRACEFUL_SHUTDOWN_SECONDS",
        ge=1,
        le=3600,
        description="how long SIGTERM waits for requests in flight before closing them",
    )
    drain_seconds: float = Field(
        0,
        alias="DRAIN_SECONDS",
        ge=0,
        le=300,
        description="after SIGTERM, how long /health/ready answers 503 while requests are still served, so "
        "a load balancer stops routing here before the socket closes (WORKERS=1 only)",
    )
    workers: int = Field(
        1,
        alias="WORKERS",
        ge=1,
        le=64,
        description="server processes sharing the port, each with its own copy of the models (about 70 MB "
        "each); above 1, uvicorn's supervisor runs them and DRAIN_SECONDS does not apply",
    )
    body_timeout_seconds: float = Field(
        15.0,
        alias="BODY_TIMEOUT_SECONDS",
        ge=0.1,
        le=3600,
        description="a request's whole body must have arrived this long after the request began, else 408 "
        "and the connection is closed: a 1 MB body needs at least 67 kB/s",
    )
    body_buffer_bytes: int = Field(
        128_000_000,
        alias="BODY_BUFFER_BYTES",
        ge=1,
        description="bytes of request bodies held at once, over every request in progress; past it 503 "
        "with Retry-After; at least MAX_BODY_BYTES",
    )
    max_queued_evaluations: int = Field(
        64,
        alias="MAX_QUEUED_EVALUATIONS",
        ge=0,
        le=10_000,
        description="expensive requests waiting per model; one more gets 429 with Retry-After",
    )
    queue_timeout_seconds: float = Field(
        10.0,
        alias="QUEUE_TIMEOUT_SECONDS",
        gt=0,
        le=3600,
        description="longest wait of an expensive request for its turn; past it, 503 with Retry-After",
    )
    api_key: SecretStr | None = Field(
        None,
        alias="API_KEY",
        min_length=1,
        description="the key every model and inference route requires (`Authorization: Bearer <key>`); "
        "unset: open",
    )
    api_key_file: Path | None = Field(
        None, alias="API_KEY_FILE", description="a file holding that key instead (not with `API_KEY`)"
    )

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

    @field_validator("artifacts", mode="before")
    @classmethod
    def _split_artifacts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(Path(entry.strip()) for entry in value.split(",") if entry.strip())
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Settings:
        if self.artifact is not None and "artifacts" in self.model_fields_set:
            raise ValueError("set CHAR_RNN_ARTIFACT (one artifact) or CHAR_RNN_ARTIFACTS, not both")
        return self

    @model_validator(mode="after")
    def _one_key(self) -> Settings:
        if self.api_key is not None and self.api_key_file is not None:
            raise ValueError("set API_KEY or API_KEY_FILE, not both")
        return self

    @property
    def api_key_bytes(self) -> bytes | None:
        """The key requests must send, or None (open); SettingsError if API_KEY_FILE is unusable."""
        if self.api_key is not None:
            return self.api_key.get_secret_value().encode()
        if self.api_key_file is None:
            return None
        try:
            key = self.api_key_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise SettingsError(
                f"invalid setting API_KEY_FILE={str(self.api_key_file)!r}: {reason}"
            ) from None
        if not key:
            raise SettingsError(f"invalid setting API_KEY_FILE={str(self.api_key_file)!r}: the file is empty")
        return key.encode()

    @model_validator(mode="after")
    def _one_body_fits(self) -> Settings:
        if self.body_buffer_bytes < self.max_body_bytes:
            raise ValueError("BODY_BUFFER_BYTES must be at least MAX_BODY_BYTES, or no full-size body fits")
        return self

    @property
    def uses_default_artifacts(self) -> bool:
        return self.artifact is None and "artifacts" not in self.model_fields_set

    @property
    def artifact_paths(self) -> tuple[Path, ...]:
        """CHAR_RNN_ARTIFACT alone, else the entries of CHAR_RNN_ARTIFACTS, as absolute paths."""
        chosen = (self.artifact,) if self.artifact is not None else self.artifacts
        if self.uses_default_artifacts:
            chosen = (committed_artifacts(),)
        return tuple(path if path.is_absolute() else Path.cwd() / path for path in chosen)

    def missing_artifacts(self) -> str | None:
        """One line naming where no artifact directory was found and how to point elsewhere;
        None when every path is there."""
        missing = [path for path in self.artifact_paths if not path.exists()]
        if not missing:
            return None
        looked = f"{missing[0]} nor {CHECKOUT_ARTIFACTS}" if self.uses_default_artifacts else str(missing[0])
        return (
            f"no artifact directory at {looked}; point to one with --artifacts DIR or "
            "CHAR_RNN_ARTIFACTS=DIR (or a single artifact with --artifact DIR or CHAR_RNN_ARTIFACT=DIR)"
        )


class SettingsError(Exception):
    """An environment variable holds an invalid value; the message names it."""


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, overridden by `overrides` (keyed by variable name), or
    SettingsError naming the first bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        if not first["loc"]:  # a rule between settings, not one bad value
            raise SettingsError(f"invalid settings: {first['msg'].removeprefix('Value error, ')}") from None
        name = str(first["loc"][0])
        shown = "<hidden>" if name == "API_KEY" else repr(first.get("input"))  # a key is never echoed
        raise SettingsError(f"invalid setting {name}={shown}: {first['msg']}") from None
