"""The migrations build exactly the tables the code maps, on SQLite and PostgreSQL."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.tables import Base


def test_migrations_match_the_models(db):
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_upgrading_twice_changes_nothing(db):
    from engine import schema
    schema.upgrade(db)
    test_migrations_match_the_models(db)
