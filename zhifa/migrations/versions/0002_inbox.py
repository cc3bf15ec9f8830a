"""inbox: notification read marks, audit events by task

Revision ID: 0002_inbox
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_inbox"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_reads",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_index("ix_audit_task_action", "audit_events", ["task_id", "action"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_task_action", table_name="audit_events")
    op.drop_table("notification_reads")
