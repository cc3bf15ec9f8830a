"""笔录 made on demand, many per case: case_documents.serial, unique with the key

Revision ID: 18_notes
Revises: 17_statistics
"""
from alembic import op
import sqlalchemy as sa

revision = "18_notes"
down_revision = "17_statistics"
branch_labels = None
depends_on = None

# SQLite reflects the old unnamed constraint without a name: the convention names it for dropping.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _unique_named(columns: list[str]) -> str:
    found = sa.inspect(op.get_bind()).get_unique_constraints("case_documents")
    name = next((c["name"] for c in found if c["column_names"] == columns), None)
    return name or NAMING["uq"] % {"table_name": "case_documents", "column_0_name": columns[0]}


def upgrade() -> None:
    old = _unique_named(["instance_id", "key"])
    with op.batch_alter_table("case_documents", naming_convention=NAMING) as batch:
        batch.add_column(sa.Column("serial", sa.Integer(), nullable=False, server_default="1"))
        batch.drop_constraint(old, type_="unique")
        batch.create_unique_constraint("uq_case_documents_serial", ["instance_id", "key", "serial"])


def downgrade() -> None:
    with op.batch_alter_table("case_documents", naming_convention=NAMING) as batch:
        batch.drop_constraint("uq_case_documents_serial", type_="unique")
        batch.create_unique_constraint("uq_case_documents_instance_id", ["instance_id", "key"])
        batch.drop_column("serial")
