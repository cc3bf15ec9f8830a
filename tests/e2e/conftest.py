"""Browser tests: the app served by werkzeug in a background thread, driven by Debian's Chromium."""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from organisation.demo import DEMO_PASSWORD
from tests.webclient import make_app
from webui.public import create_public_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--lang=zh-CN"]  # as on a Chinese office PC (test_english_browser: not)


# What a page may log as an error without failing a test: HTTP error statuses the app answers
# on purpose (a refused form is a 400), and the Inferno notice dmn-js's bundle prints itself.
_EXPECTED_CONSOLE = ("Failed to load resource", "It looks like you're using a minified copy of the development build")


def open_as(chromium, base: str, username: str, **context):
    """A new browser context logged in as ``username`` through the form: its page, at the inbox.
    ``context``: the context's options (default: a 1366×768 office screen)."""
    page = chromium.new_context(locale="zh-CN", **(context or {"viewport": {"width": 1366, "height": 768}})).new_page()
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/inbox**")
    return page


def console_error(message) -> bool:
    """A console error a test must fail on — e.g. a Content-Security-Policy violation ("Refused to …")
    by the vendored bpmn-js, dmn-js or chart.js, or an exception in our scripts."""
    return message.type == "error" and not message.text.startswith(_EXPECTED_CONSOLE)


@contextmanager
def serving(app):
    """Base URL of ``app`` served on a free port of 127.0.0.1 while the block runs."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def live_server(db, org, tmp_path):
    """The internal app, for this test's database."""
    with serving(make_app(db, tmp_path)) as url:
        yield url


@pytest.fixture
def public_server(db):
    """The public site (行政执法公示), for this test's database."""
    with serving(create_public_app(db=db)) as url:
        yield url


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# What a bureau reader must never see: usernames, variable names and codes, Python and JS
# values, \u escapes, the browser's own English date format, doubled units.
RAW_FORMS = {
    "username": re.compile(r"\b(?:leadership|legal|supervision|dev|eco|total|hwr|discipline)_[a-z]+\d*\b"),
    "code": re.compile(r"(?<![\w.:/-])[a-z]+(?:_[a-z0-9]+)+(?![\w.:/-])"),
    "value": re.compile(r"\b(?:None|True|False|undefined|null|NaN|Invalid Date)\b"),
    "escape": re.compile(r"\\u[0-9a-fA-F]{4}"),
    "date format": re.compile(r"mm/dd/yyyy|yyyy/mm/dd", re.I),
    "doubled unit": re.compile(r"（元）\s*（元）"),
}


def raw_forms(text: str) -> list[str]:
    return [f"{kind}: {m.group(0)}" for kind, pattern in RAW_FORMS.items() for m in pattern.finditer(text)]


# Inputs Chromium draws in the browser's language whatever the page's lang (mm/dd/yyyy, "Choose File /
# No file chosen"), which the page text above cannot show: pages use templates/_inputs.html instead.
BROWSER_DRAWN = """() => Array.from(document.querySelectorAll('input')).filter(i =>
    ['date', 'datetime-local', 'time', 'month', 'week'].includes(i.type)
    || (i.type === 'file' && i.getBoundingClientRect().width > 1)).map(i => i.type + ' ' + (i.name || i.id))"""


def browser_drawn(page) -> list[str]:
    return page.evaluate(BROWSER_DRAWN)


@pytest.fixture
def screenshots(request):
    """shot(page, "name") saves test-artifacts/<test>/<nn>-<name>.png, and fails when the page has a
    date or file input the browser draws (BROWSER_DRAWN) or shows a raw form (RAW_FORMS) — unless
    ``raw_ok`` (pages about models, which show their ids)."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    counter = iter(range(1, 1000))

    def shot(page, name: str, raw_ok: bool = False) -> Path:
        path = folder / f"{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        drawn = browser_drawn(page)
        assert not drawn, f"{page.url} ({path.name}) has inputs the browser draws in its own language: {drawn}"
        if not raw_ok:
            found = raw_forms(page.inner_text("body"))
            assert not found, f"{page.url} ({path.name}) shows raw forms: {found}"
        return path
    return shot
