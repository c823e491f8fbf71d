"""Headless Chromium (Debian's package) driven by Playwright, for the demo page's tests.

Playwright's own browser download is not used: the browser is the system's `chromium`, or
the one CHROMIUM names. Without either, or without playwright, `missing()` says why, so the
tests can skip with that reason.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Response

TIMEOUT_MS = 15_000  # any one wait on the page; a test that hangs fails within this
DESKTOP = {"width": 1200, "height": 900}
PHONE = {"width": 375, "height": 812}


def chromium_path() -> str | None:
    """The CHROMIUM variable, else the first Chromium on PATH."""
    named = os.environ.get("CHROMIUM")
    if named:
        return named if os.access(named, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return "no Chromium executable: apt-get install chromium (.ci/run does), or set CHROMIUM"
    return None


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the duration of the block."""
    from playwright.sync_api import sync_playwright

    # Chromium refuses to run as root inside its sandbox; containers and CI often run as root.
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=args, timeout=TIMEOUT_MS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class WatchedPage:
    """A page and every problem its console or network reported: errors, exceptions, 4xx/5xx."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status} for {response.url}")


@contextmanager
def watched_page(browser: Browser, url: str, viewport: dict[str, int] = DESKTOP) -> Iterator[WatchedPage]:
    """`url` opened in a fresh context, once the page says it is ready (body[data-ready])."""
    context = browser.new_context(viewport={"width": viewport["width"], "height": viewport["height"]})
    context.set_default_timeout(TIMEOUT_MS)
    watched = WatchedPage(context.new_page())
    watched.page.on("console", watched.on_console)
    watched.page.on("pageerror", lambda error: watched.problems.append(f"exception: {error}"))
    watched.page.on("response", watched.on_response)
    try:
        watched.page.goto(url)
        watched.page.wait_for_selector("body[data-ready=true]", state="attached")
        yield watched
    finally:
        context.close()


# The lowest WCAG contrast ratio between any visible text (or form field) and the first opaque
# background behind it, with the element that has it.
WORST_CONTRAST = """() => {
  const rgb = (css) => css.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const linear = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const parts = rgb(getComputedStyle(node).backgroundColor);
      if (parts.length < 4 || parts[3] > 0) return parts.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const hasText = (el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  let worst = { ratio: Infinity, text: "" };
  for (const el of document.querySelectorAll("body *")) {
    if (!el.getClientRects().length || !(hasText(el) || el.matches("input, textarea, select"))) continue;
    const [a, b] = [luminance(rgb(getComputedStyle(el).color)), luminance(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const name = (el.id || el.className || el.tagName) + ": " + el.textContent.slice(0, 40);
    if (ratio < worst.ratio) worst = { ratio, text: name };
  }
  return worst;
}"""
