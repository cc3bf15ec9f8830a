"""A Flask test client that logs in and posts forms with their CSRF token, like a browser."""
from __future__ import annotations

import re
from html import unescape

from engine.store.config import load_settings
from organisation.demo import DEMO_PASSWORD
from webui import create_app

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(db, tmp_path):
    settings = load_settings({"ZHIFA_DATA_DIR": str(tmp_path / "data"), "ZHIFA_DATABASE_URL": db.url})
    app = create_app(settings, db=db)
    app.config["TESTING"] = True
    return app


def csrf_token(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "page has no CSRF token"
    return unescape(found.group(1))


class Browser:
    def __init__(self, app):
        self.client = app.test_client()

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post_form(self, page_url, data, action=None, **kw):
        """Load ``page_url``, take its CSRF token, post ``data`` to ``action`` (default: the page)."""
        token = csrf_token(self.client.get(page_url).get_data(as_text=True))
        return self.client.post(action or page_url, data={**data, "csrf_token": token}, **kw)

    def login(self, username, password=DEMO_PASSWORD):
        return self.post_form("/login", {"username": username, "password": password})
