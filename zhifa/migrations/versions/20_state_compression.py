"""A case's state is compressed with lz4 on PostgreSQL (issue #17): the row is rewritten on every
action and grows with the case; pglz, the default, spent about as long compressing a 50 KB state
as the rest of the UPDATE and its commit (0.79 → 0.44 ms, same stored size). New values only:
rows are recompressed as cases next move. A server built without lz4 keeps pglz.

Revision ID: 20_state_compression
Revises: 19_throughput
"""
import sqlalchemy as sa
from alembic import op

revision = "20_state_compression"
down_revision = "19_throughput"
branch_labels = None
depends_on = None


def _set(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.dialect.server_version_info < (14,):
        return
    savepoint = bind.begin_nested()  # a server built without lz4 refuses it, and the upgrade goes on
    try:
        op.execute(f"ALTER TABLE process_instances ALTER COLUMN state SET COMPRESSION {method}")
    except sa.exc.NotSupportedError:
        savepoint.rollback()
    else:
        savepoint.commit()


def upgrade() -> None:
    _set("lz4")


def downgrade() -> None:
    _set("default")
