"""The app's one handle on the database: views open a transaction per action, and every read
of one request shares a session (``Database.shared_reading``)."""
from __future__ import annotations

from flask import Flask, current_app, g

from engine.store.db import Database

_SCOPE = "zhifa_reading_scope"


def get_db() -> Database:
    return current_app.extensions["zhifa_db"]


def share_reading(app: Flask) -> None:
    """Open the request's reading scope before any other hook reads, close it at teardown."""
    @app.before_request
    def _open_scope():
        scope = get_db().shared_reading()
        scope.__enter__()
        setattr(g, _SCOPE, scope)

    @app.teardown_request
    def _close_scope(_error):
        scope = g.pop(_SCOPE, None)
        if scope is not None:
            scope.__exit__(None, None, None)
