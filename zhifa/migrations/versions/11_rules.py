"""Rules on people, dates and documents (issue #11): 执法证 number and validity on users
(replacing certificate_no), why a task came back and its 暂存 draft, separation of duties
(task_exclusions) and 回避 (recusals).

Revision ID: 11_rules
"""
import sqlalchemy as sa
from alembic import op

revision = "11_rules"
down_revision = "10_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("cert_no", sa.String(length=50), nullable=True))  # (validity: 15_disclosure)
    op.execute("UPDATE users SET cert_no = substr(certificate_no, 1, 50) WHERE certificate_no IS NOT NULL")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("certificate_no")
    with op.batch_alter_table("human_tasks") as batch:
        batch.add_column(sa.Column("return_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("returned_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("draft", sa.Text(), nullable=True))
    op.create_table(
        "task_exclusions",
        sa.Column("task_id", sa.String(length=36), sa.ForeignKey("human_tasks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("username", sa.String(length=100), primary_key=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
    )
    op.create_index("ix_task_exclusions_username", "task_exclusions", ["username"])
    op.create_table(
        "recusals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instances.id", ondelete="CASCADE"), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_recusals_instance_id", "recusals", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_recusals_instance_id", "recusals")
    op.drop_table("recusals")
    op.drop_index("ix_task_exclusions_username", "task_exclusions")
    op.drop_table("task_exclusions")
    with op.batch_alter_table("human_tasks") as batch:
        for name in ("draft", "returned_at", "returned_by", "return_reason"):
            batch.drop_column(name)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("certificate_no", sa.String(length=100), nullable=True))
    op.execute("UPDATE users SET certificate_no = cert_no")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("cert_no")
