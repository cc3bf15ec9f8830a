"""dashboard indexes: instance lists by start/end time, task statistics by state

Revision ID: 0003_dashboard
Revises: 0001
Create Date: 2026-11-25
"""
from alembic import op

revision = "0003_dashboard"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_instances_started", "process_instances", ["started_at"])
    op.create_index("ix_instances_key_started", "process_instances", ["process_key", "started_at"])
    op.create_index("ix_instances_status_ended", "process_instances", ["status", "ended_at"])
    # covering: step durations (throughput) and per-activity means (heatmap) read only the index
    op.create_index("ix_tasks_state_completed", "human_tasks",
                    ["state", "completed_at", "process_key", "element_id", "created_at"])
    op.create_index("ix_tasks_instance_durations", "human_tasks",
                    ["instance_id", "state", "element_id", "created_at", "completed_at"])
    op.create_index("ix_tasks_state_element", "human_tasks", ["state", "element_id", "instance_id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_instance_durations", table_name="human_tasks")
    op.drop_index("ix_tasks_state_element", table_name="human_tasks")
    op.drop_index("ix_tasks_state_completed", table_name="human_tasks")
    op.drop_index("ix_instances_status_ended", table_name="process_instances")
    op.drop_index("ix_instances_key_started", table_name="process_instances")
    op.drop_index("ix_instances_started", table_name="process_instances")
