"""Names of posts, people, departments and processes kept per server process (issue #17): the
database counts every change of them in ``catalog_versions``, by triggers, so that no code path
that writes them can forget to, and a page knows from one number whether its copy still holds
(engine/store/versioned.py).

Revision ID: 23_catalog_versions
Revises: 22_status_counts
"""
import sqlalchemy as sa
from alembic import op

revision = "23_catalog_versions"
down_revision = "22_status_counts"
branch_labels = None
depends_on = None

# kind → the tables whose rows it names, and the columns a page shows of them
WATCHED = {
    "organisation": {"departments": ("code", "name"), "groups": ("code", "name"), "users": ("username", "full_name")},
    "processes": {"process_definitions": ("key", "name")},
}
_BUMP = "UPDATE catalog_versions SET version = version + 1 WHERE name = '{kind}'"


def _watched():
    for kind, tables in WATCHED.items():
        for table, columns in tables.items():
            yield kind, table, ", ".join(columns)


def upgrade() -> None:
    table = op.create_table("catalog_versions",
                            sa.Column("name", sa.String(length=32), nullable=False),
                            sa.Column("version", sa.BigInteger(), nullable=False),
                            sa.PrimaryKeyConstraint("name"))
    op.bulk_insert(table, [{"name": kind, "version": 1} for kind in WATCHED])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION zhifa_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "UPDATE catalog_versions SET version = version + 1 WHERE name = TG_ARGV[0]; RETURN NULL; END $$")
        for kind, table, columns in _watched():  # once per statement, whatever number of rows it changes
            op.execute(f"CREATE TRIGGER {table}_catalog AFTER INSERT OR DELETE OR UPDATE OF {columns} OR TRUNCATE "
                       f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION zhifa_catalog_changed('{kind}')")
        return
    for kind, table, columns in _watched():  # SQLite: row triggers only, one per event
        for event in ("INSERT", "DELETE", f"UPDATE OF {columns}"):
            op.execute(f"CREATE TRIGGER {table}_catalog_{event.split()[0].lower()} AFTER {event} ON {table} "
                       f"BEGIN {_BUMP.format(kind=kind)}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for _kind, table, _columns in _watched():
            op.execute(f"DROP TRIGGER {table}_catalog ON {table}")
        op.execute("DROP FUNCTION zhifa_catalog_changed()")
    else:
        for _kind, table, _columns in _watched():
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER {table}_catalog_{event}")
    op.drop_table("catalog_versions")
