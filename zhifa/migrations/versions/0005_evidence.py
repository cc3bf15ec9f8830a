"""full-process recording: evidence columns on attachments, exceptions, steps, access log, devices, holds, purge log

Revision ID: 0005_evidence
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_evidence"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("evidence_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_table("evidence_device_checkouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_out_by", sa.String(length=100), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_to", sa.String(length=100), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["evidence_devices.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evidence_device_checkouts_device_id", "evidence_device_checkouts", ["device_id"])
    op.create_index("ix_checkouts_user_out", "evidence_device_checkouts", ["username", "checked_out_at"])
    op.create_table("evidence_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("record_item", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evidence_exceptions_instance_id", "evidence_exceptions", ["instance_id"])
    op.create_index("ix_evidence_exceptions_task_id", "evidence_exceptions", ["task_id"])
    op.create_index("ix_evidence_exceptions_status", "evidence_exceptions", ["status", "requested_at"])
    op.create_table("evidence_steps",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("record_item", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("exception_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["exception_id"], ["evidence_exceptions.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index("ix_evidence_steps_instance_id", "evidence_steps", ["instance_id"])
    op.create_index("ix_evidence_steps_completed_at", "evidence_steps", ["completed_at"])
    op.create_table("evidence_access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("business_key", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["attachment_id"], ["attachments.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evidence_access_at", "evidence_access_log", ["at"])
    op.create_index("ix_evidence_access_log_username", "evidence_access_log", ["username"])
    op.create_index("ix_evidence_access_log_attachment_id", "evidence_access_log", ["attachment_id"])
    op.create_index("ix_evidence_access_log_instance_id", "evidence_access_log", ["instance_id"])
    op.create_table("evidence_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("flagged_by", sa.String(length=100), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("export_dir", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evidence_holds_instance_id", "evidence_holds", ["instance_id"])
    op.create_table("evidence_purge_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("original_name", sa.String(length=300), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("business_key", sa.String(length=100), nullable=True),
        sa.Column("case_ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attachment_id"], ["attachments.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evidence_purge_log_attachment_id", "evidence_purge_log", ["attachment_id"])
    op.create_index("ix_evidence_purge_log_instance_id", "evidence_purge_log", ["instance_id"])
    op.create_index("ix_evidence_purge_log_purged_at", "evidence_purge_log", ["purged_at"])
    op.create_table("evidence_purge_runs",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month"),
    )
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
    for table in ("evidence_purge_runs", "evidence_purge_log", "evidence_holds", "evidence_access_log",
                  "evidence_steps", "evidence_exceptions", "evidence_device_checkouts", "evidence_devices"):
        op.drop_table(table)
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_device_id"))
        for name in ("purged_at", "late_reason", "late", "device_id", "recorded_at", "detected_type",
                     "media_kind", "record_item"):
            batch_op.drop_column(name)
