"""The migrations build exactly the tables the code maps, on SQLite and PostgreSQL."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from zhifa.tables import Base


def test_migrations_match_the_models(db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_upgrading_twice_changes_nothing(db):
    from zhifa import schema
    schema.upgrade(db)
    test_migrations_match_the_models(db)


def _script():
    from alembic.script import ScriptDirectory

    from zhifa import schema
    return ScriptDirectory.from_config(schema.alembic_config("sqlite://"))


def test_the_history_is_linear_with_one_head():
    """A migration added on a branch of its own must name the current head as its parent."""
    assert len(_script().get_heads()) == 1


def test_every_earlier_revision_upgrades_to_the_models(db_url):
    """A database left at any earlier revision (or empty) reaches exactly the mapped schema."""
    from alembic import command

    from engine.store.db import Database
    from zhifa import schema

    revisions = [None] + [r.revision for r in reversed(list(_script().walk_revisions()))]
    for revision in revisions:
        database = Database(db_url)
        try:
            with database.engine.begin() as connection:  # back to empty
                config = schema.alembic_config(database.url)
                config.attributes["connection"] = connection
                command.downgrade(config, "base")
                if revision is not None:
                    command.upgrade(config, revision)
            schema.upgrade(database)
            test_migrations_match_the_models(database)
        finally:
            database.dispose()


def test_a_cases_state_is_compressed_with_lz4_on_postgresql(db):
    """Migration 20_state_compression: pglz cost as much as the rest of a completion's UPDATE and commit."""
    from alembic import command
    from sqlalchemy import text

    from zhifa import schema

    def compression() -> str | None:
        with db.engine.connect() as connection:
            if connection.dialect.name != "postgresql":
                return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return connection.execute(text("SELECT attcompression FROM pg_attribute WHERE attname = 'state' "
                                           "AND attrelid = 'process_instances'::regclass")).scalar()

    upgraded = compression()
    with db.engine.begin() as connection:
        config = schema.alembic_config(db.url)
        config.attributes["connection"] = connection
        command.downgrade(config, "19_throughput")
    downgraded = compression()
    schema.upgrade(db)
    if db.engine.dialect.name == "postgresql":
        assert (upgraded, downgraded, compression()) == ("l", "", "l")
    else:  # nothing to do on SQLite but to pass through the revision
        head = _script().get_current_head()
        assert (upgraded, downgraded, compression()) == (head, "19_throughput", head)
