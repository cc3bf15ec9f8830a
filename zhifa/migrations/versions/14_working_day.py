"""The working day (#14): 督办 notices and their recipients, the document numbers of a case
for its inbox rows. (The 执法证 columns came with 11_rules and 15_disclosure.)

Revision ID: 14_working_day
Revises: 17_performance
"""
import sqlalchemy as sa
from alembic import op

revision = "14_working_day"
down_revision = "12_records_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instances") as batch:
        batch.add_column(sa.Column("documents", sa.String(length=1000), nullable=False, server_default=""))
    op.create_table("oversight_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("task_name", sa.String(length=300), nullable=False),
        sa.Column("sent_by", sa.String(length=100), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reply_by", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_oversight_notices_instance_id", "oversight_notices", ["instance_id"])
    op.create_table("oversight_recipients",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=100), nullable=False),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["notice_id"], ["oversight_notices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("notice_id", "recipient"),
    )
    op.create_index("ix_oversight_open", "oversight_recipients", ["recipient", "answered_at"])


def downgrade() -> None:
    op.drop_index("ix_oversight_open", table_name="oversight_recipients")
    op.drop_table("oversight_recipients")
    op.drop_index("ix_oversight_notices_instance_id", table_name="oversight_notices")
    op.drop_table("oversight_notices")
    with op.batch_alter_table("process_instances") as batch:
        batch.drop_column("documents")
