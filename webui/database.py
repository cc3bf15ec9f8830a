"""The app's one handle on the database: views open a transaction per action."""
from __future__ import annotations

from flask import current_app

from engine.store.db import Database


def get_db() -> Database:
    return current_app.extensions["zhifa_db"]
