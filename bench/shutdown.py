"""python -m bench.shutdown: how long `python -m service` takes to exit after SIGTERM while a
long request is still computing.

Starts the service on the committed artifacts (loopback) with GRACEFUL_SHUTDOWN_SECONDS=2,
sends a POST /accuracy of 100,000 characters to the default model (minutes of work), sends
SIGTERM one second later, and prints the seconds until the process exits, its exit status and
the request's answer. Figures go to docs/reliability.md; nothing here is asserted.
"""

from __future__ import annotations

import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.utils.server import running_server

GRACE = "2"
TEXT = ("the origin of species by means of natural selection " * 2000)[:100_000]


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "server.log"
        with running_server(None, log, timeout=120, GRACEFUL_SHUTDOWN_SECONDS=GRACE) as server:
            outcome: dict[str, Any] = {}

            def request() -> None:
                try:
                    response = httpx.post(f"{server.base_url}/accuracy", json={"text": TEXT}, timeout=600)
                    outcome["answer"] = (response.status_code, response.json())
                except httpx.HTTPError as error:
                    outcome["answer"] = repr(error)

            sender = threading.Thread(target=request)
            sender.start()
            time.sleep(1.0)
            server.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            status = server.process.wait(timeout=600)
            took = time.monotonic() - signalled
            print(f"GRACEFUL_SHUTDOWN_SECONDS={GRACE}: exited {took:.1f} s after SIGTERM, status {status}")
            sender.join(timeout=30)
            print(f"the request's answer: {outcome.get('answer')}")
        lines = [line for line in log.read_text().splitlines() if "503" in line or "thread" in line]
        print("\n".join(lines))


if __name__ == "__main__":
    main()
