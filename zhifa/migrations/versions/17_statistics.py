"""Step statistics for the throughput dashboard (filled by 19_throughput, which rebuilds them in their
later form from the completed tasks)

Revision ID: 17_statistics
Revises: 13_documents
"""
from alembic import op
import sqlalchemy as sa

revision = "17_statistics"
down_revision = "14_working_day"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("step_statistics",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("month", "process_key", "element_id", "bucket"),
    )


def downgrade() -> None:
    op.drop_table("step_statistics")
