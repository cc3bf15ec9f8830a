"""hardening: login failure counters, session generation on users, audit hash chain

Revision ID: 10_hardening
Revises: 15_disclosure
"""
from alembic import op
import sqlalchemy as sa


revision = "10_hardening"
down_revision = "15_disclosure"
branch_labels = None
depends_on = None

CHAINED = ("audit_events", "deployments", "evidence_access_log", "evidence_purge_log")


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
    for table in CHAINED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
            batch.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
            batch.create_unique_constraint(f"uq_{table}_chain_seq", ["chain_seq"])
    head = op.create_table("audit_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])  # rows from before stay outside the chain


def downgrade() -> None:
    op.drop_table("audit_chain")
    for table in CHAINED:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_chain_seq", type_="unique")
            batch.drop_column("chain_hash")
            batch.drop_column("chain_seq")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_generation")
    op.drop_table("login_failures")
