"""Recomputing open due dates and date timers when the working-day calendar changes.

A due date or timer computed for a year whose holidays were not yet entered is
provisional (the task says so). When the year is entered, ``recompute`` evaluates every
open due date and waiting date timer from that year on again, moves those that changed,
and tells the handler (a 通知) and the audit record (``deadline_moved``, old → new).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, union
from sqlalchemy.orm import Session

from engine.execution import projection, runtime
from engine.sandbox.expressions import TZ, due_value
from engine.store import history
from engine.store.models import HumanTask, Notification, ProcessInstance, User

PROVISIONAL_MARK = "尚未录入"  # in the warning a provisional computation leaves on the task


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    return str(value).replace("T", " ")[:16]


def recompute(session: Session, since: datetime, user: User | None = None) -> list[dict[str, str]]:
    """Re-evaluate open due dates and date timers at or after ``since``; returns what moved."""
    ids = session.scalars(union(
        select(HumanTask.instance_id).where(HumanTask.state == "ready", HumanTask.due_at >= since),
        select(ProcessInstance.id).where(ProcessInstance.status.in_(("running", "suspended")),
                                         ProcessInstance.next_timer_at >= since))).all()
    moved: list[dict[str, str]] = []
    for instance_id in sorted(set(ids)):
        action = runtime.act(session, instance_id, user, allow_suspended=True)
        changes = _timers(action) + _due_dates(action, since)
        if not changes:
            continue
        for change in changes:
            change["business_key"] = action.instance.business_key
        history.record(session, "deadline_moved", user, instance=action.instance, details={"changes": changes})
        runtime.save(action)
        moved += changes
    return moved


def _timers(action) -> list[dict[str, str]]:
    out = []
    for task in action.workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        old = task._get_internal_data("event_value")
        if not isinstance(definition, TimeDateEventDefinition) or old is None or task._get_internal_data("event_fired"):
            continue
        new = action.workflow.script_engine.evaluate(task, definition.expression)
        if str(new) != str(old):
            task._set_internal_data(event_value=new)
            out.append({"what": task.task_spec.bpmn_name or task.task_spec.bpmn_id or "定时器",
                        "old": _shown(old), "new": _shown(new)})
    return out


def _due_dates(action, since: datetime) -> list[dict[str, str]]:
    out = []
    session, instance = action.session, action.instance
    for row in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                       HumanTask.state == "ready", HumanTask.due_at >= since)):
        task = action.workflow.get_task_from_id(UUID(row.id))
        action.warnings.clear()
        value = projection.attribute(action, task, "dueDate")
        new = due_value(value, row.created_at) if value not in (None, "") else None
        if row.problem and PROVISIONAL_MARK in row.problem and not action.warnings:
            row.problem = None  # computed on the entered calendar now
        if new is None or new == row.due_at:
            continue
        change = {"what": row.name, "old": _shown(row.due_at), "new": _shown(new)}
        projection.set_due(session, row, new)
        for recipient in [row.assignee] if row.assignee else [g for g in row.candidate_groups.split(",") if g]:
            session.add(Notification(recipient=recipient, instance_id=instance.id,
                                     text=f"“{row.name}”（{row.business_key}）的期限按已录入的节假日安排重算："
                                          f"{change['old']} → {change['new']}"))
        out.append(change)
    action.warnings.clear()
    return out
