"""文书: template versions, the documents of each case, 案卷 builds

Revision ID: 13_documents
Revises: 17_performance
"""
from alembic import op
import sqlalchemy as sa


revision = "13_documents"
down_revision = "17_performance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("document_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=True),
        sa.Column("deployed_by", sa.String(length=100), nullable=True),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "version"),
    )
    op.create_index("ix_document_templates_key", "document_templates", ["key"])
    op.create_index("ix_document_templates_sha256", "document_templates", ["sha256"])
    op.create_table("case_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=100), nullable=True),
        sa.Column("number_variable", sa.String(length=200), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_by", sa.String(length=100), nullable=True),
        sa.Column("docx_id", sa.Integer(), nullable=True),
        sa.Column("pdf_id", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("values", sa.Text(), nullable=True),
        sa.Column("served_id", sa.Integer(), nullable=True),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("served_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["template_id"], ["document_templates.id"]),
        sa.ForeignKeyConstraint(["draft_id"], ["attachments.id"]),
        sa.ForeignKeyConstraint(["docx_id"], ["attachments.id"]),
        sa.ForeignKeyConstraint(["pdf_id"], ["attachments.id"]),
        sa.ForeignKeyConstraint(["served_id"], ["attachments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "key"),
    )
    op.create_index("ix_case_documents_instance_id", "case_documents", ["instance_id"])
    op.create_index("ix_case_documents_number", "case_documents", ["number"])
    op.create_table("case_file_builds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pdf_id", sa.Integer(), nullable=True),
        sa.Column("zip_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pdf_id"], ["attachments.id"]),
        sa.ForeignKeyConstraint(["zip_id"], ["attachments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_file_builds_instance_id", "case_file_builds", ["instance_id"])


def downgrade() -> None:
    op.drop_table("case_file_builds")
    op.drop_table("case_documents")
    op.drop_table("document_templates")
