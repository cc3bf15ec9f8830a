"""Time per step of the completed cases of each process version, for the diagram heatmap.

One row per process version and step (element id): how many tasks the version's completed
cases completed there and the sum of their durations. A case adds its completed tasks in the
transaction that completes it (cases are never reopened, and only running cases are
migrated), so the diagram reads a few rows instead of every completed task.
"""
from __future__ import annotations

from sqlalchemy import Connection, delete, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.store.models import ActivityStatistic, HumanTask, ProcessInstance


def _seconds(dialect: str):
    if dialect == "sqlite":
        return (func.julianday(HumanTask.completed_at) - func.julianday(HumanTask.created_at)) * 86400.0
    return func.extract("epoch", HumanTask.completed_at - HumanTask.created_at)


def _durations(dialect: str, definition_id, *where):
    return (select(definition_id, HumanTask.element_id, func.count(), func.sum(_seconds(dialect)))
            .where(HumanTask.state == "completed", *where))


def record_case(session, instance: ProcessInstance) -> None:
    """Count the completed tasks of a case that has just completed (its rows flushed)."""
    name = session.get_bind().dialect.name
    table = ActivityStatistic.__table__
    stmt = (sqlite if name == "sqlite" else postgresql).insert(table).from_select(
        ["definition_id", "element_id", "count", "seconds"],
        _durations(name, literal(instance.definition_id), HumanTask.instance_id == instance.id)
        .group_by(HumanTask.element_id))  # its WHERE also keeps SQLite from reading ON CONFLICT as a join's ON
    session.execute(stmt.on_conflict_do_update(
        index_elements=[table.c.definition_id, table.c.element_id],
        set_={"count": table.c.count + stmt.excluded.count, "seconds": table.c.seconds + stmt.excluded.seconds}))


def rebuild(connection: Connection | Session) -> None:
    """Recompute every row from the completed cases (the migration's backfill; a bulk seed)."""
    name = (connection.get_bind() if isinstance(connection, Session) else connection).dialect.name
    connection.execute(delete(ActivityStatistic))
    connection.execute(insert(ActivityStatistic).from_select(
        ["definition_id", "element_id", "count", "seconds"],
        _durations(name, ProcessInstance.definition_id)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(ProcessInstance.status == "completed")
        .group_by(ProcessInstance.definition_id, HumanTask.element_id)))
