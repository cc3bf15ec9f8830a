"""The inbox projection: one row per human task, kept in step with the workflow.

Rows of tasks that became ready are inserted with their candidate groups, assignee,
due date and priority evaluated on the task's data; rows of tasks that vanished
without being completed (a boundary timer interrupted them, the case ended) are
marked cancelled. Completed rows are written by ``tasks.complete``.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.execution.errors import EngineStepFailed
from engine.sandbox.expressions import due_value
from engine.store.models import CaseDepartment, Group, HumanTask, Notification, TaskCandidate

if TYPE_CHECKING:
    from engine.execution.runtime import Action

log = logging.getLogger(__name__)


def ready_human_tasks(workflow):
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def _attribute(action: Action, task, name: str) -> Any:
    spec = (task.task_spec.extensions or {}).get("camunda", {}).get(name)
    if spec is None:
        return None
    if "value" in spec:
        return spec["value"]
    return action.workflow.script_engine.evaluate(task, spec["expr"])


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def _row(action: Action, task, now: datetime) -> tuple[HumanTask, list[str], list[str]]:
    spec = task.task_spec
    try:
        groups = _as_list(_attribute(action, task, "candidateGroups")) or _as_list(spec.lane)
        users = _as_list(_attribute(action, task, "candidateUsers"))
        assignee = _attribute(action, task, "assignee")
    except Exception as e:  # without its candidates nobody could ever see the task
        raise EngineStepFailed(spec.bpmn_id, spec.bpmn_name, f"办理人/候选岗位表达式出错：{e}") from e
    row = HumanTask(id=str(task.id), instance_id=action.instance.id, process_key=action.instance.process_key,
                    business_key=action.instance.business_key, title=action.instance.title,
                    element_id=spec.bpmn_id or spec.name, name=spec.bpmn_name or spec.bpmn_id or spec.name,
                    lane=spec.lane, candidate_groups=",".join(groups), candidate_users=",".join(users),
                    assignee=str(assignee) if assignee else None, state="ready", created_at=now,
                    suspended=action.instance.status == "suspended")
    problems = []
    try:
        priority = _attribute(action, task, "priority")
        row.priority = max(0, min(100, int(priority))) if priority not in (None, "") else 50
    except (TypeError, ValueError):
        row.priority = 50
    for attr, column in (("dueDate", "due_at"), ("followUpDate", "follow_up_at")):
        try:
            value = _attribute(action, task, attr)
            if value not in (None, ""):
                setattr(row, column, due_value(value, now))
        except Exception as e:  # e.g. a year the working-day calendar does not know yet
            problems.append(f"期限无法计算：{e}")
            log.warning("case %s task %s: %s cannot be computed: %s", action.instance.business_key, row.element_id, attr, e)
    row.problem = "；".join(problems + action.warnings)[:500] or None
    return row, groups, users


def sync(action: Action, now: datetime, title_changed: bool = False) -> None:
    session, instance = action.session, action.instance
    ready = {str(t.id): t for t in ready_human_tasks(action.workflow)}
    known = set(session.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance.id,
                                                           HumanTask.state == "ready")))
    vanished = known - ready.keys()
    if vanished:
        session.execute(update(HumanTask).where(HumanTask.id.in_(vanished)).values(state="cancelled", completed_at=now))
    new_groups: set[str] = set()
    for task_id in ready.keys() - known:
        row, groups, users = _row(action, ready[task_id], now)
        session.add(row)  # ids are ours, so the candidates need no flush in between
        session.add_all([TaskCandidate(task_id=row.id, kind="group", value=g) for g in dict.fromkeys(groups)]
                        + [TaskCandidate(task_id=row.id, kind="user", value=u) for u in dict.fromkeys(users)])
        new_groups.update(groups)
    if new_groups or action.is_new:
        _involve_departments(session, instance, new_groups)
    if title_changed and instance.title:
        session.execute(update(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.title != instance.title)
                        .values(title=instance.title))
    session.add_all(Notification(recipient=r, text=t, instance_id=instance.id) for r, t in action.notifications)
    action.notifications.clear()


def _involve_departments(session: Session, instance, groups: set[str]) -> None:
    departments = set(session.scalars(select(Group.department_code).where(Group.code.in_(groups)))) if groups else set()
    if instance.department_code:
        departments.add(instance.department_code)
    have = set(session.scalars(select(CaseDepartment.department_code).where(CaseDepartment.instance_id == instance.id)))
    session.add_all(CaseDepartment(instance_id=instance.id, department_code=d) for d in sorted(departments - have))


def set_suspended(session: Session, instance_id: int, suspended: bool) -> None:
    session.execute(update(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "ready")
                    .values(suspended=suspended))
