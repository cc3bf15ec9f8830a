"""Cases per process version and status, for 流程概况 (the dashboard overview).

One row per (process version, status) with how many cases are in it. A case's status or version
changes only through ``move`` (started, completed, suspended, resumed, terminated, migrated), in
the transaction that changes it, so the overview reads a few rows instead of counting every case
the bureau ever had.
"""
from __future__ import annotations

import functools
from collections import Counter

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.store import db
from engine.store.models import ProcessInstance, StatusCount


@functools.cache
def _add(dialect: str):
    """INSERT … ON CONFLICT adding the row's count to the stored one, built once per dialect."""
    stmt = (sqlite if dialect == "sqlite" else postgresql).insert(StatusCount)
    table = StatusCount.__table__
    return stmt.on_conflict_do_update(index_elements=[table.c.definition_id, table.c.status],
                                      set_={"count": table.c.count + stmt.excluded.count})


def move(session: Session, instance: ProcessInstance, *, status: str | None = None,
         definition_id: int | None = None, new: bool = False) -> None:
    """Set the case's status and/or version and count the move; ``new``: a case just started."""
    before = None if new else (instance.definition_id, instance.status)
    if status is not None:
        instance.status = status
    if definition_id is not None:
        instance.definition_id = definition_id
    after = (instance.definition_id, instance.status)
    if before == after:
        return
    delta = Counter({after: 1})
    if before is not None:
        delta[before] -= 1
    rows = [{"definition_id": d, "status": s, "count": n} for (d, s), n in sorted(delta.items())]
    db.write(session, _add(session.get_bind().dialect.name), rows)  # sorted: moves never deadlock


def rebuild(connection: Connection | Session) -> None:
    """Recompute every row from the cases (the migration's backfill; a bulk seed)."""
    counts = connection.execute(select(ProcessInstance.definition_id, ProcessInstance.status, func.count())
                                .group_by(ProcessInstance.definition_id, ProcessInstance.status)).all()
    connection.execute(delete(StatusCount))
    if counts:
        connection.execute(insert(StatusCount), [{"definition_id": d, "status": s, "count": n} for d, s, n in counts])
