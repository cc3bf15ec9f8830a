"""The inbox: which human tasks a user sees, and claim, unclaim, delegate, complete.

Listing reads only the projection (``human_tasks`` + ``task_candidates``), one
indexed query per page; acting locks the case, re-reads the task under the lock and
only then touches the workflow, so two people can never complete one task twice.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session

from . import forms, history, runtime
from .identity import NotPermitted, group_codes
from .models import HumanTask, ProcessInstance, TaskCandidate, User, utcnow
from .serialization import data_to_json


class TaskNotFound(LookupError):
    def __init__(self, task_id: str):
        super().__init__(f"任务 {task_id} 不存在")


class TaskAlreadyCompleted(Exception):
    """Someone (maybe the same person, in another tab) completed the task first."""

    def __init__(self, by: str | None, at: datetime | None, cancelled: bool = False):
        self.by, self.at = by, at
        if cancelled:
            super().__init__("该任务已不再需要办理（流程已转到其他环节）")
        else:
            when = at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if at else "此前"
            super().__init__(f"该任务已由 {by or '系统'} 于 {when} 办理")


class TaskClaimed(Exception):
    def __init__(self, by: str):
        self.by = by
        super().__init__(f"该任务已由 {by} 领取")


def _candidate_clause(user: User):
    groups = group_codes(user)
    return exists().where(TaskCandidate.task_id == HumanTask.id, or_(
        (TaskCandidate.kind == "group") & TaskCandidate.value.in_(groups) if groups else False,
        (TaskCandidate.kind == "user") & (TaskCandidate.value == user.username)))


def visible_clause(user: User):
    """Tasks a user may open: assigned to them, or unassigned and offered to them."""
    return or_(HumanTask.assignee == user.username,
               HumanTask.assignee.is_(None) & _candidate_clause(user))


def inbox(session: Session, user: User) -> list[HumanTask]:
    """Every ready task the user may work on, soonest due first."""
    return list(session.scalars(select(HumanTask).where(
        HumanTask.state == "ready", HumanTask.suspended.is_(False), visible_clause(user))
        .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.priority.desc(), HumanTask.created_at)))


def ready_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "ready")
                                .order_by(HumanTask.created_at, HumanTask.id)))


def get(session: Session, task_id: str) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise TaskNotFound(task_id)
    return task


def may_act(session: Session, task: HumanTask, user: User) -> bool:
    if task.assignee is not None:
        return task.assignee == user.username
    return bool(session.scalar(select(exists().where(HumanTask.id == task.id, _candidate_clause(user)))))


def require_actor(session: Session, task: HumanTask, user: User) -> None:
    if task.state != "ready":
        raise TaskAlreadyCompleted(task.completed_by, task.completed_at, cancelled=task.state == "cancelled")
    if task.assignee is not None and task.assignee != user.username:
        raise TaskClaimed(task.assignee)
    if not may_act(session, task, user):
        raise NotPermitted("此任务不属于您的岗位")


@dataclass
class TaskView:
    """What a task page needs: the row, its form, and the values to show."""
    task: HumanTask
    form: forms.Form
    values: dict[str, Any]
    documentation: str | None
    extensions: dict[str, Any]


def view(session: Session, task_id: str, user: User) -> TaskView:
    task = get(session, task_id)
    if task.state == "ready":
        require_actor(session, task, user)
    elif not (task.completed_by == user.username):
        raise NotPermitted("此任务不属于您")
    instance = session.get(ProcessInstance, task.instance_id)
    action = runtime.load(session, instance, user)
    spiff = runtime.spiff_task(action, task.id) if task.state == "ready" else None
    spec = spiff.task_spec if spiff else action.workflow.spec.task_specs.get(task.element_id)
    form = forms.form_of(spec) if spec else forms.Form([])
    data = spiff.data if spiff else json.loads(task.submitted or "{}")
    return TaskView(task, form, forms.initial_values(form, data), getattr(spec, "documentation", None),
                    dict(getattr(spec, "extensions", {}) or {}))


def _locked_task(session: Session, task_id: str) -> tuple[HumanTask, ProcessInstance]:
    task = get(session, task_id)
    instance = runtime.lock_instance(session, task.instance_id)
    session.refresh(task)  # re-read under the lock: the other click may have won
    return task, instance


def claim(session: Session, task_id: str, user: User) -> HumanTask:
    task = get(session, task_id)
    if task.assignee == user.username and task.state == "ready":
        return task
    require_actor(session, task, user)
    done = session.execute(update(HumanTask).where(HumanTask.id == task_id, HumanTask.assignee.is_(None),
                                                   HumanTask.state == "ready").values(assignee=user.username))
    session.refresh(task)
    if done.rowcount != 1:
        require_actor(session, task, user)
    history.record(session, "claim", user, instance=session.get(ProcessInstance, task.instance_id),
                   task_id=task.id, element_id=task.element_id)
    return task


def unclaim(session: Session, task_id: str, user: User) -> HumanTask:
    task = get(session, task_id)
    if task.assignee != user.username:
        raise NotPermitted("只能退还自己领取的任务")
    task.assignee = None
    history.record(session, "unclaim", user, instance=session.get(ProcessInstance, task.instance_id),
                   task_id=task.id, element_id=task.element_id)
    return task


def complete(session: Session, task_id: str, user: User, submitted: Mapping[str, Any]) -> HumanTask:
    """Validate the form, complete the task (claiming it if unclaimed) and run the case on."""
    task, instance = _locked_task(session, task_id)
    require_actor(session, task, user)
    if instance.status != "running" or task.suspended:
        raise runtime.InstanceNotActive(instance)
    action = runtime.load(session, instance, user)
    spiff = runtime.spiff_task(action, task.id)
    values = forms.validate(forms.form_of(spiff.task_spec), submitted, spiff.data)
    now = utcnow()
    task.state, task.assignee, task.completed_by, task.completed_at = "completed", user.username, user.username, now
    task.submitted = data_to_json(values)

    def finish(workflow):
        spiff.set_data(**values)
        spiff.run()
    runtime.run_engine(action, finish)
    history.record(session, "complete", user, instance=instance, task_id=task.id, element_id=task.element_id,
                   details={"task": task.name, "values": values})
    runtime.save(action)
    return task


def count_inbox(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.state == "ready", HumanTask.suspended.is_(False), visible_clause(user))) or 0
