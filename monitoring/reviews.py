"""法制审核 outcomes per process and day, for the throughput dashboard (办理效率).

One row per Beijing calendar day, process key and outcome of the 法制审核 step
(bpmn/legal_review.bpmn, its ``legal_review_outcome`` field): how many of its tasks were
completed with that outcome. A completion adds its row in its own transaction (the engine's
``task_completed`` hook; a completion that fails adds nothing), and completed tasks never
change, so the page reads a few rows per day instead of the submitted values of every task.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Date, Integer, String, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.store import db
from engine.store.models import Base, HumanTask

TZ = ZoneInfo("Asia/Shanghai")
LEGAL_REVIEW_ELEMENT = "UserTask_legal_review"
LEGAL_REVIEW_OUTCOMES = {"approved": "通过", "reinvestigate": "退回补充调查", "revise": "退回修改"}


class ReviewCount(Base):
    __tablename__ = "review_counts"
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # Beijing time; first: pages read a range
    process_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


def _day(completed_at: datetime) -> date:
    return completed_at.astimezone(TZ).date()


def _outcome(values: Any) -> str | None:
    """A known ``legal_review_outcome`` among a task's submitted values, else None (not counted)."""
    found = values.get("legal_review_outcome") if isinstance(values, Mapping) else None
    return found if isinstance(found, str) and found in LEGAL_REVIEW_OUTCOMES else None


def record(session: Session, task: HumanTask, values: Mapping[str, Any]) -> None:
    """Count a task completed now (the engine's ``task_completed`` hook)."""
    found = _outcome(values) if task.element_id == LEGAL_REVIEW_ELEMENT else None
    if found is None:
        return
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(ReviewCount).values(day=_day(task.completed_at), process_key=task.process_key,
                                              outcome=found, count=1)
    table = ReviewCount.__table__
    db.write(session, stmt.on_conflict_do_update(index_elements=[table.c.day, table.c.process_key, table.c.outcome],
                                               set_={"count": table.c.count + 1}))


def rebuild(connection: Connection | Session, chunk: int = 10_000) -> None:
    """Recompute every row from the completed 法制审核 tasks (the migration's backfill; a bulk seed)."""
    counts: Counter = Counter()
    rows = connection.execute(select(HumanTask.process_key, HumanTask.completed_at, HumanTask.submitted)
                              .where(HumanTask.state == "completed", HumanTask.element_id == LEGAL_REVIEW_ELEMENT)
                              .execution_options(yield_per=chunk))
    for key, completed_at, submitted in rows:
        found = _outcome(json.loads(submitted) if submitted else None)
        if found is not None:
            counts[(_day(completed_at), key, found)] += 1
    connection.execute(delete(ReviewCount))
    values = [dict(day=d, process_key=k, outcome=o, count=n) for (d, k, o), n in sorted(counts.items())]
    for i in range(0, len(values), chunk):
        connection.execute(insert(ReviewCount), values[i:i + chunk])
