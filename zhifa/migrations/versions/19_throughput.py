"""办理效率 at 100,000 cases (issue #17): cases started and completed per day and 法制审核 outcomes
per day pre-aggregated; step statistics in one row per step and month (with the step's name and the
duration histogram as JSON) instead of one per duration bucket; all rebuilt from the cases and tasks

Revision ID: 19_throughput
Revises: 19_search
"""
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from engine.execution import case_counts
from engine.inbox import statistics
from engine.store.models import HumanTask
from monitoring import reviews

revision = "19_throughput"
down_revision = "19_search"
branch_labels = None
depends_on = None


def _step_statistics(*columns: sa.Column, key: tuple[str, ...]) -> sa.Table:
    return op.create_table("step_statistics",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        *columns,
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(*key),
    )


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
    op.drop_table("step_statistics")
    _step_statistics(sa.Column("name", sa.String(length=300), nullable=False),
                     sa.Column("buckets", sa.Text(), nullable=False), key=("month", "process_key", "element_id"))
    connection = op.get_bind()
    case_counts.rebuild(connection)
    reviews.rebuild(connection)
    statistics.rebuild(connection)


def downgrade() -> None:
    """Back to the step statistics of 17_statistics, a row per duration bucket with its durations' sum."""
    op.drop_table("step_statistics")
    table = _step_statistics(sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
                             key=("month", "process_key", "element_id", "bucket"))
    totals: dict[tuple, list] = defaultdict(lambda: [0, 0.0])
    for task in op.get_bind().execute(sa.select(HumanTask.process_key, HumanTask.element_id, HumanTask.created_at,
                                                HumanTask.completed_at).where(HumanTask.state == "completed")):
        seconds = max(0.0, (task.completed_at - task.created_at).total_seconds())
        total = totals[(statistics.month(task.completed_at), task.process_key, task.element_id,
                        statistics.bucket(seconds))]
        total[0] += 1
        total[1] += seconds
    op.bulk_insert(table, [dict(month=m, process_key=k, element_id=e, bucket=b, count=n, seconds=s)
                           for (m, k, e, b), (n, s) in totals.items()])
    op.drop_table("review_counts")
    op.drop_table("case_counts")
