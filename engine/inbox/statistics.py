"""Step durations pre-aggregated for the throughput dashboard (办理效率).

One row per process key, step (element id), Beijing calendar month of completion and
duration bucket: how many tasks were completed and the sum of their durations. The row
is written in the transaction that completes the task (a completion that fails leaves it
unchanged), so the dashboard reads a few hundred rows instead of every completed task.

Buckets are logarithmic, ``PER_DOUBLING`` to each doubling of the duration (≈ 9 % wide):
counts and means are exact, a percentile read from them is the bucket's geometric middle,
within ``PERCENTILE_ERROR`` of the exact value. Only completed tasks count; migrating or
terminating a case changes ready and cancelled rows only, never these.
"""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from typing import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from engine.store.models import HumanTask, StepStatistic

TZ = ZoneInfo("Asia/Shanghai")  # months are the bureau's calendar months
PER_DOUBLING = 8
PERCENTILE_ERROR = 2 ** (0.5 / PER_DOUBLING) - 1   # ≈ 4.4 %: half a bucket, relative


def bucket(seconds: float) -> int:
    """The bucket of a duration: [2^(b/8), 2^((b+1)/8)) seconds; bucket 0 also holds anything under a second."""
    return max(0, math.floor(PER_DOUBLING * math.log2(seconds))) if seconds >= 1 else 0


def bucket_value(b: int) -> float:
    """The geometric middle of bucket ``b``, in seconds."""
    return 2 ** ((b + 0.5) / PER_DOUBLING)


def month(completed_at: datetime) -> str:
    return completed_at.astimezone(TZ).strftime("%Y-%m")


def _seconds(task: HumanTask) -> float:
    return max(0.0, (task.completed_at - task.created_at).total_seconds())


def record(session, task: HumanTask) -> None:
    """Count a task completed now (call in the completing transaction)."""
    seconds = _seconds(task)
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(StepStatistic).values(process_key=task.process_key, element_id=task.element_id,
                                                month=month(task.completed_at), bucket=bucket(seconds),
                                                count=1, seconds=seconds)
    table = StepStatistic.__table__
    session.execute(stmt.on_conflict_do_update(
        index_elements=[table.c.month, table.c.process_key, table.c.element_id, table.c.bucket],
        set_={"count": table.c.count + 1, "seconds": table.c.seconds + stmt.excluded.seconds}))


def rebuild(connection, chunk: int = 10_000) -> None:
    """Recompute every row from the completed tasks (the migration's backfill; a bulk seed)."""
    totals: dict[tuple[str, str, str, int], list] = defaultdict(lambda: [0, 0.0])
    rows = connection.execute(select(HumanTask.process_key, HumanTask.element_id, HumanTask.created_at,
                                     HumanTask.completed_at).where(HumanTask.state == "completed")
                              .execution_options(yield_per=chunk))
    for task in rows:
        seconds = _seconds(task)
        total = totals[(task.process_key, task.element_id, month(task.completed_at), bucket(seconds))]
        total[0] += 1
        total[1] += seconds
    connection.execute(delete(StepStatistic))
    values = [dict(process_key=k, element_id=e, month=m, bucket=b, count=n, seconds=s)
              for (k, e, m, b), (n, s) in totals.items()]
    for i in range(0, len(values), chunk):
        connection.execute(insert(StepStatistic), values[i:i + chunk])


def percentile(buckets: Iterable[tuple[int, int]], p: int) -> float:
    """The ``p``-th percentile (nearest rank) of durations given as (bucket, count) in bucket order."""
    items = list(buckets)
    rank = -(-p * sum(n for _, n in items) // 100)
    seen = 0
    for b, n in items:
        seen += n
        if seen >= rank:
            return bucket_value(b)
    raise ValueError("no durations")
