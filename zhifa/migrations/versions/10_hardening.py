"""hardening: login failure counters, session generation on users, audit hash chain

Revision ID: 10_hardening
Revises: 0006_layout
"""
from alembic import op
import sqlalchemy as sa


revision = "10_hardening"
down_revision = "0006_layout"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("login_failures",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_generation")
    op.drop_table("login_failures")
