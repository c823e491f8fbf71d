"""docs/demo-desktop.png and docs/demo-phone.png: the demo page on the committed model.

`make screenshots` (or `python -m tests.utils.screenshots`) serves the committed artifact on a
loopback port, fills the page as a visitor would, and writes both images.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from model.alphabet import simplify
from tests.utils.browser import DESKTOP, PHONE, chromium, missing, watched_page
from tests.utils.server import REPO_ROOT, running_server

PROMPT = "Natural selec"
PARAGRAPH = (
    "It is interesting to contemplate an entangled bank, clothed with many plants of many kinds, "
    "with birds singing on the bushes, with various insects flitting about."
)


def main() -> int:
    reason = missing()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch, chromium() as browser:
        with running_server(None, Path(scratch) / "server.log") as server:
            for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                with watched_page(browser, server.base_url, viewport) as watched:
                    page = watched.page
                    page.fill("#predict-text", PROMPT)
                    page.wait_for_selector(f"#bars[data-text='{PROMPT}']", state="attached")
                    page.fill("#seed", "1")
                    page.fill("#temperature", "0.5")
                    page.click("#generate")
                    page.wait_for_selector("#generated[data-continuation]", state="attached")
                    page.fill("#accuracy-text", PARAGRAPH)
                    page.wait_for_function(
                        "text => document.querySelector('#coloured').textContent === text",
                        arg=simplify(PARAGRAPH),
                    )
                    page.click("button[data-x='1,1,0.5']")
                    page.wait_for_selector("#lstm-x:text-is('[1, 1, 0.5]')")
                    page.locator("#predict-text").focus()
                    target = REPO_ROOT / "docs" / f"demo-{name}.png"
                    page.screenshot(path=str(target), full_page=True)
                    assert watched.problems == [], watched.problems
                    print(f"wrote {target.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
