"""Which of the project's modules one POST /predict-next runs through (docs/architecture.md).

The app serves the committed default model in process, warmed up as a server warms it; a
profiler then records every project module (model/, service/) whose functions run while one
request is answered, in any thread: first a window the model has not seen (the dynamic batcher
and a forward pass), then the same window again (from the cache).

python -m bench.request_path
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from model.artifact import DEFAULT_ARTIFACT
from service.app import create_app
from tests.utils.client import ASGIClient, ExplicitSettings, lifespan
from tests.utils.server import REPO_ROOT

PROJECT = tuple(str(REPO_ROOT / package) + "/" for package in ("model", "service"))
REQUESTS = {"a window not seen before": "harles dar", "the same window again, from the cache": "harles dar"}


class Modules:
    """A profiler for every thread that records the project modules run while it is on."""

    def __init__(self) -> None:
        self.on = False
        self.seen: set[str] = set()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if self.on and event == "call" and frame.f_code.co_filename.startswith(PROJECT):
            self.seen.add(str(Path(frame.f_code.co_filename).relative_to(REPO_ROOT)))

    def during(self, client: ASGIClient, text: str) -> list[str]:
        """The modules that POST /predict-next of `text` runs."""
        self.seen, self.on = set(), True
        try:
            response = client.post("/predict-next", json={"text": text})
        finally:
            self.on = False
        assert response.status_code == 200, response.text
        return sorted(self.seen)


def measure() -> dict[str, list[str]]:
    """The modules run by each request of REQUESTS, by its description."""
    modules = Modules()
    # Installed before the client's threads start, so that every thread of the app has it.
    threading.setprofile(modules)
    try:
        app = create_app(ExplicitSettings(CHAR_RNN_ARTIFACT=DEFAULT_ARTIFACT))
        client = ASGIClient(app)
        try:
            with lifespan(app):
                modules.during(client, "the first request")  # and its one-time set-up
                return {description: modules.during(client, text) for description, text in REQUESTS.items()}
        finally:
            client.close()
    finally:
        threading.setprofile(None)


def main() -> int:
    for description, modules in measure().items():
        print(f"POST /predict-next, {description}: {len(modules)} modules")
        for module in modules:
            print(f"  {module}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
