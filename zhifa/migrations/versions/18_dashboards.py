"""dashboards at 100,000 cases (issue #17): step times of completed cases pre-aggregated,
open deadlines read from one index

Revision ID: 18_dashboards
Revises: 17_statistics
"""
import sqlalchemy as sa
from alembic import op

from engine.execution import case_statistics

revision = "18_dashboards"
down_revision = "17_statistics"
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


def downgrade() -> None:
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_state_due")
        batch_op.create_index("ix_tasks_state_due", ["state", "due_at"])
    op.drop_table("activity_statistics")
