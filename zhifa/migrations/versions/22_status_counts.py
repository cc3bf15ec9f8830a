"""流程概况 at 100,000 cases (issue #17): cases per process version and status kept in
``status_counts`` by every change of a case's status or version, instead of counted from every
case on each view of the page.

Revision ID: 22_status_counts
Revises: 21_case_search
"""
import sqlalchemy as sa
from alembic import op

from engine.execution import status_counts

revision = "22_status_counts"
down_revision = "21_case_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("status_counts",
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["definition_id"], ["process_definitions.id"]),
        sa.PrimaryKeyConstraint("definition_id", "status"),
    )
    status_counts.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("status_counts")
