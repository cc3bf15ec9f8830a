"""The working day (#14): 执法证 number and validity on users (replacing certificate_no),
督办 notices and their recipients, the document numbers of a case for its inbox rows.

The three certificate columns are also wanted by #11; they are added only where missing
so either branch may come first.

Revision ID: 14_working_day
Revises: 0006_layout
"""
import sqlalchemy as sa
from alembic import op

revision = "14_working_day"
down_revision = "0006_layout"
branch_labels = None
depends_on = None

_CERT = (("cert_no", sa.String(length=50)), ("cert_valid_from", sa.Date()), ("cert_valid_until", sa.Date()))


def _user_columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("users")}


def upgrade() -> None:
    have = _user_columns()
    with op.batch_alter_table("users") as batch:
        for name, type_ in _CERT:
            if name not in have:
                batch.add_column(sa.Column(name, type_, nullable=True))
    if "certificate_no" in have:
        op.execute("UPDATE users SET cert_no = substr(certificate_no, 1, 50) WHERE cert_no IS NULL")
        with op.batch_alter_table("users") as batch:
            batch.drop_column("certificate_no")
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
    with op.batch_alter_table("process_instances") as batch:
        batch.drop_column("documents")
    op.drop_index("ix_oversight_open", table_name="oversight_recipients")
    op.drop_table("oversight_recipients")
    op.drop_index("ix_oversight_notices_instance_id", table_name="oversight_notices")
    op.drop_table("oversight_notices")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("certificate_no", sa.String(length=100), nullable=True))
    op.execute("UPDATE users SET certificate_no = cert_no")
    with op.batch_alter_table("users") as batch:
        for name, _ in reversed(_CERT):
            batch.drop_column(name)
