"""The demo page in headless Chromium against a real `python -m service` on the committed model.

Every figure the page shows is compared with the API's own answer for the same input, and
every test ends with a console free of errors, exceptions and failed requests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from model.alphabet import simplify
from model.lstm import EXAMPLE_C0, EXAMPLE_H0, step
from tests.utils.artifacts import build_artifact
from tests.utils.browser import PHONE, WORST_CONTRAST, chromium, missing, watched_page
from tests.utils.server import ServerProcess, running_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

if missing():
    pytest.skip(f"browser tests skipped: {missing()}", allow_module_level=True)

pytestmark = pytest.mark.browser

PARAGRAPH = (
    "It is interesting to contemplate an entangled bank, clothed with many plants of many kinds, "
    "with birds singing on the bushes, with various insects flitting about, and with worms crawling "
    "through the damp earth."
)
# The assignment's three inputs and the two constructed ones, with docs/lstm.md's values.
LSTM_TABLE = {
    "1,0,0": {
        "f": "0.98201379",
        "i": "0.01098694",
        "o": "0.00669285",
        "c": "-0.01909139",
        "h": "-0.00012776",
    },
    "0,1,0": {"f": "0.01798621", "i": "0.98901306", "o": "0.00669285", "c": "0.04904976", "h": "0.00032802"},
    "1,0,1": {
        "f": "0.98201379",
        "i": "0.01098694",
        "o": "0.99330715",
        "c": "-0.01909139",
        "h": "-0.01896131",
    },
    "1,1,0": {"f": "0.98201379", "i": "0.98901306", "o": "0.00669285", "c": "0.02976921", "h": "0.00019918"},
    "1,1,0.5": {
        "f": "0.98201379",
        "i": "0.98901306",
        "o": "0.50000000",
        "c": "0.02976921",
        "h": "0.01488021",
    },
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(None, tmp_path_factory.mktemp("demo") / "server.log") as server:
        yield server


def post(site: ServerProcess, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{site.base_url}{path}", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def bars(page: Page) -> list[tuple[str, float]]:
    rows = page.locator("#bars li")
    return [
        (row.get_attribute("data-char") or "", float(row.get_attribute("data-probability") or "nan"))
        for row in rows.all()
    ]


def type_prompt(page: Page, text: str) -> None:
    """Type as a person does, key by key, and wait for the chart of the whole text."""
    page.fill("#predict-text", "")
    page.type("#predict-text", text, delay=15)
    page.wait_for_selector(f"#bars[data-text={text!r}]", state="attached")


def test_typing_shows_the_probabilities_of_predict_next(browser: Browser, site: ServerProcess) -> None:
    with watched_page(browser, site.base_url) as watched:
        type_prompt(watched.page, "natural selec")
        expected = post(site, "/predict-next", {"text": "natural selec", "top_k": 10})
        assert bars(watched.page) == [(item["char"], item["probability"]) for item in expected["top"]]
        first = watched.page.locator("#bars li .value").first.inner_text()
        assert first == f"{expected['top'][0]['probability'] * 100:.1f}%"
        assert watched.page.inner_text("#predict-window") == f'"{expected["window"]}"'
        assert watched.problems == []


def test_generate_appends_the_continuation_of_generate(browser: Browser, site: ServerProcess) -> None:
    with watched_page(browser, site.base_url) as watched:
        page = watched.page
        type_prompt(page, "The origin of species")
        page.fill("#generate-n", "40")
        page.fill("#temperature", "0.7")
        page.fill("#seed", "3")
        page.click("#generate")
        page.wait_for_selector("#generated[data-continuation]", state="attached")
        expected = post(
            site, "/generate", {"text": "The origin of species", "n": 40, "temperature": 0.7, "seed": 3}
        )
        assert page.inner_text("#generated mark") == expected["continuation"]
        assert page.locator("#generated").text_content() == "The origin of species" + expected["continuation"]
        assert watched.problems == []


def test_generation_streams_into_the_page(browser: Browser, site: ServerProcess) -> None:
    with watched_page(browser, site.base_url) as watched:
        page = watched.page
        type_prompt(page, "natural selec")
        page.fill("#generate-n", "300")
        page.fill("#temperature", "0")
        with page.expect_response("**/generate") as answered:
            page.click("#generate")
        # The page asks for the event stream and reads it (300 characters of the stream model
        # arrive too fast for a partial page to be caught from here).
        response = answered.value
        assert json.loads(response.request.post_data or "{}")["stream"] is True
        assert response.headers["content-type"].startswith("text/event-stream")
        page.wait_for_selector("#generated[data-continuation]", state="attached")
        expected = post(site, "/generate", {"text": "natural selec", "n": 300})
        assert page.inner_text("#generated mark") == expected["continuation"]
        assert page.get_attribute("#generated", "aria-busy") == "false"
        assert watched.problems == []


# Kept by every fetch of the page: its URL and the AbortSignal it was given (an init script, so
# it runs before the page's own script and is not subject to the page's CSP).
RECORD_SIGNALS = """
window.__fetches = [];
const pageFetch = window.fetch;
window.fetch = (url, options) => {
  window.__fetches.push({ url: String(url), signal: options && options.signal });
  return pageFetch(url, options);
};
"""
ACCURACY_SIGNALS = """() => window.__fetches
  .filter((fetched) => fetched.url.endsWith('/accuracy'))
  .map((fetched) => fetched.signal ? fetched.signal.aborted : null)"""


def test_new_typing_aborts_the_accuracy_in_flight(browser: Browser, site: ServerProcess) -> None:
    with watched_page(browser, site.base_url) as watched:
        page = watched.page
        page.add_init_script(RECORD_SIGNALS)
        page.reload()
        page.wait_for_selector("body[data-ready=true]", state="attached")
        held: list[Route] = []
        page.route("**/accuracy", lambda route: held.append(route))  # the first measure stays in flight
        page.fill("#accuracy-text", PARAGRAPH)
        page.wait_for_function(
            "() => document.querySelector('#accuracy-summary').textContent === 'Measuring…'"
        )
        # The page shows "Measuring…" before its fetch reaches the route: wait for the route to
        # hold it, or unroute could come first and let the request through (CI saw this once).
        deadline = time.monotonic() + 10
        while not held and time.monotonic() < deadline:
            page.wait_for_timeout(10)  # lets Playwright dispatch the route event
        assert len(held) == 1
        page.unroute("**/accuracy")  # the held request is left to the page, which aborts it
        page.type("#accuracy-text", " And more.", delay=15)
        page.wait_for_function(
            "text => document.querySelector('#coloured').textContent === text",
            arg=simplify(PARAGRAPH + " And more."),
        )
        # Every measure that new typing overtook was aborted (the held first one included); only
        # the last one, which answered, was not.
        signals = page.evaluate(ACCURACY_SIGNALS)
        assert len(signals) >= 2 and signals == [True] * (len(signals) - 1) + [False]
        assert len(held) == 1
        expected = post(site, "/accuracy", {"text": PARAGRAPH + " And more."})
        assert (
            float(page.get_attribute("#accuracy-summary", "data-accuracy") or "nan") == expected["accuracy"]
        )
        assert watched.problems == []


def test_pasted_text_is_coloured_and_its_accuracy_is_the_apis(browser: Browser, site: ServerProcess) -> None:
    with watched_page(browser, site.base_url) as watched:
        page = watched.page
        page.fill("#accuracy-text", PARAGRAPH)
        page.wait_for_function(
            "text => document.querySelector('#coloured').textContent === text", arg=simplify(PARAGRAPH)
        )
        expected = post(site, "/accuracy", {"text": PARAGRAPH})
        assert (
            float(page.get_attribute("#accuracy-summary", "data-accuracy") or "nan") == expected["accuracy"]
        )
        assert page.locator("#coloured .hit").count() == expected["correct"]
        assert page.locator("#coloured .miss").count() == expected["total"] - expected["correct"]
        assert f"({expected['correct']} of {expected['total']})" in page.inner_text("#accuracy-summary")
        assert page.inner_text("#coloured .context") == simplify(PARAGRAPH)[:1]  # up to the first letter
        assert watched.problems == []


def test_the_recorded_accuracy_is_shown_beside_the_texts(browser: Browser, site: ServerProcess) -> None:
    entry = next(e for e in httpx.get(f"{site.base_url}/models", timeout=10).json()["models"] if e["default"])
    test, ngram = entry["metrics"]["test"]["accuracy"], entry["baseline"]["test"]["accuracy"]
    with watched_page(browser, site.base_url) as watched:
        watched.page.wait_for_selector("#recorded[data-model]", state="attached")
        assert float(watched.page.get_attribute("#recorded", "data-model") or "nan") == test
        assert float(watched.page.get_attribute("#recorded", "data-ngram") or "nan") == ngram
        assert watched.page.inner_text("#recorded") == (
            f"Recorded at training, on the test text: this model {test * 100:.1f}%; "
            f"the character n-gram {ngram * 100:.1f}%."
        )
        assert watched.problems == []


def test_the_lstm_form_shows_the_assignments_gate_values(browser: Browser, site: ServerProcess) -> None:
    with watched_page(browser, site.base_url) as watched:
        page = watched.page
        for x, documented in LSTM_TABLE.items():
            page.click(f"button[data-x='{x}']")
            values = [float(part) for part in x.split(",")]
            page.wait_for_selector(f"#lstm-x:text-is('[{', '.join(format(v, 'g') for v in values)}]')")
            computed = step(values, EXAMPLE_H0, EXAMPLE_C0).as_lists()
            for gate in ("f", "i", "o", "c_tilde", "c", "h"):
                cell = page.locator(f"td[data-gate={gate}]")
                assert float(cell.get_attribute("data-value") or "nan") == computed[gate][0], (x, gate)
                assert cell.inner_text() == f"{computed[gate][0]:.8f}", (x, gate)
            shown = {gate: page.inner_text(f"td[data-gate={gate}]") for gate in documented}
            assert shown == documented, x
            assert page.inner_text("td[data-gate=c_tilde]") == "0.04995837"
        assert watched.problems == []


def test_switching_the_model_changes_the_answers(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("two-models")
    first = build_artifact(root / "first", n_hidden=16, seed=0)
    second = build_artifact(root / "second", n_hidden=24, seed=0)
    with running_server(None, root / "server.log", CHAR_RNN_ARTIFACTS=f"{first},{second}") as server:
        listed = httpx.get(f"{server.base_url}/models", timeout=10).json()["models"]
        assert [entry["name"] for entry in listed] == ["test-rnn-16", "test-rnn-24"]
        default = next(entry for entry in listed if entry["default"])
        other = next(entry for entry in listed if not entry["default"])
        with watched_page(browser, server.base_url) as watched:
            page = watched.page
            type_prompt(page, "natural selec")
            before = bars(page)
            assert page.input_value("#model") == default["name"]
            page.select_option("#model", other["name"])
            page.wait_for_selector(f"#bars[data-model='{other['name']}']", state="attached")
            expected = post(
                server, "/predict-next", {"text": "natural selec", "top_k": 10, "model": other["name"]}
            )
            assert bars(page) == [(item["char"], item["probability"]) for item in expected["top"]]
            assert bars(page) != before
            recorded = other["metrics"]["test"]["accuracy"]
            assert float(page.get_attribute("#recorded", "data-model") or "nan") == recorded
            info = f"rnn, {other['n_hidden']} hidden units; reads the last 10 characters"
            assert page.inner_text("#model-info") == info
            assert watched.problems == []


def test_every_control_is_labelled_and_reached_by_the_tab_key_in_order(
    browser: Browser, site: ServerProcess
) -> None:
    with watched_page(browser, site.base_url) as watched:
        page = watched.page
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                 .filter(el => el.labels.length === 0 || !el.labels[0].textContent.trim()).map(el => el.id)"""
        )
        assert unlabelled == []
        nameless = page.evaluate(
            "() => [...document.querySelectorAll('button')].filter(b => !b.textContent.trim()).length"
        )
        assert nameless == 0
        controls = page.evaluate(
            """() => [...document.querySelectorAll('a[href], button, input, select, textarea')]
                 .map(el => el.id || el.dataset.x || el.textContent.trim())"""
        )
        reached = []
        for _ in controls:
            page.keyboard.press("Tab")
            reached.append(
                page.evaluate(
                    "() => { const el = document.activeElement;"
                    " return el.id || el.dataset.x || el.textContent.trim(); }"
                )
            )
        assert reached == controls
        assert watched.problems == []


def test_text_has_at_least_aa_contrast(browser: Browser, site: ServerProcess) -> None:
    with watched_page(browser, site.base_url) as watched:
        # The page measures its example paragraph at load: coloured text is on the page too.
        watched.page.wait_for_selector("#coloured .miss", state="attached")
        worst = watched.page.evaluate(WORST_CONTRAST)
        assert worst["ratio"] >= 4.5, worst
        assert watched.problems == []


def test_the_page_fits_a_phone_without_sideways_scrolling(browser: Browser, site: ServerProcess) -> None:
    with watched_page(browser, site.base_url, PHONE) as watched:
        # The page measures its example paragraph at load: coloured text is on the page too.
        watched.page.wait_for_selector("#coloured .miss", state="attached")
        width = watched.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        assert watched.problems == []
