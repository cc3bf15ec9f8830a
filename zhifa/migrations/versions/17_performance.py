"""performance (issue #17): task_candidates as the 岗位待办 index (only ready tasks, with their sort keys)

Revision ID: 17_performance
Revises: 0006_layout
"""
import sqlalchemy as sa
from alembic import op

revision = "17_performance"
down_revision = "11_rules"
branch_labels = None
depends_on = None

NO_DUE = "9999-12-31 00:00:00"


def upgrade() -> None:
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:  # 我的待办's overdue/today counts: a range
        batch_op.drop_index("ix_tasks_state_assignee")
        batch_op.create_index("ix_tasks_state_assignee", ["state", "assignee", "due_at"])
        batch_op.drop_index("ix_tasks_completed_by")  # 已办: one user's completed tasks, a range
        batch_op.create_index("ix_tasks_completed_by", ["completed_by", "state", "completed_at", "created_at", "id"])
    with op.batch_alter_table("task_candidates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimable", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("due_key", sa.DateTime(timezone=True), nullable=False,
                                      server_default=sa.text(f"'{NO_DUE}'")))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                                      server_default=sa.text(f"'{NO_DUE}'")))
    # Candidates of finished tasks are no longer kept; the others take their task's keys.
    op.execute("DELETE FROM task_candidates WHERE task_id NOT IN (SELECT id FROM human_tasks WHERE state = 'ready')")
    op.execute(f"""UPDATE task_candidates SET
        claimable = (SELECT h.assignee IS NULL AND NOT h.suspended FROM human_tasks h WHERE h.id = task_candidates.task_id),
        due_key = COALESCE((SELECT h.due_at FROM human_tasks h WHERE h.id = task_candidates.task_id), '{NO_DUE}'),
        created_at = (SELECT h.created_at FROM human_tasks h WHERE h.id = task_candidates.task_id)""")
    with op.batch_alter_table("task_candidates", schema=None) as batch_op:
        batch_op.alter_column("claimable", server_default=None)
        batch_op.alter_column("due_key", server_default=None)
        batch_op.alter_column("created_at", server_default=None)
        batch_op.drop_index("ix_candidates_value")
        batch_op.create_index("ix_candidates_due", ["kind", "value", "claimable", "due_key", "created_at", "task_id"])
        batch_op.create_index("ix_candidates_created", ["kind", "value", "claimable", "created_at", "task_id"])
    if op.get_bind().dialect.name == "postgresql":
        # Every completion deletes and inserts candidate rows: vacuum them sooner than the default 20 %
        # so index-only scans stay index-only (the plans themselves need no statistics).
        op.execute("ALTER TABLE task_candidates SET (autovacuum_vacuum_scale_factor = 0.02, "
                   "autovacuum_analyze_scale_factor = 0.05)")


def downgrade() -> None:
    with op.batch_alter_table("task_candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_candidates_created")
        batch_op.drop_index("ix_candidates_due")
        batch_op.create_index("ix_candidates_value", ["kind", "value"])
        batch_op.drop_column("created_at")
        batch_op.drop_column("due_key")
        batch_op.drop_column("claimable")
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_state_assignee")
        batch_op.create_index("ix_tasks_state_assignee", ["state", "assignee"])
        batch_op.drop_index("ix_tasks_completed_by")
        batch_op.create_index("ix_tasks_completed_by", ["completed_by", "completed_at"])
