"""Opening the service: the bureau's hooks installed → settings → database (schema upgraded) → calendar loaded."""
from __future__ import annotations

from engine.store.config import Settings, load_settings
from engine.store.db import Database
from workdays import calendar
from zhifa import bureau, schema


def open_database(settings: Settings | None = None, migrate: bool = True) -> Database:
    bureau.install()
    settings = settings or load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    if migrate:
        schema.upgrade(db)
    with db.reading() as session:
        calendar.load(session)
    return db
