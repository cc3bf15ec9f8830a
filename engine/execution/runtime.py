"""Running instances: start, load under lock, run engine steps, save, route messages.

Every public function works inside the caller's transaction. An action locks the
instance row, restores the workflow against the cached spec, acts, runs engine steps
and writes state, inbox projection, timers, subscriptions and audit events. If an
engine step fails, ``EngineStepFailed`` names the element and the caller's rollback
leaves the instance exactly as it was.
"""
from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, event, insert, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, undefer

from engine import hooks
from engine.access.identity import NotPermitted, group_codes, officer_problems
from engine.deploy import repository
from engine.execution import case_counts, case_statistics, compaction, projection, status_counts, task_scan
from engine.execution.errors import EngineStepFailed
from engine.execution.helpers import helpers_for
from engine.sandbox.scripting import format_text, make_script_engine, today
from engine.spec import forms
from engine.spec.serialization import instance_from_json
from engine.spec.state_writer import instance_to_json
from engine.store import db, history
from engine.store.db import JOBS_ANNOUNCE_WITHIN, READ_ONLY, announce_jobs
from engine.store.models import (Group, HumanTask, InstanceLink, Job, MessageSubscription, ProcessDefinition,
                                 ProcessInstance, User, utcnow)

log = logging.getLogger(__name__)
_MAX_MESSAGE_DEPTH = 10
_MAX_ENGINE_ROUNDS = 10


class InstanceNotFound(LookupError):
    pass


class InstanceNotActive(Exception):
    def __init__(self, instance: ProcessInstance):
        labels = {"completed": "已办结", "terminated": "已终止", "suspended": "已挂起"}
        super().__init__(f"案件 {instance.business_key} {labels.get(instance.status, instance.status)}，不能继续办理")


class AlreadyStarted(Exception):
    """The same start form was submitted twice (double click, back button): one case only."""

    def __init__(self, token: str):
        self.token = token
        super().__init__("该案件已经发起，请勿重复提交")


class NoSuchProcess(LookupError):
    def __init__(self, key: str):
        super().__init__(f"流程 “{key}” 尚未部署")


@dataclass
class Action:
    """One instance loaded for one action, with what the action produced along the way."""
    session: Session
    instance: ProcessInstance
    workflow: BpmnWorkflow
    user: User | None
    notifications: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. a deadline counted on a provisional calendar
    depth: int = 0
    is_new: bool = False  # the action that starts the case
    explanation: str | None = None  # why the case went back (a flow's returnReason, a typed 退回 reason)
    ready_rows: set[str] | None = None  # ids of the ready inbox rows: as loaded, then as saved (None: read them)
    finished: set[str] = field(default_factory=set)  # human tasks this action completed (their rows are written)
    recusals: dict[str, str] | None = None  # the case's 回避 (separation.recusals), once read or known to be none

    def attach_engine(self) -> None:
        self.workflow.script_engine = make_script_engine(helpers_for(self))


def _wrap_failure(error: Exception) -> EngineStepFailed:
    task = getattr(error, "task", None)
    spec = getattr(task, "task_spec", None) or getattr(error, "task_spec", None)
    reason = getattr(error, "error_msg", None) or str(error).split("\n")[0] or type(error).__name__
    inner = getattr(error, "exception", None)
    if inner is not None and str(inner) and str(inner) not in reason:
        reason = f"{reason}（{inner}）"
    return EngineStepFailed(getattr(spec, "bpmn_id", None) or getattr(spec, "name", None),
                            getattr(spec, "bpmn_name", None), reason)


def run_engine(action: Action, step=None) -> None:
    """Apply ``step`` (a callable on the workflow) and run engine steps, translating failures."""
    try:
        task_scan.update_waiting_tasks_here(action.workflow)
        if step is not None:
            step(action.workflow)
        task_scan.do_engine_steps(action.workflow)
        # do_engine_steps refreshes timers last, so a timer already due (e.g. a deadline
        # in the past) is READY but not yet run: run until only people have work left.
        for _ in range(_MAX_ENGINE_ROUNDS):
            if next(task_scan.tasks_in(action.workflow, TaskState.READY, manual=False), None) is None:
                break
            task_scan.do_engine_steps(action.workflow)
    except EngineStepFailed:
        raise
    except task_scan.EndlessLoop as e:
        spec = e.task.task_spec
        raise EngineStepFailed(getattr(spec, "bpmn_id", None), getattr(spec, "bpmn_name", None), str(e)) from e
    except (SpiffWorkflowException, WorkflowException) as e:
        raise _wrap_failure(e) from e
    except Exception as e:  # a helper raising (e.g. CalendarUnknown) outside a task context
        raise EngineStepFailed(None, None, f"{type(e).__name__}: {e}") from e


# --- start ----------------------------------------------------------------------

def start(session: Session, process_key: str, user: User | None, data: dict[str, Any] | None = None, *,
          business_key: str | None = None, message: BpmnEvent | None = None,
          source: ProcessInstance | None = None, depth: int = 0, start_token: str | None = None) -> ProcessInstance:
    """Start a case on the latest version of ``process_key``.

    Started by hand, only the process's none start event runs; started by a message,
    only the start event catching that message. ``start_token`` identifies one submission
    of a start form: a second submission raises ``AlreadyStarted``.
    """
    if start_token and session.scalar(select(ProcessInstance.id).where(ProcessInstance.start_token == start_token)):
        raise AlreadyStarted(start_token)
    definition = repository.latest_definition(session, process_key)
    if definition is None:
        raise NoSuchProcess(process_key)
    spec, subprocess_specs = repository.specs_of(session, definition)
    if message is None and user is not None and not may_start(user, definition):
        raise NotPermitted(f"您的岗位不能发起“{definition.name}”")
    if message is None:  # by hand: the start form's fields are checked and typed like a task form
        form = start_form(spec)
        data = {**(data or {}), **forms.validate(form, data or {}, {})}
        problems = officer_problems(session, form, data, today())
        if problems:
            raise forms.FormInvalid(problems, data)
    business_key = business_key or hooks.business_key(session, process_key)
    instance = ProcessInstance(definition_id=definition.id, process_key=process_key, business_key=business_key,
                               title="", state="", started_by=user.id if user else None,
                               department_code=source.department_code if source else
                               (user.department_code if user else None), start_token=start_token or None)
    instance.definition = definition
    session.add(instance)
    try:
        session.flush()
    except IntegrityError as e:  # a concurrent twin of this submission committed first
        if start_token:
            raise AlreadyStarted(start_token) from e
        raise
    status_counts.move(session, instance, new=True)  # before save(), which may complete it at once
    workflow = BpmnWorkflow(spec, subprocess_specs)
    action = Action(session, instance, workflow, user, depth=depth, is_new=True, ready_rows=set())
    action.attach_engine()
    initial = {**(data or {}), "business_key": business_key}
    workflow.task_tree.data.update(initial)
    run_engine(action, lambda wf: _choose_start_event(wf, message))
    if message is not None:
        run_engine(action, lambda wf: wf.send_event(message))
    history.record(session, "start", user, instance=instance, details={
        "process": f"{definition.key}:{definition.version}", "data": data or {},
        "message": message.event_definition.name if message else None,
        "source": source.business_key if source else None})
    save(action)
    case_counts.started(session, instance)  # last: concurrent starts wait on the day's row as briefly as may be
    if source is None:
        _set_handling_department(session, instance)
    return instance


def _set_handling_department(session: Session, instance: ProcessInstance) -> None:
    """The case's 承办部门 is the department whose posts got its first steps (a 危废 permit
    accepted at another window is 危废与辐射股's), not necessarily the starter's."""
    groups = {g for row in session.scalars(select(HumanTask.candidate_groups).where(
        HumanTask.instance_id == instance.id, HumanTask.state == "ready")) for g in row.split(",") if g}
    departments = set(session.scalars(select(Group.department_code).where(Group.code.in_(groups)))) if groups else set()
    if len(departments) == 1:
        instance.department_code = departments.pop()
        session.flush()


def started_by_token(session: Session, token: str) -> ProcessInstance | None:
    return session.scalar(select(ProcessInstance).where(ProcessInstance.start_token == token))


def may_start(user: User, definition: ProcessDefinition) -> bool:
    """camunda:candidateStarterGroups / candidateStarterUsers (stored as ``user:<name>``), or
    by default the posts of the process's first steps; a process naming none is open to all."""
    starters = {g for g in definition.starter_groups.split(",") if g}
    return not starters or bool(starters & (group_codes(user) | {f"user:{user.username}"}))


def startable(session: Session, user: User) -> list[ProcessDefinition]:
    """Latest processes this user may start by hand: with a none start event, not hidden
    from the start page (camunda:isStartableInTasklist="false", e.g. called sub-processes)."""
    out = []
    for d in repository.latest_processes(session):
        spec, _ = repository.specs_of(session, d)
        if d.in_tasklist and may_start(user, d) and any(_starts_on_none(ts) for ts in spec.task_specs.values()):
            out.append(d)
    return out


def start_form(spec) -> forms.Form:
    """The form of the process's none start event (empty if it has none)."""
    for ts in spec.task_specs.values():
        if _starts_on_none(ts):
            return forms.form_of(ts)
    return forms.Form([])


def _starts_on_none(task_spec) -> bool:
    parents = {p.name for p in getattr(task_spec, "inputs", [])}
    return bool(parents & {"Start", "StartEventSplit"}) and hasattr(task_spec, "event_definition") \
        and _starts_on(task_spec, None)


def _choose_start_event(workflow: BpmnWorkflow, message: BpmnEvent | None) -> None:
    wanted = message.event_definition.name if message else None
    for task in list(workflow.get_tasks(state=TaskState.READY)):
        if task.task_spec.name in ("Start", "StartEventSplit"):
            task.run()
    start_events = [t for t in workflow.get_tasks() if t.parent is not None
                    and t.parent.task_spec.name in ("Start", "StartEventSplit")
                    and hasattr(t.task_spec, "event_definition")]
    keep = [t for t in start_events if _starts_on(t.task_spec, wanted)]
    if not keep:
        raise WorkflowException("该流程没有" + (f"接收消息 {wanted} 的开始事件" if wanted else "可手动启动的（空）开始事件"))
    for task in start_events:
        if task not in keep and not task.has_state(TaskState.FINISHED_MASK):
            task.cancel()


def _starts_on(task_spec, message_name: str | None) -> bool:
    definition = task_spec.event_definition
    if message_name is None:
        return type(definition).__name__ == "NoneEventDefinition"
    return isinstance(definition, MessageEventDefinition) and definition.name == message_name


# --- load and save ------------------------------------------------------------------

# A case is locked FOR NO KEY UPDATE, not FOR UPDATE: rows of other transactions that refer to it (an
# audit row, a comment) need not wait for it. An audit row is written holding the chain's head
# (engine/store/chain.py): waiting there would hold up every writer, or deadlock with the case's holder.
CASE_LOCK = {"of": ProcessInstance, "key_share": True}


def lock_instance(session: Session, instance_id: int) -> ProcessInstance:
    """The instance row, locked until the transaction ends (SQLite: the write transaction is)."""
    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id)
                              .with_for_update(**CASE_LOCK).options(undefer(ProcessInstance.state))
                              .execution_options(populate_existing=True))
    if instance is None:
        raise InstanceNotFound(f"案件 {instance_id} 不存在")
    return instance


class _Restored:
    """Workflows as the last committed action in this process left them, by (database,
    instance), each with the state text it was saved as. An action holding the case lock
    takes its workflow from here instead of restoring it when the row's state is still
    that text (same bytes: exactly what a restore would build); only committed saves are
    put back, so a rolled-back action never leaves its half-done workflow behind."""

    def __init__(self, size: int = 256):
        self._items: OrderedDict[tuple[str, int], tuple[str, BpmnWorkflow]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def take(self, key: tuple[str, int], state: str, spec) -> BpmnWorkflow | None:
        with self._lock:
            saved = self._items.pop(key, None)  # the action owns it now; a second taker restores its own
        if saved is None or saved[1].spec is not spec or saved[0] != state:
            return None
        return saved[1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def put(self, key: tuple[str, int], state: str, workflow: BpmnWorkflow) -> None:
        with self._lock:
            self._items[key] = (state, workflow)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_restored = _Restored()
_SAVED = "zhifa_saved_workflows"
_READ = "zhifa_read_workflows"  # restored for reading, by instance id, with their state text
_LENT = "zhifa_lent_workflows"  # taken from _restored by a read-only session, to go back when it ends


@event.listens_for(Session, "after_commit")
def _keep_saved(session: Session) -> None:
    session.info.pop(_READ, None)
    for key, (state, workflow) in session.info.pop(_SAVED, {}).items():
        _restored.put(key, state, workflow)


@event.listens_for(Session, "after_rollback")
def _drop_saved(session: Session) -> None:
    session.info.pop(_SAVED, None)
    session.info.pop(_READ, None)


@event.listens_for(Session, "after_transaction_end")
def _return_lent(session: Session, transaction) -> None:
    """A page read a case's workflow from the kept ones: it goes back for the next action if
    the page left it as it was saved (written again, the same text; the kept tasks' texts make
    that cheap), else it is dropped."""
    if transaction.parent is not None:
        return
    for key, (state, workflow) in session.info.pop(_LENT, {}).items():
        if instance_to_json(workflow) == state:
            _restored.put(key, state, workflow)


def _cache_key(session: Session, instance: ProcessInstance) -> tuple[str, int]:
    return str(session.get_bind().url), instance.id


def load(session: Session, instance: ProcessInstance, user: User | None, depth: int = 0) -> Action:
    definition = session.get(ProcessDefinition, instance.definition_id)
    spec, subprocess_specs = repository.specs_of(session, definition)
    found = inspect(instance)
    if found.session is session and "state" not in found.unloaded:
        state = instance.state  # read with the lock (lock_instance undefers it)
        workflow = _restored.take(_cache_key(session, instance), state, spec)
        if workflow is None:
            workflow = instance_from_json(state, spec, subprocess_specs)
    else:  # deferred, or a row from another session that may be out of date
        # A page reads the case several times (task, summary, 文书, 笔录): restore it once per
        # session, and in a read-only session read it once (the page shows one state of the case).
        # Never shared between sessions: each Action attaches its own engine.
        state, workflow = session.info.setdefault(_READ, {}).get(instance.id, (None, None))
        if workflow is not None and workflow.spec is not spec:
            workflow = None
        if workflow is None or not session.info.get(READ_ONLY):
            fresh = session.scalar(select(ProcessInstance.state).where(ProcessInstance.id == instance.id))
            if fresh != state:
                workflow = None
            state = fresh
        if workflow is None and session.info.get(READ_ONLY):  # lent while the page is made
            key = _cache_key(session, instance)
            workflow = _restored.take(key, state, spec)
            if workflow is not None:
                session.info.setdefault(_LENT, {})[key] = (state, workflow)
        if workflow is None:
            workflow = instance_from_json(state, spec, subprocess_specs)
        session.info[_READ][instance.id] = (state, workflow)
    action = Action(session, instance, workflow, user, depth=depth,
                    ready_rows={str(t.id) for t in projection.ready_human_tasks(workflow)})
    action.attach_engine()
    return action


def act(session: Session, instance_id: int, user: User | None, *, allow_suspended: bool = False) -> Action:
    """Lock and load a running instance for one action."""
    instance = lock_instance(session, instance_id)
    if instance.status != "running" and not (allow_suspended and instance.status == "suspended"):
        raise InstanceNotActive(instance)
    return load(session, instance, user)


def case_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The case's current variables: the data of its ready tasks over the last completed one."""
    data: dict[str, Any] = {}
    if workflow.last_task is not None:
        data.update(workflow.last_task.data)
    ready = list(task_scan.tasks_in(workflow, TaskState.READY))
    if len(ready) > 1:  # the tree's order decides which branch's value is shown
        ready = workflow.get_tasks(state=TaskState.READY)
    for task in ready:
        data.update(task.data)
    return data


def save(action: Action) -> None:
    """Write state and everything derived from it; route thrown messages."""
    instance, workflow, session = action.instance, action.workflow, action.session
    now = utcnow()
    data = case_data(workflow)
    old_title, old_timer = instance.title, instance.next_timer_at
    completing = task_scan.is_completed(workflow) and instance.status == "running"
    instance.title = str(data.get("party_name") or data.get("case_title") or instance.title or "")[:300]
    if completing:
        status_counts.move(session, instance, status="completed")
        instance.ended_at = now
        history.record(session, "end", None, instance=instance)
    events = workflow.get_events()  # taken out before the state is written, so never routed twice
    instance.updated_at = now
    instance.next_timer_at = _next_timer(instance, workflow)
    # The rows derived from the workflow first: on PostgreSQL the server writes them (the search
    # grams are the costliest) while the state is serialized below (engine/store/pipeline.py)
    projection.sync(action, now, title_changed=instance.title != old_title)
    if action.warnings:
        history.record(session, "warning", None, instance=instance, details={"warnings": action.warnings})
    _sync_timer(session, instance, old_timer, now)
    _sync_subscriptions(session, instance, workflow)
    compaction.compact(workflow)  # a loop's earlier passes: their steps are in the audit
    instance.state = instance_to_json(workflow)
    db.write_changes(session, instance)  # sent with the action's other writes
    session.info.setdefault(_SAVED, {})[_cache_key(session, instance)] = (instance.state, workflow)
    session.flush()
    if completing:
        case_statistics.record_case(session, instance)
        case_counts.completed(session, instance)
    for thrown in events:
        route(action, thrown)


_TIMER_EVENTS = ("TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition")


def _next_timer(instance: ProcessInstance, workflow: BpmnWorkflow) -> datetime | None:
    due = [datetime.fromisoformat(str(e.value)) for e in workflow.waiting_events()
           if e.event_type in _TIMER_EVENTS and e.value]
    return min(due) if due and instance.status == "running" else None


def _sync_timer(session: Session, instance: ProcessInstance, previous: datetime | None, now: datetime) -> None:
    """Keep one timer job per case, due at its earliest waiting timer. The job exists iff
    next_timer_at is set, so the previous value says whether to insert, move or delete it
    without reading it first. Workers sleep at most JOBS_ANNOUNCE_WITHIN: only a job due
    sooner is announced."""
    due = instance.next_timer_at
    if previous is None and due is None:
        return
    this_case = (Job.kind == "timer", Job.instance_id == instance.id)
    if due is None:
        db.write(session, delete(Job).where(*this_case))
        return
    if previous is None:
        db.write(session, insert(Job).inline().values(kind="timer", instance_id=instance.id, due_at=due,
                                                    status="pending", attempts=0))
    else:  # moved, or fired by a worker (its lease ends), or failed before: pending again
        db.write(session, update(Job).where(*this_case, or_(Job.due_at != due, Job.status != "pending",
                                                          Job.locked_by.is_not(None)))
                        .values(due_at=due, status="pending", locked_by=None, locked_until=None))
    if due != previous and (due - now).total_seconds() <= JOBS_ANNOUNCE_WITHIN:
        announce_jobs(session)


def _sync_subscriptions(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow) -> None:
    if not _catches_messages(workflow.spec, workflow.subprocess_specs):
        return  # nothing to subscribe, nothing ever subscribed
    session.execute(delete(MessageSubscription).where(MessageSubscription.instance_id == instance.id))
    names = set() if instance.status != "running" else {
        e.name for e in workflow.waiting_events() if e.event_type == "MessageEventDefinition" and e.name}
    session.add_all(MessageSubscription(instance_id=instance.id, message=n) for n in sorted(names))


_catching: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _catches_messages(spec, subprocess_specs: dict) -> bool:
    """Whether a process can wait for a message after it started (cached per spec object)."""
    if spec not in _catching:
        _catching[spec] = any(
            isinstance(getattr(ts, "event_definition", None), MessageEventDefinition)
            and type(ts).__name__ not in ("StartEvent", "IntermediateThrowEvent", "EndEvent")
            for s in [spec, *subprocess_specs.values()] for ts in s.task_specs.values())
    return _catching[spec]


# --- messages between instances ---------------------------------------------------------

def _result_var(spec, subprocess_specs: dict, name: str) -> str | None:
    """The camunda:resultVariable of the event catching ``name`` (Camunda puts the payload there)."""
    for spec in [spec, *subprocess_specs.values()]:
        for ts in spec.task_specs.values():
            definition = getattr(ts, "event_definition", None)
            if isinstance(definition, MessageEventDefinition) and definition.name == name and definition.result_var:
                return definition.result_var
    return None


def route(action: Action, event: BpmnEvent) -> None:
    """Deliver a message thrown by ``action``'s instance to the case it names, or start one."""
    definition = event.event_definition
    if not isinstance(definition, MessageEventDefinition):
        return
    if action.depth >= _MAX_MESSAGE_DEPTH:
        raise EngineStepFailed(None, None, f"消息 {definition.name} 转发层数过多，疑似循环")
    session, source = action.session, action.instance
    payload = event.payload.get("payload") if isinstance(event.payload, dict) else event.payload
    if isinstance(payload, dict):
        payload = {**payload, "source_business_key": source.business_key}
    target_key = payload.get("correlation_key") if isinstance(payload, dict) else None
    if target_key:
        target = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == str(target_key)))
        if target is None or session.get(MessageSubscription, (target.id, definition.name)) is None:
            raise EngineStepFailed(None, None, f"案件 {target_key} 不存在或没有在等待消息 {definition.name}")
        target_action = load(session, lock_instance(session, target.id), action.user, depth=action.depth + 1)
        message = BpmnEvent(MessageEventDefinition(definition.name),
                            {"payload": payload, "result_var": _result_var(target_action.workflow.spec, target_action.workflow.subprocess_specs, definition.name)})
        run_engine(target_action, lambda wf: wf.send_event(message))
        history.record(session, "message_received", action.user, instance=target,
                       details={"message": definition.name, "from": source.business_key})
        save(target_action)
    else:
        target = start_by_message(session, definition.name, payload, action.user, source=source,
                                  depth=action.depth + 1)
    session.add(InstanceLink(source_id=source.id, target_id=target.id, message=definition.name))
    history.record(session, "message_sent", action.user, instance=source,
                   details={"message": definition.name, "to": target.business_key})


def start_by_message(session: Session, name: str, payload: Any, user: User | None, *,
                     source: ProcessInstance | None = None, depth: int = 0) -> ProcessInstance:
    """Start a case of the latest process whose message start event catches ``name``, the payload in
    that event's result variable (from another case, or from a domain package such as a batch draw)."""
    receivers = [d for d in repository.latest_processes(session) if name in d.start_messages.split(",")]
    if not receivers:
        raise EngineStepFailed(None, None, f"没有流程接收消息 {name}")
    spec, subs = repository.specs_of(session, receivers[0])
    message = BpmnEvent(MessageEventDefinition(name), {"payload": payload, "result_var": _result_var(spec, subs, name)})
    return start(session, receivers[0].key, user, message=message, source=source, depth=depth)


def linked_instances(session: Session, instance_id: int) -> list[tuple[str, InstanceLink, ProcessInstance]]:
    """("to" | "from", link, other instance) for every message link of a case."""
    out = []
    for link in session.scalars(select(InstanceLink).where(
            (InstanceLink.source_id == instance_id) | (InstanceLink.target_id == instance_id)).order_by(InstanceLink.id)):
        outgoing = link.source_id == instance_id
        other = session.get(ProcessInstance, link.target_id if outgoing else link.source_id)
        out.append(("to" if outgoing else "from", link, other))
    return out


def completed_ids(workflow: BpmnWorkflow) -> set[UUID]:
    return {t.id for t in task_scan.tasks_in(workflow, TaskState.COMPLETED)}


def flow_reasons(workflow: BpmnWorkflow, before: set[UUID]) -> list[str]:
    """The ``returnReason`` of every flow taken since ``before`` (the completed task ids), filled with case data."""
    out = []
    taken = (t for t in task_scan.tasks_in(workflow, TaskState.COMPLETED) if t.id not in before)
    for task in sorted(taken, key=lambda t: t.last_state_change):  # in the order they were taken
        reasons = (getattr(task.task_spec, "extensions", None) or {}).get("flowReasons")
        if not reasons:
            continue
        for child in task.children:
            # a task with boundary events is entered through its "<id>.BoundaryEventSplit"
            target = getattr(child.task_spec, "bpmn_id", None) or child.task_spec.name.removesuffix(".BoundaryEventSplit")
            template = reasons.get(target)
            if template and not child.has_state(TaskState.CANCELLED):
                text = format_text(template, task.data)
                if text not in out:
                    out.append(text)
    return out


def spiff_task(action: Action, task_id: str):
    return action.workflow.get_task_from_id(UUID(task_id))


def fire_timers(session: Session, instance_id: int) -> None:
    """Fire every due timer of a case (called by the worker for its job)."""
    action = act(session, instance_id, None)
    before = {t.id for t in action.workflow.get_tasks(state=TaskState.WAITING)}
    run_engine(action, lambda wf: wf.refresh_timers())
    fired = [t for t in action.workflow.get_tasks() if t.id in before and not t.has_state(TaskState.WAITING)]
    history.record(session, "timer", None, instance=action.instance,
                   details={"fired": [t.task_spec.bpmn_name or t.task_spec.name for t in fired],
                            "at": datetime.now(timezone.utc).isoformat()})
    save(action)
