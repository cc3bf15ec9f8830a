"""Schema migrations (Alembic), run by ``zhifa db upgrade`` and on every start."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from engine.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Indexes a migration creates on PostgreSQL only, in a form the models cannot state for both databases
# (18_dashboards: the trigram index of 岗位待办 search); comparisons with the models leave them out.
POSTGRESQL_ONLY_INDEXES = {"ix_tasks_search"}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and reflected and name in POSTGRESQL_ONLY_INDEXES)


def upgrade(db: Database) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there).
    The history is linear: a new migration names the current head as its parent."""
    config = alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
