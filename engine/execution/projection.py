"""The inbox projection: one row per human task, kept in step with the workflow.

Rows of tasks that became ready are inserted with their candidate groups, assignee,
due date and priority evaluated on the task's data; rows of tasks that vanished
without being completed (a boundary timer interrupted them, the case ended) are
marked cancelled. Completed rows are written by ``tasks.complete``.
"""
from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Integer, any_, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.execution import separation
from engine.execution.errors import EngineStepFailed
from engine.execution.task_scan import tasks_in
from engine.sandbox.expressions import due_value
from engine.spec import forms
from engine.store import db, search_index
from engine.store.models import NO_DUE, CaseDepartment, Group, HumanTask, Notification, TaskCandidate, TaskExclusion

if TYPE_CHECKING:
    from engine.execution.runtime import Action

log = logging.getLogger(__name__)
_TASK_COLUMNS = HumanTask.__table__.columns
# Built once: building a statement cost more than running it
_INSERT_TASKS, _INSERT_CANDIDATES, _INSERT_EXCLUSIONS = insert(HumanTask), insert(TaskCandidate), insert(TaskExclusion)
_DELETE_CANDIDATES = delete(TaskCandidate).where(TaskCandidate.task_id.in_(bindparam("ids", expanding=True)))


def ready_human_tasks(workflow) -> list:
    return list(tasks_in(workflow, TaskState.READY, manual=True))


def attribute(action: Action, task, name: str) -> Any:
    """A camunda task attribute (assignee, dueDate …) evaluated on the task's data."""
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
        groups = _as_list(attribute(action, task, "candidateGroups")) or _as_list(spec.lane)
        users = _as_list(attribute(action, task, "candidateUsers"))
        assignee = attribute(action, task, "assignee")
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
        priority = attribute(action, task, "priority")
        row.priority = max(0, min(100, int(priority))) if priority not in (None, "") else 50
    except (TypeError, ValueError):
        row.priority = 50
    for attr, column in (("dueDate", "due_at"), ("followUpDate", "follow_up_at")):
        try:
            value = attribute(action, task, attr)
            if value not in (None, ""):
                setattr(row, column, due_value(value, now))
        except Exception as e:  # e.g. a year the working-day calendar does not know yet
            problems.append(f"期限无法计算：{e}")
            log.warning("case %s task %s: %s cannot be computed: %s", action.instance.business_key, row.element_id, attr, e)
    row.problem = "；".join(problems + action.warnings)[:500] or None
    if action.explanation:  # the case came back here: why, who, when (shown at the top of the task)
        row.return_reason, row.returned_at = action.explanation, now
        row.returned_by = action.user.username if action.user else None
    return row, groups, users


def sync(action: Action, now: datetime, title_changed: bool = False) -> None:
    session, instance = action.session, action.instance
    ready = {str(t.id): t for t in ready_human_tasks(action.workflow)}
    if action.ready_rows is not None:  # rows are ready iff the loaded state's tasks were: no need to read them
        known = action.ready_rows - action.finished
    else:
        known = set(session.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance.id,
                                                               HumanTask.state == "ready")))
    vanished = known - ready.keys()
    if vanished:
        session.execute(update(HumanTask).where(HumanTask.id.in_(vanished)).values(state="cancelled", completed_at=now))
        ended(session, vanished)
    new_groups: set[str] = set()
    fresh = ready.keys() - known
    if fresh and action.recusals is None:
        action.recusals = separation.recusals(session, instance.id)

    def labels():  # only a rule naming an officers field needs the field labels (they cost a pass over every form)
        return forms.variable_labels([action.workflow.spec, *action.workflow.subprocess_specs.values()])
    rows, indexed, exclusions = [], [], []
    for task_id in fresh:
        row, groups, users = _row(action, ready[task_id], now)
        barred = separation.excluded(session, instance.id, row.name, ready[task_id].task_spec, ready[task_id].data,
                                     labels, action.recusals)
        if row.assignee in barred:  # an assignee expression naming someone the rules exclude: offer it to the post
            row.assignee = None
        rows.append({c.key: getattr(row, c.key) for c in _TASK_COLUMNS})
        indexed += candidates(row, groups, users)
        exclusions += [{"task_id": row.id, "username": u, "reason": r[:500]} for u, r in barred.items()]
        new_groups.update(groups)
        if row.return_reason:
            _tell_previous_handler(session, instance, row)
    db.write(session, _INSERT_TASKS, rows)  # in this order: the index rows refer to the task's
    db.write(session, _INSERT_CANDIDATES, indexed)
    db.write(session, _INSERT_EXCLUSIONS, exclusions)
    if new_groups or action.is_new:
        _involve_departments(session, instance, new_groups, action.is_new)
    if title_changed and instance.title:
        session.execute(update(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.title != instance.title)
                        .values(title=instance.title))
    _index_case(action, title_changed)
    session.add_all(Notification(recipient=r, text=t, instance_id=instance.id) for r, t in action.notifications)
    action.notifications.clear()
    action.ready_rows, action.finished = set(ready), set()  # what the rows are now, should it be saved again


def _index_case(action: Action, title_changed: bool) -> None:
    """The case's search grams: from its start while it is open, renewed when it is renamed."""
    session, instance = action.session, action.instance
    if instance.status in ("completed", "terminated"):
        if not action.is_new:
            search_index.remove(session, instance.id)
        return
    if title_changed and not action.is_new:
        search_index.remove(session, instance.id)
    if action.is_new or title_changed:
        search_index.add(session, [(instance.id, instance.business_key, instance.title)])


def _tell_previous_handler(session: Session, instance, row: HumanTask) -> None:
    """通知 whoever last did this step of the case that it came back, and why."""
    previous = session.scalar(select(HumanTask.completed_by).where(
        HumanTask.instance_id == instance.id, HumanTask.element_id == row.element_id, HumanTask.state == "completed")
        .order_by(HumanTask.completed_at.desc()).limit(1))
    if previous and previous != row.returned_by:
        session.add(Notification(recipient=previous, instance_id=instance.id,
                                 text=f"“{row.name}”（{row.business_key}）被退回：{row.return_reason}"))


def candidates(row: HumanTask, groups: list[str], users: list[str]) -> list[dict]:
    """The 岗位待办 index rows of a ready task, carrying its sort keys."""
    keys = {"task_id": row.id, "claimable": row.assignee is None and not row.suspended,
            "due_key": row.due_at or NO_DUE, "created_at": row.created_at, "suspended": row.suspended}
    return ([{**keys, "kind": "group", "value": g} for g in dict.fromkeys(groups)]
            + [{**keys, "kind": "user", "value": u} for u in dict.fromkeys(users)])


def ended(session: Session, task_ids) -> None:
    """A task completed or cancelled leaves the 岗位待办 index (its row keeps its candidates for display)."""
    db.write(session, _end_statement(session.get_bind().dialect.name), [{"ids": list(task_ids)}])


@functools.cache
def _end_statement(dialect: str):
    if dialect == "postgresql":
        return delete(TaskCandidate).where(_any_of(TaskCandidate.task_id, "ids"))
    return _DELETE_CANDIDATES


def _any_of(column, name: str):
    """``column`` is one of the list bound as ``name`` (PostgreSQL: one array parameter, so the
    statement's text is the same for every length and is compiled once, engine/store/pipeline.py)."""
    return column == any_(bindparam(name, type_=ARRAY(column.type)))


def set_claimable(session: Session, task_id: str, claimable: bool) -> None:
    """Claimed, delegated or given back: the task leaves or re-enters its posts' 岗位待办."""
    session.execute(update(TaskCandidate).where(TaskCandidate.task_id == task_id).values(claimable=claimable))


def _involve_departments(session: Session, instance, groups: set[str], is_new: bool) -> None:
    """The departments of the task's posts (and the starter's) may see the case: added if not there, in
    one statement per kind without reading what is there."""
    by_posts, starters = _department_upserts(session.get_bind().dialect.name)
    if groups:
        db.write(session, by_posts, [{"instance_id": instance.id, "groups": sorted(groups)}])
    if is_new and instance.department_code:
        db.write(session, starters, [{"instance_id": instance.id, "department_code": instance.department_code}])


@functools.cache
def _department_upserts(dialect: str):
    pg = dialect == "postgresql"
    upsert = (postgresql_insert if pg else sqlite_insert)(CaseDepartment)
    of_groups = _any_of(Group.code, "groups") if pg else Group.code.in_(bindparam("groups", expanding=True))
    return (upsert.from_select(["instance_id", "department_code"], select(
                bindparam("instance_id", type_=Integer), Group.department_code)
                .where(of_groups).distinct()).on_conflict_do_nothing(),
            upsert.on_conflict_do_nothing())


def set_suspended(session: Session, instance_id: int, suspended: bool) -> None:
    session.execute(update(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "ready")
                    .values(suspended=suspended))
    ready = select(HumanTask.id).where(HumanTask.instance_id == instance_id, HumanTask.state == "ready")
    session.execute(update(TaskCandidate).where(TaskCandidate.task_id.in_(ready)).values(suspended=suspended))
    unclaimed = ready.where(HumanTask.assignee.is_(None))
    session.execute(update(TaskCandidate).where(TaskCandidate.task_id.in_(unclaimed)).values(claimable=not suspended))


def set_due(session: Session, row: HumanTask, due: datetime | None) -> None:
    """A ready task's due time changed (recomputed on a newly entered calendar): its index rows follow."""
    row.due_at = due
    session.execute(update(TaskCandidate).where(TaskCandidate.task_id == row.id).values(due_key=due or NO_DUE))
