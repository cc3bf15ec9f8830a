"""full-process recording: evidence columns on attachments

Revision ID: 0005_evidence
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0005_evidence"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("record_item", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("media_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("detected_type", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("device_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("late_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_attachments_device_id"), ["device_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_device_id"))
        for name in ("purged_at", "late_reason", "late", "device_id", "recorded_at", "detected_type",
                     "media_kind", "record_item"):
            batch_op.drop_column(name)
