"""The web page in a real browser (Playwright driving the system's Chromium): a prompt typed
and the button clicked stream the text into the page token by token; a classifier's page
shows labels with probabilities. ``RNNKIT_SCREENSHOTS=1`` saves docs/images/serve.png."""

import os
import shutil
from pathlib import Path

import pytest

from .conftest import need_serve

httpx = need_serve()
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed (pip install playwright)")

CHROMIUM = os.environ.get("RNNKIT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "serve.png"


@pytest.fixture(scope="module")
def browser():
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set "
                    "RNNKIT_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        except sync_api.Error as e:
            pytest.skip(f"Chromium at {CHROMIUM} does not start: {str(e).splitlines()[0]}")
        yield b
        b.close()


def test_prompt_streams_text_into_the_page(browser, lm_server, client):
    page = browser.new_page(viewport={"width": 980, "height": 640})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(lm_server.url + "/")
    assert page.is_visible("#panel-lm") and not page.is_visible("#panel-texts")
    page.evaluate("""() => {
        window.updates = 0;
        new MutationObserver((records) => { window.updates += records.length; })
            .observe(document.getElementById("gen"),
                     {childList: true, characterData: true, subtree: true});
    }""")
    page.fill("#prompt", "the ")
    page.fill("#length", "120")
    page.check("#greedy")
    page.click("#go")
    page.wait_for_function("document.getElementById('status').textContent.includes('tokens')",
                           timeout=20_000)
    text = page.inner_text("#gen")
    want = client.post(lm_server.url + "/v1/sample",
                       json={"prompt": "the ", "length": 120, "greedy": True}).json()["text"]
    assert text.strip() == want.strip() and len(want) == 120
    assert page.evaluate("window.updates") > 20  # token by token, not all at once
    assert "/viz?text=the" in page.get_attribute("#vizlink", "href")
    assert not errors
    if os.environ.get("RNNKIT_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.close()


def test_classifier_page_shows_labels_with_probabilities(browser, classify_server):
    page = browser.new_page()
    page.goto(classify_server.url + "/")
    page.fill("#texts", "good great\nbad awful")
    page.click("#t-go")
    page.wait_for_selector("#results .result:nth-child(2) .bar")
    rows = page.query_selector_all("#results .result")
    assert len(rows) == 2
    first = rows[0].query_selector(".bar .name").inner_text()
    assert first == "pos" and rows[1].query_selector(".bar .name").inner_text() == "neg"
    assert page.inner_text("#results").count("%") == 4
    page.close()
