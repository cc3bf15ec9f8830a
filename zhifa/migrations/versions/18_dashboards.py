"""dashboards at 100,000 cases (issue #17): step times of completed cases pre-aggregated,
open deadlines read from an index alone (per case, and per post from task_candidates)

Revision ID: 18_dashboards
Revises: 18_notes
"""
import sqlalchemy as sa
from alembic import op

from engine.execution import case_statistics

revision = "18_dashboards"
down_revision = "18_notes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("activity_statistics",
        sa.Column("definition_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["definition_id"], ["process_definitions.id"]),
        sa.PrimaryKeyConstraint("definition_id", "element_id"),
    )
    case_statistics.rebuild(op.get_bind())
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_state_due")
        batch_op.create_index("ix_tasks_state_due", ["state", "due_at", "suspended", "instance_id"])
    with op.batch_alter_table("task_candidates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE task_candidates SET suspended = true WHERE task_id IN "
               "(SELECT id FROM human_tasks WHERE suspended = true)")
    # the due times recomputed on a new calendar before this revision did not reach the candidates
    op.execute("UPDATE task_candidates SET due_key = (SELECT due_at FROM human_tasks WHERE id = task_id) "
               "WHERE task_id IN (SELECT id FROM human_tasks WHERE due_at IS NOT NULL)")
    with op.batch_alter_table("task_candidates", schema=None) as batch_op:
        batch_op.alter_column("suspended", server_default=None)
        batch_op.create_index("ix_candidates_deadline", ["kind", "suspended", "due_key", "value", "task_id"])

    if op.get_bind().dialect.name == "postgresql":  # 岗位待办 search: a trigram index of the open tasks
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        # "completed_at IS NULL" (open), not "state = 'ready'": no btree index serves that alone, so the plan
        # is this index with or without statistics; fastupdate off: no pending list read in full by each search
        op.execute("CREATE INDEX ix_tasks_search ON human_tasks USING gin "
                   "((business_key || chr(10) || title) public.gin_trgm_ops) WITH (fastupdate = off) "
                   "WHERE completed_at IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_tasks_search")
    with op.batch_alter_table("task_candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_candidates_deadline")
        batch_op.drop_column("suspended")
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_state_due")
        batch_op.create_index("ix_tasks_state_due", ["state", "due_at"])
    op.drop_table("activity_statistics")
