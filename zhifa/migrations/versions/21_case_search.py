"""岗位待办 search grams belong to the case, not to each ready task (issue #17): a task's number and
title are its case's, so the grams are written when a case starts or is renamed and deleted when
it ends, instead of with every task. On PostgreSQL the task's grams were the costliest write of
a completion.

Revision ID: 21_case_search
Revises: 20_state_compression
"""
import sqlalchemy as sa
from alembic import op

from engine.store import search_index

revision = "21_case_search"
down_revision = "20_state_compression"
branch_labels = None
depends_on = None

CHUNK = 5_000
_GRAM = sa.String(length=8).with_variant(sa.String(length=8, collation="C"), "postgresql")


def _create(name: str, key: sa.Column, target: str, rows_sql: str) -> None:
    """The grams table ``name`` keyed by (gram, ``key``), filled from ``rows_sql``: (key, case number, title)."""
    table = op.create_table(name, sa.Column("gram", _GRAM, nullable=False), key,
                            sa.ForeignKeyConstraint([key.name], [target], ondelete="CASCADE"),
                            sa.PrimaryKeyConstraint("gram", key.name))
    op.create_index(f"ix_{name}_{key.name}", name, [key.name])
    bind = op.get_bind()
    found = bind.execute(sa.text(rows_sql))
    while batch := found.fetchmany(CHUNK):
        values = [{"gram": g, key.name: row[0]} for row in batch for g in search_index.grams(row[1], row[2])]
        if values:
            bind.execute(table.insert(), values)


def _drop(name: str, key: str) -> None:
    op.drop_index(f"ix_{name}_{key}", table_name=name)
    op.drop_table(name)


def upgrade() -> None:
    _create("case_search_grams", sa.Column("instance_id", sa.Integer(), nullable=False), "process_instances.id",
            "SELECT id, business_key, title FROM process_instances WHERE status IN ('running', 'suspended')")
    _drop("task_search_grams", "task_id")


def downgrade() -> None:
    _create("task_search_grams", sa.Column("task_id", sa.String(length=36), nullable=False), "human_tasks.id",
            "SELECT id, business_key, title FROM human_tasks WHERE state = 'ready'")
    _drop("case_search_grams", "instance_id")
