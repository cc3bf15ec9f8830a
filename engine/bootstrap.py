"""Opening the service: settings → database (schema upgraded) → calendar loaded."""
from __future__ import annotations

from . import calendar, schema
from .config import Settings, load_settings
from .db import Database


def open_database(settings: Settings | None = None, migrate: bool = True) -> Database:
    settings = settings or load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    if migrate:
        schema.upgrade(db)
    with db.reading() as session:
        calendar.load(session)
    return db
