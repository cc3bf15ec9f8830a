"""办理效率 at 100,000 cases (issue #17): cases started and completed per day, and 法制审核
outcomes per day, pre-aggregated and backfilled from the cases and tasks

Revision ID: 19_throughput
Revises: 18_dashboards
"""
import sqlalchemy as sa
from alembic import op

from engine.execution import case_counts
from monitoring import reviews

revision = "19_throughput"
down_revision = "18_dashboards"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("case_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "process_key"),
    )
    op.create_table("review_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "process_key", "outcome"),
    )
    case_counts.rebuild(op.get_bind())
    reviews.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("review_counts")
    op.drop_table("case_counts")
