"""One history: merges the four branches that each grew from 0001 (inbox, dashboard,
modeling, evidence). From here every migration has exactly one parent
(tests/test_schema.py fails on a second head).

Revision ID: 0006_layout
"""
revision = "0006_layout"
down_revision = ("0002_inbox", "0003_dashboard", "0004_modeling", "0005_evidence")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
