"""python -m service (or char-rnn-serve) [--host H] [--port P] [--artifact DIR | --artifacts DIRS]:
the one serve command.

make serve, the container's CMD and the tests run it. Reads the settings (the options override
the environment), loads and verifies every artifact, then serves on HOST:PORT. Any problem
before serving is one line on stderr and exit status 2: a broken model is never served.
"""

from model.blas import set_default_threads

# Before NumPy loads: requests are small and already run in parallel threads, so one BLAS
# thread each; a BLAS pool per request thread would only oversubscribe the cores.
set_default_threads(1)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from types import FrameType  # noqa: E402

from model.artifact import ArtifactError  # noqa: E402
from model.version import add_version_option, program_name  # noqa: E402
from service.app import create_app  # noqa: E402
from service.logs import configure_logging  # noqa: E402
from service.registry import ModelRegistry  # noqa: E402
from service.server import (  # noqa: E402
    bind,
    ensure_descriptors,
    exit_without_request_threads,
    return_large_buffers_to_the_system,
    serve,
)
from service.settings import DEFAULT_ARTIFACTS, Settings, SettingsError, load_settings  # noqa: E402


def parse_overrides(argv: list[str] | None) -> dict[str, object]:
    """The command-line options given, as settings overrides keyed by environment name."""
    parser = argparse.ArgumentParser(
        prog=program_name("python -m service"),
        description="Serve the character RNN over HTTP. Every other setting comes from the environment"
        " (docs/api.md lists them).",
    )
    defaults = {field.alias: field.default for field in Settings.model_fields.values()}
    parser.add_argument("--host", help=f"address to listen on (overrides HOST; default {defaults['HOST']})")
    parser.add_argument("--port", help=f"port to listen on (overrides PORT; default {defaults['PORT']})")
    parser.add_argument("--artifact", help="serve this one artifact directory (overrides CHAR_RNN_ARTIFACT)")
    parser.add_argument(
        "--artifacts",
        help="a directory of artifacts, or a comma-separated list of artifact directories "
        f"(overrides CHAR_RNN_ARTIFACTS; default {DEFAULT_ARTIFACTS})",
    )
    add_version_option(parser)
    args = parser.parse_args(argv)
    given = {
        "HOST": args.host,
        "PORT": args.port,
        "CHAR_RNN_ARTIFACT": args.artifact,
        "CHAR_RNN_ARTIFACTS": args.artifacts,
    }
    return {name: value for name, value in given.items() if value is not None}


def main(argv: list[str] | None = None) -> int:
    overrides = parse_overrides(argv)
    return_large_buffers_to_the_system()
    # Worker processes read their settings from the environment, so the options go there too.
    os.environ.update({name: str(value) for name, value in overrides.items()})
    try:
        settings = load_settings(**overrides)
        missing = settings.missing_artifacts()
        if missing is not None:
            raise SettingsError(missing)
        app = create_app(settings)
        ensure_descriptors(settings.max_connections)
        listener = bind(settings)
    except (SettingsError, ArtifactError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a file or directory the process may not read (permissions)
        print(f"error: {start_fault(error)}", file=sys.stderr)
        return 2
    configure_logging(settings)
    log_models(app.state.models)
    # On SIGTERM the server drains for DRAIN_SECONDS (see service.server), then, as on SIGINT,
    # stops accepting connections, lets in-flight requests finish (for at most
    # GRACEFUL_SHUTDOWN_SECONDS; those still running get 503), then raises the signal again
    # with the handler that was there before it: ours, which makes that shutdown exit with 0.
    for shutdown_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(shutdown_signal, _exit_cleanly)
    try:
        serve(app, settings, listener)
    except SystemExit as stop:
        exit_without_request_threads(stop.code if isinstance(stop.code, int) else 1)
        raise
    exit_without_request_threads(0)
    return 0


def start_fault(error: OSError) -> str:
    """One line for an OSError at start: the path and the reason, without a traceback."""
    reason = error.strerror or str(error)
    if error.filename is None:  # os.getcwd() names nothing
        return f"cannot start: {reason} (in the working directory, or a file the service reads)"
    path = Path(error.filename)
    if not path.is_absolute():  # name the file itself, wherever the service was started
        with contextlib.suppress(OSError):
            path = Path.cwd() / path
    return f"{path}: {reason} (check that the service's user may read it)"


def log_models(models: ModelRegistry) -> None:
    """One line per model served, the default marked."""
    for model in models.served:
        info = model.info
        logging.getLogger("service").info(
            "serving %s (%s %d-%d-%d, context %d)%s from %s",
            info.name,
            info.architecture,
            info.n_in,
            info.n_hidden,
            info.n_out,
            info.context,
            " [default]" if model is models.default else "",
            model.path,
        )


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
