"""Browser tests: the app served by werkzeug in a background thread, driven by Debian's Chromium."""
from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.webclient import make_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--lang=zh-CN"]  # date and file inputs as on a Chinese office PC


@pytest.fixture
def live_server(db, org, tmp_path):
    """Base URL of the app on a free port of 127.0.0.1, for this test's database."""
    app = make_app(db, tmp_path)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


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


@pytest.fixture
def screenshots(request):
    """shot(page, "name") saves test-artifacts/<test>/<nn>-<name>.png, and fails when the page
    shows a raw form (RAW_FORMS) — unless ``raw_ok`` (pages about models, which show their ids)."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    counter = iter(range(1, 1000))

    def shot(page, name: str, raw_ok: bool = False) -> Path:
        path = folder / f"{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if not raw_ok:
            found = raw_forms(page.inner_text("body"))
            assert not found, f"{page.url} ({path.name}) shows raw forms: {found}"
        return path
    return shot
