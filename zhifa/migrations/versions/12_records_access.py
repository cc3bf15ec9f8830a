"""查阅登记簿 entries for 调阅 of case files: no recording file, who asked, who approved,
what was seen or copied, and the 调阅 case.

Revision ID: 12_records_access
"""
import sqlalchemy as sa
from alembic import op

revision = "12_records_access"
down_revision = "13_documents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence_access_log") as batch:
        batch.alter_column("attachment_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("requester", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("approved_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("scope", sa.Text(), nullable=True))
        batch.add_column(sa.Column("request_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_evidence_access_log_request_id", "process_instances", ["request_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("evidence_access_log") as batch:
        batch.drop_constraint("fk_evidence_access_log_request_id", type_="foreignkey")
        batch.drop_column("request_id")
        batch.drop_column("scope")
        batch.drop_column("approved_by")
        batch.drop_column("requester")
        batch.alter_column("attachment_id", existing_type=sa.Integer(), nullable=False)
