"""Managing a case from outside its process: suspend, resume, terminate (with a reason).

Each action locks the case row, changes its status, rewrites what depends on the
status through ``runtime.save`` (timer job, message subscriptions, inbox rows) and
records an audit event with the reason, all in the caller's transaction.

- 挂起 (suspend): the case's tasks leave every inbox and cannot be completed; its
  timer job is removed and it stops waiting for messages.
- 恢复 (resume): tasks return to the inboxes; timers and subscriptions are rebuilt
  (a timer that came due meanwhile fires at the worker's next pass).
- 终止 (terminate): the workflow is cancelled; ready tasks become cancelled, the timer
  job and subscriptions go; the case ends with status ``terminated``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from engine.access import identity
from engine.access.identity import MANAGE_INSTANCES, NotPermitted, has_permission
from engine.execution import projection, runtime, status_counts
from engine.inbox import tasks
from engine.store import history
from engine.store.models import HumanTask, ProcessInstance, User, utcnow

REASON_MAX = 500
MANAGEMENT_ACTIONS = ("suspend", "resume", "terminate")


class ReasonRequired(ValueError):
    def __init__(self, message: str = "请填写原因"):
        super().__init__(message)


class WrongStatus(Exception):
    """The case is not in a status the action applies to (e.g. resuming a running case)."""


_LABELS = {"running": "办理中", "suspended": "已挂起", "completed": "已办结", "terminated": "已终止"}


def _check(session: Session, user: User, reason: str) -> str:
    if not has_permission(session, user, MANAGE_INSTANCES):
        raise NotPermitted("您没有挂起、恢复或终止案件的权限")
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("请填写原因")
    if len(reason) > REASON_MAX:
        raise ReasonRequired(f"原因最多 {REASON_MAX} 个字")
    return reason


def _locked(session: Session, instance_id: int, allowed: tuple[str, ...], verb: str) -> ProcessInstance:
    instance = runtime.lock_instance(session, instance_id)
    if instance.status not in allowed:
        raise WrongStatus(f"案件 {instance.business_key} {_LABELS.get(instance.status, instance.status)}，不能{verb}")
    return instance


def suspend(session: Session, instance_id: int, user: User, reason: str) -> ProcessInstance:
    reason = _check(session, user, reason)
    instance = _locked(session, instance_id, ("running",), "挂起")
    status_counts.move(session, instance, status="suspended")
    runtime.save(runtime.load(session, instance, user))
    projection.set_suspended(session, instance.id, True)
    history.record(session, "suspend", user, instance=instance, details={"reason": reason})
    return instance


def resume(session: Session, instance_id: int, user: User, reason: str) -> ProcessInstance:
    reason = _check(session, user, reason)
    instance = _locked(session, instance_id, ("suspended",), "恢复")
    status_counts.move(session, instance, status="running")
    runtime.save(runtime.load(session, instance, user))
    projection.set_suspended(session, instance.id, False)
    history.record(session, "resume", user, instance=instance, details={"reason": reason})
    return instance


def terminate(session: Session, instance_id: int, user: User, reason: str) -> ProcessInstance:
    reason = _check(session, user, reason)
    instance = _locked(session, instance_id, ("running", "suspended"), "终止")
    action = runtime.load(session, instance, user)
    cancelled = [t.name for t in tasks.ready_tasks(session, instance.id)]
    action.workflow.cancel()
    status_counts.move(session, instance, status="terminated")
    instance.ended_at = utcnow()
    runtime.save(action)  # ready rows of the cancelled tasks become "cancelled"; timer job removed
    history.record(session, "terminate", user, instance=instance,
                   details={"reason": reason, "cancelled_tasks": cancelled})
    return instance


@dataclass
class ManagementEvent:
    at: datetime
    action: str
    actor: str | None
    reason: str


@dataclass
class InstanceSummary:
    instance: ProcessInstance
    ready: list[HumanTask]
    events: list[ManagementEvent]   # start, suspend, resume, terminate, end of this case
    can_manage: bool


def summary(session: Session, user: User, instance_id: int) -> InstanceSummary:
    """What the manage page shows; for anyone who may see dashboards."""
    permissions = identity.require_viewer(session, user)
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise runtime.InstanceNotFound(f"案件 {instance_id} 不存在")
    events = [ManagementEvent(e.at, e.action, e.actor, str(json.loads(e.details or "{}").get("reason") or ""))
              for e in history.events_of(session, instance_id) if e.action in MANAGEMENT_ACTIONS + ("start", "end")]
    return InstanceSummary(instance, tasks.ready_tasks(session, instance_id), events,
                           MANAGE_INSTANCES in permissions)
