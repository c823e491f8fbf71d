"""python -m service: the one serve command (make serve, the container's CMD, the tests).

Reads the settings, loads and verifies the artifact, then serves on HOST:PORT. Any problem
before serving is one line on stderr and exit status 2: a broken model is never served.
"""

import os

# Before NumPy loads: requests are small and already run in parallel threads, so one BLAS
# thread each; a BLAS pool per request thread would only oversubscribe the cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from types import FrameType  # noqa: E402

from service.app import create_app  # noqa: E402
from service.logs import configure_logging  # noqa: E402
from service.server import serve  # noqa: E402
from service.settings import SettingsError, load_settings  # noqa: E402
from training.artifact import ArtifactError  # noqa: E402


def main() -> int:
    try:
        settings = load_settings()
        app = create_app(settings)
    except (SettingsError, ArtifactError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    info = app.state.predictor.info
    logging.getLogger("service").info(
        "serving %s (%d-%d-%d, seq_length %d) from %s",
        info.name,
        info.n_in,
        info.n_hidden,
        info.n_out,
        info.seq_length,
        settings.artifact_path,
    )
    # On SIGTERM the server drains for DRAIN_SECONDS (see service.server), then, as on SIGINT,
    # stops accepting connections, lets in-flight requests finish (for at most
    # GRACEFUL_SHUTDOWN_SECONDS), then raises the signal again with the handler that was there
    # before it: ours, which makes that finished shutdown exit with status 0.
    for shutdown_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(shutdown_signal, _exit_cleanly)
    serve(app, settings)
    return 0


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
