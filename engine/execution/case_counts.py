"""Cases started and completed per process and day, for the throughput dashboard (办理效率).

One row per Beijing calendar day and process key: how many cases started that day, and how
many completed (status "completed"; a terminated case is not). Each count is added in the
transaction that starts or completes the case (one that fails adds nothing); cases are
never reopened, and migration keeps a case's process key and dates, so the dashboard reads
a row per day instead of every case.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.store import db
from engine.store.models import CaseCount, ProcessInstance

TZ = ZoneInfo("Asia/Shanghai")  # days are the bureau's calendar days


def day(value: datetime) -> date:
    return value.astimezone(TZ).date()


def _add(session: Session, instance: ProcessInstance, when: datetime, column: str) -> None:
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(CaseCount).values(day=day(when), process_key=instance.process_key,
                                            started=int(column == "started"), completed=int(column == "completed"))
    table = CaseCount.__table__
    db.write(session, stmt.on_conflict_do_update(index_elements=[table.c.day, table.c.process_key],
                                               set_={column: table.c[column] + 1}))


def started(session: Session, instance: ProcessInstance) -> None:
    """Count a case just started (its row flushed, so ``started_at`` is set)."""
    _add(session, instance, instance.started_at, "started")


def completed(session: Session, instance: ProcessInstance) -> None:
    """Count a case that has just completed."""
    _add(session, instance, instance.ended_at, "completed")


def rebuild(connection: Connection | Session, chunk: int = 10_000) -> None:
    """Recompute every row from the cases (the migration's backfill; a bulk seed)."""
    counts: dict[str, Counter] = {"started": Counter(), "completed": Counter()}
    rows = connection.execute(select(ProcessInstance.process_key, ProcessInstance.status, ProcessInstance.started_at,
                                     ProcessInstance.ended_at).execution_options(yield_per=chunk))
    for key, status, started_at, ended_at in rows:
        counts["started"][(day(started_at), key)] += 1
        if status == "completed":
            counts["completed"][(day(ended_at), key)] += 1
    connection.execute(delete(CaseCount))
    values = [dict(day=d, process_key=k, started=counts["started"][(d, k)], completed=counts["completed"][(d, k)])
              for d, k in sorted(counts["started"].keys() | counts["completed"].keys())]
    for i in range(0, len(values), chunk):
        connection.execute(insert(CaseCount), values[i:i + chunk])
