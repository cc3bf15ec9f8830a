"""岗位待办 search on both databases and for terms of one or two characters (issue #17): the
two-character grams of every ready task (engine/store/search_index.py) replace the PostgreSQL
trigram index

Revision ID: 19_search
Revises: 18_dashboards
"""
import sqlalchemy as sa
from alembic import op

from engine.store import search_index

revision = "19_search"
down_revision = "18_dashboards"
branch_labels = None
depends_on = None

CHUNK = 5_000


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_tasks_search")  # the extension stays: other objects may use it
    grams = op.create_table("task_search_grams",
        sa.Column("gram", sa.String(length=8).with_variant(sa.String(length=8, collation="C"), "postgresql"),
                  nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["human_tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("gram", "task_id"),
    )
    op.create_index("ix_task_search_grams_task_id", "task_search_grams", ["task_id"])
    bind = op.get_bind()
    ready = bind.execute(sa.text("SELECT id, business_key, title FROM human_tasks WHERE state = 'ready'"))
    while batch := ready.fetchmany(CHUNK):
        values = [{"gram": g, "task_id": task[0]} for task in batch for g in search_index.grams(task[1], task[2])]
        if values:
            bind.execute(grams.insert(), values)


def downgrade() -> None:
    op.drop_index("ix_task_search_grams_task_id", table_name="task_search_grams")
    op.drop_table("task_search_grams")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_tasks_search ON human_tasks USING gin "
                   "((business_key || chr(10) || title) public.gin_trgm_ops) WITH (fastupdate = off) "
                   "WHERE completed_at IS NULL")
