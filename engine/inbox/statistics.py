"""Step durations pre-aggregated for the throughput dashboard (办理效率).

One row per process key, step (element id) and Beijing calendar month of completion: the
step's name, how many tasks were completed, the sum of their durations and how many fell in
each duration bucket (a JSON object). The row is written in the transaction that completes
the task (a completion that fails leaves it unchanged; one statement, so concurrent
completions of a step add up under the row's lock), so the dashboard reads one row per step
and month instead of every completed task.

Buckets are logarithmic, ``PER_DOUBLING`` to each doubling of the duration (≈ 9 % wide):
counts and means are exact, a percentile read from them is the bucket's geometric middle,
within ``PERCENTILE_ERROR`` of the exact value. Only completed tasks count; migrating or
terminating a case changes ready and cancelled rows only, never these.
"""
from __future__ import annotations

import functools
import json
import math
from collections import Counter, defaultdict
from datetime import datetime
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Text, bindparam, cast, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from engine.store import db
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


def _encode(histogram: Mapping[int, int]) -> str:
    return json.dumps({str(b): n for b, n in sorted(histogram.items())}, separators=(",", ":"))


def _counted_once_more(dialect: str, buckets):
    """The histogram ``buckets`` with one more task in the bucket named by the parameter ``bucket``
    (its JSON path on SQLite, its key on PostgreSQL: ``_bucket_param``), as SQL."""
    if dialect == "sqlite":
        path = bindparam("bucket", type_=Text)
        return func.json_set(buckets, path, func.coalesce(func.json_extract(buckets, path), 0) + 1)
    histogram, key = cast(buckets, postgresql.JSONB), bindparam("bucket", type_=Text)
    return cast(histogram.op("||")(func.jsonb_build_object(key, func.coalesce(
        cast(histogram.op("->>")(key), Integer), 0) + 1)), Text)


def _bucket_param(dialect: str, b: int) -> str:
    return f'$."{b}"' if dialect == "sqlite" else str(b)


@functools.cache
def _upsert(dialect: str):
    """Built once per dialect: building the statement cost more than running it."""
    columns = ("process_key", "element_id", "month", "name", "count", "seconds", "buckets")
    stmt = (sqlite if dialect == "sqlite" else postgresql).insert(StepStatistic).values(
        {c: bindparam(c) for c in columns})
    table = StepStatistic.__table__
    return stmt.on_conflict_do_update(
        index_elements=[table.c.month, table.c.process_key, table.c.element_id],
        set_={"name": stmt.excluded.name, "count": table.c.count + 1,
              "seconds": table.c.seconds + stmt.excluded.seconds,
              "buckets": _counted_once_more(dialect, table.c.buckets)})


def record(session, task: HumanTask) -> None:
    """Count a task completed now (call in the completing transaction)."""
    seconds = _seconds(task)
    b = bucket(seconds)
    dialect = session.get_bind().dialect.name
    db.write(session, _upsert(dialect), [dict(
        process_key=task.process_key, element_id=task.element_id, month=month(task.completed_at), name=task.name,
        count=1, seconds=seconds, buckets=_encode({b: 1}), bucket=_bucket_param(dialect, b))])


def rebuild(connection, chunk: int = 10_000) -> None:
    """Recompute every row from the completed tasks (the migration's backfill; a bulk seed)."""
    totals: dict[tuple[str, str, str], list] = defaultdict(lambda: [None, "", 0, 0.0, Counter()])
    rows = connection.execute(select(HumanTask.process_key, HumanTask.element_id, HumanTask.name, HumanTask.created_at,
                                     HumanTask.completed_at).where(HumanTask.state == "completed")
                              .execution_options(yield_per=chunk))
    for task in rows:
        seconds = _seconds(task)
        total = totals[(task.process_key, task.element_id, month(task.completed_at))]
        if total[0] is None or task.completed_at >= total[0]:  # the name at the latest completion
            total[0], total[1] = task.completed_at, task.name
        total[2] += 1
        total[3] += seconds
        total[4][bucket(seconds)] += 1
    connection.execute(delete(StepStatistic))
    values = [dict(process_key=k, element_id=e, month=m, name=name, count=n, seconds=s, buckets=_encode(h))
              for (k, e, m), (_, name, n, s, h) in totals.items()]
    for i in range(0, len(values), chunk):
        connection.execute(insert(StepStatistic), values[i:i + chunk])


def merged(histograms: list[str]) -> list[tuple[int, int]]:
    """Rows' ``buckets`` added up: (bucket, tasks) in bucket order, as ``percentile`` takes them."""
    total: dict[str, int] = {}
    for pairs in json.loads(f"[{','.join(histograms)}]", object_pairs_hook=list):  # one parse; pairs, not dicts
        for b, n in pairs:
            total[b] = total.get(b, 0) + n
    return sorted((int(b), n) for b, n in total.items())


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
