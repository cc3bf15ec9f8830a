"""Opening the service: the bureau's hooks installed → settings → database (schema upgraded) → calendar loaded."""
from __future__ import annotations

import os
from pathlib import Path

from engine.store.config import Settings, load_settings
from engine.store.db import Database
from workdays import calendar
from zhifa import bureau, schema


def _private_data_dir(settings: Settings) -> None:
    """The data dir holds password hashes, the secret key and every recording: owner only.
    (SQLite gives its -wal/-shm files the database file's mode.)"""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o700)
    if settings.database_url.startswith("sqlite:///"):
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        if path.parent == settings.data_dir:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            os.chmod(path, 0o600)


def open_database(settings: Settings | None = None, migrate: bool = True) -> Database:
    bureau.install()
    settings = settings or load_settings()
    _private_data_dir(settings)
    db = Database(settings.database_url)
    if migrate:
        schema.upgrade(db)
    with db.reading() as session:
        calendar.load(session)
    return db
