"""The demo page against a real `python -m service` that has an API key: it asks for the key on
its first 401, keeps it, and its calls then succeed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.utils.browser import TIMEOUT_MS, chromium, missing
from tests.utils.server import running_server

if missing():
    pytest.skip(f"browser tests skipped: {missing()}", allow_module_level=True)

pytestmark = pytest.mark.browser
KEY = "demo-key-0123456789"


def test_the_page_asks_for_the_key_once_and_sends_it(small_artifact: Path, tmp_path: Path) -> None:
    asked: list[str] = []
    with (
        running_server(small_artifact, tmp_path / "server.log", timeout=120, API_KEY=KEY) as server,
        chromium() as browser,
    ):
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()

        def answer(dialog: object) -> None:
            asked.append(dialog.message)  # type: ignore[attr-defined]
            dialog.accept(KEY)  # type: ignore[attr-defined]

        page.on("dialog", answer)
        page.goto(server.base_url)
        page.wait_for_selector("body[data-ready=true]", state="attached")
        assert asked == ["This server needs an API key:"]
        assert page.evaluate("localStorage.getItem('char-rnn-api-key')") == KEY
        page.wait_for_selector("#bars[data-text]", state="attached")  # the page's first prediction
        assert page.locator("#bars li").count() > 0
        assert asked == ["This server needs an API key:"]  # asked once, then kept
        context.close()
