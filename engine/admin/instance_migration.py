"""Moving running cases of a process to a newer version (instance migration).

Running cases keep the version they started on. When legal staff fix a form field, a
condition or a deadline, ``plan`` lists which running cases could move to the new
version and which cannot (and why); ``migrate`` moves the movable ones, each under its
row lock, audited.

How: an instance's state names its task specs by id. A case can move when every task
it has done or is doing (ready human tasks, waiting timers and messages, running
subprocesses) still exists in the new version with the same kind. Its predicted future
(tasks not reached yet) is dropped and predicted again from the new version, so the
case continues along the new diagram. The state is then restored against the new
spec and saved like any action (projection, timers, subscriptions).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from engine.access import identity
from engine.admin import catalog
from engine.deploy import repository
from engine.execution import projection, runtime, status_counts
from engine.spec.serialization import instance_from_json, serializer
from engine.store import db, history
from engine.store.models import HumanTask, ProcessDefinition, ProcessInstance, TaskCandidate, User, utcnow

_PRUNABLE = TaskState.PREDICTED_MASK | TaskState.FUTURE
_UNFINISHED = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass
class Candidate:
    instance: ProcessInstance
    from_version: int
    current: list[str] = field(default_factory=list)  # names of the current steps
    reason: str | None = None  # why it cannot move


@dataclass
class MigrationPlan:
    key: str
    target: ProcessDefinition
    movable: list[Candidate] = field(default_factory=list)
    refused: list[Candidate] = field(default_factory=list)
    moved: bool = False


def require_migrator(session: Session, user: User | None) -> None:
    """Legal staff (deploy) and managers (manage) may move cases; the console (user None) may."""
    if user is None:
        return
    perms = identity.permissions_of(session, user)
    if not perms & {identity.DEPLOY, identity.MANAGE_INSTANCES}:
        raise identity.NotPermitted("只有法制股或管理人员可以迁移案件到新版本")


def _label(spec, name: str, quoted: bool = True) -> str:
    ts = spec.task_specs.get(name) if spec is not None else None
    shown = getattr(ts, "bpmn_name", None) or getattr(ts, "bpmn_id", None) or name
    q = ("“", "”") if quoted else ("", "")
    return f"{q[0]}{shown}{q[1]}（{getattr(ts, 'bpmn_id', None) or name}）" if shown != name else f"{q[0]}{name}{q[1]}"


def _workflows(dct: dict, spec, subprocess_specs: dict):
    """(tasks dict, spec or None, spec name) of the top workflow and each subprocess."""
    yield dct["tasks"], spec, spec.name
    for sub in dct.get("subprocesses", {}).values():
        yield sub["tasks"], subprocess_specs.get(sub.get("spec")), sub.get("spec")


def _analyse(state: str, old_specs: tuple, new_specs: tuple, version: int) -> tuple[dict, list[str], str | None]:
    """(state dict with the predicted future dropped, current step names, reason it cannot move)."""
    dct = json.loads(state)
    serializer.migrate(dct)
    old_spec, old_subs = old_specs
    new_spec, new_subs = new_specs
    current: list[str] = []
    reason = None
    missing_now: list[str] = []
    missing_done: list[str] = []
    old_by_name = {old_spec.name: old_spec, **old_subs}
    for tasks, spec, spec_name in _workflows(dct, new_spec, new_subs):
        old = old_by_name.get(spec_name)
        if spec is None:
            reason = reason or f"子流程 “{spec_name}” 在第 {version} 版中不存在"
            continue
        prune = set()
        for task_id, t in tasks.items():
            parent = tasks.get(t.get("parent") or "")
            if t["state"] & _PRUNABLE and not t.get("triggered") and (
                    parent is None or parent["state"] & _UNFINISHED or parent["id"] in prune):
                prune.add(task_id)
        for task_id, t in tasks.items():
            if task_id in prune:
                continue
            name = t["task_spec"]
            if t["state"] & _UNFINISHED and name in old.task_specs and getattr(old.task_specs[name], "bpmn_id", None):
                current.append(_label(old, name, quoted=False))
            new_ts = spec.task_specs.get(name)
            shown = _label(old, name.split(".")[0] if "." in name and name.split(".")[0] in old.task_specs else name)
            if new_ts is None:
                (missing_now if t["state"] & _UNFINISHED else missing_done).append(
                    f"{'当前环节' if t['state'] & _UNFINISHED else '已办环节'}{shown}在第 {version} 版中已不存在")
            elif old is not None and name in old.task_specs and type(old.task_specs[name]) is not type(new_ts):
                missing_now.append(f"环节{shown}在第 {version} 版中类型已改变")
        for task_id in prune:
            del tasks[task_id]
        for t in tasks.values():
            t["children"] = [c for c in t["children"] if c not in prune]
        for t in tasks.values():
            if t["state"] & _UNFINISHED and not t["children"]:
                t["_repredict"] = True
    found = missing_now + missing_done
    return dct, current, reason or (found[0] if found else None)


def plan(session: Session, key: str, to_version: int, user: User | None = None,
         instance_ids: list[int] | None = None) -> MigrationPlan:
    """What migrating the running cases of ``key`` on older versions to ``to_version`` would do."""
    require_migrator(session, user)
    target = catalog.process_version(session, key, to_version)
    new_specs = repository.specs_of(session, target)
    result = MigrationPlan(key, target)
    query = (select(ProcessInstance).join(ProcessDefinition, ProcessInstance.definition_id == ProcessDefinition.id)
             .where(ProcessInstance.process_key == key, ProcessInstance.status.in_(("running", "suspended")),
                    ProcessDefinition.version < to_version).order_by(ProcessInstance.id))
    if instance_ids is not None:
        query = query.where(ProcessInstance.id.in_(instance_ids))
    for instance in session.scalars(query):
        old = session.get(ProcessDefinition, instance.definition_id)
        state = session.scalar(select(ProcessInstance.state).where(ProcessInstance.id == instance.id))
        _, current, reason = _analyse(state, repository.specs_of(session, old), new_specs, to_version)
        candidate = Candidate(instance, old.version, current, reason)
        (result.refused if reason else result.movable).append(candidate)
    return result


def migrate(session: Session, key: str, to_version: int, user: User | None = None,
            instance_ids: list[int] | None = None) -> MigrationPlan:
    """Move every movable case (see ``plan``); refused ones are left as they are."""
    result = plan(session, key, to_version, user, instance_ids)
    target = result.target
    new_spec, new_subs = repository.specs_of(session, target)
    for candidate in result.movable:
        instance = runtime.lock_instance(session, candidate.instance.id)
        old = session.get(ProcessDefinition, instance.definition_id)
        state = session.scalar(select(ProcessInstance.state).where(ProcessInstance.id == instance.id))
        dct, _, reason = _analyse(state, repository.specs_of(session, old), (new_spec, new_subs), to_version)
        if reason:  # changed since the plan was read
            candidate.reason = reason
            continue
        repredict = [t["id"] for tasks, _, _ in _workflows(dct, new_spec, new_subs)
                     for t in tasks.values() if t.pop("_repredict", False)]
        dct[serializer.VERSION_KEY] = serializer.VERSION  # migrate() took it off
        workflow = instance_from_json(json.dumps(dct), new_spec, new_subs)
        for task_id in repredict:
            task = workflow.get_task_from_id(UUID(task_id))
            task.task_spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)
        status_counts.move(session, instance, definition_id=target.id)
        instance.definition = target
        action = runtime.Action(session, instance, workflow, user)
        action.attach_engine()
        _refresh_ready_rows(action)
        history.record(session, "migrate", user, instance=instance, details={
            "from": f"{key}:{old.version}", "to": f"{key}:{target.version}", "current": candidate.current})
        runtime.save(action)
    result.refused += [c for c in result.movable if c.reason]
    result.movable = [c for c in result.movable if not c.reason]
    result.moved = True
    return result


def _refresh_ready_rows(action: runtime.Action) -> None:
    """Ready inbox rows take the new version's name and candidates; claims and due dates stay."""
    session, now = action.session, utcnow()
    for task in projection.ready_human_tasks(action.workflow):
        row = session.get(HumanTask, str(task.id))
        if row is None or row.state != "ready":
            continue
        fresh, groups, users = projection._row(action, task, now)
        row.name, row.lane = fresh.name, fresh.lane
        row.candidate_groups, row.candidate_users = fresh.candidate_groups, fresh.candidate_users
        session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == row.id))
        session.flush()
        db.write(session, insert(TaskCandidate), projection.candidates(row, groups, users))
