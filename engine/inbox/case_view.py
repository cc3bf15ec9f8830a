"""The case page: everything known about one case, for someone allowed to see it.

Header facts, the deployed diagram with completed and current elements, the history
timeline with submitted values (labelled as the forms label them), comments,
attachments and linked cases.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from engine import hooks
from engine.access.identity import certificate_label, require_instance_visible
from engine.execution import runtime
from engine.inbox import attachments, tasks
from engine.spec import forms
from engine.store import history
from engine.store.models import (Attachment, AuditEvent, Comment, HumanTask, InstanceLink, ProcessDefinition,
                                 ProcessInstance, Resource, User)


@dataclass
class Entry:
    """One line of the history timeline."""
    event: AuditEvent
    details: dict[str, Any]
    values: list[tuple[str, Any]]  # (label, value) of submitted form values


@dataclass
class CaseFile:
    instance: ProcessInstance
    definition: ProcessDefinition
    ready: list[HumanTask]
    next_due: datetime | None
    timeline: list[Entry]
    comments: list[Comment]
    attachments: list[Attachment]
    links: list[tuple[str, InstanceLink, ProcessInstance]]
    completed_elements: list[str]
    current_elements: list[str]
    actionable: set[str]  # ids of ready tasks this user may act on
    deadlines: list[Deadline]
    documents: list[tuple[str, str]]


def _visible(session: Session, instance_id: int, user: User) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise runtime.InstanceNotFound(f"案件 {instance_id} 不存在")
    require_instance_visible(session, user, instance)
    return instance


def _labels(workflow, officer_fields: set[str]) -> dict[str | None, tuple[dict[str, str], dict[str, dict[str, str]]]]:
    """Per element (and under None: over every form of the case) field id → label and
    field id → {option id → option label}; the ids of ``officers`` fields go to ``officer_fields``."""
    out: dict[str | None, tuple[dict[str, str], dict[str, dict[str, str]]]] = {None: ({}, {})}
    for spec in [workflow.spec, *workflow.subprocess_specs.values()]:
        for ts in spec.task_specs.values():
            fields = forms.form_of(ts).fields
            if not fields:
                continue
            mine = out.setdefault(getattr(ts, "bpmn_id", None) or ts.name, ({}, {}))
            for f in fields:
                if f.type == "officers":
                    officer_fields.add(f.id)
                for labels, options in (mine, out[None]):
                    labels.setdefault(f.id, f.label)
                    if f.options:
                        options.setdefault(f.id, {}).update(f.option_labels)
    return out


def _label(table, element_id: str | None, field_id: str) -> tuple[str, dict[str, str] | None]:
    for key in (element_id, None):
        labels, options = table.get(key, ({}, {}))
        if field_id in labels:
            return labels[field_id], options.get(field_id)
    return hooks.variable_labels.get(field_id) or hooks.deadline_variables.get(field_id) or field_id, None


def _display(value: Any, opts: dict[Any, str] | None) -> Any:
    if isinstance(value, bool):
        return "是" if value else "否"
    if opts and isinstance(value, str) and value in opts:
        return opts[value]
    if isinstance(value, list):
        return "、".join(str((opts or {}).get(v, v)) for v in value) or "—"
    return "—" if value in (None, "") else value


def _top_level_tasks(workflow):
    """Tasks of the case's own process (not of processes it calls), from its task tree."""
    stack = [workflow.task_tree]
    while stack:
        task = stack.pop()
        yield task
        stack.extend(task.children)


def _did_work(workflow, task) -> bool:
    """A called process counts as run only if someone did one of its steps: a 法制审核 call
    that found no review was needed is not drawn as reviewed."""
    sub = workflow.get_subprocess(task)
    if sub is None:
        return True
    return any(getattr(t.task_spec, "manual", False) for t in sub.get_tasks(state=TaskState.COMPLETED))


def highlights(workflow) -> tuple[list[str], list[str]]:
    """(completed, current) BPMN element ids of the case's own diagram."""
    completed, current = set(), set()
    for task in _top_level_tasks(workflow):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.has_state(TaskState.COMPLETED):
            if _did_work(workflow, task):
                completed.add(bpmn_id)
        elif task.has_state(TaskState.READY | TaskState.STARTED):
            current.add(bpmn_id)
        elif task.has_state(TaskState.WAITING) and not type(task.task_spec).__name__.startswith("Boundary"):
            current.add(bpmn_id)
    return sorted(completed - current), sorted(current)


def case_file(session: Session, instance_id: int, user: User) -> CaseFile:
    instance = _visible(session, instance_id, user)
    definition = session.get(ProcessDefinition, instance.definition_id)
    workflow = runtime.load(session, instance, user).workflow
    officer_fields: set[str] = set()
    table, kinds = _labels(workflow, officer_fields), _field_kinds(workflow)
    files = attachments.of_instance(session, instance.id)
    names = {a.id: a.original_name for a in files}
    people: dict[int, str] = {}
    timeline = []
    for event in history.events_of(session, instance.id):
        details = json.loads(event.details or "{}")
        values = details.get("values") if isinstance(details.get("values"), dict) else \
            details.get("data") if isinstance(details.get("data"), dict) else {}
        shown = []
        for k, v in values.items():
            label, opts = _label(table, event.element_id, k)
            if k in officer_fields and isinstance(v, list):  # chosen officers: names with 执法证 numbers
                missing = [i for i in v if isinstance(i, int) and i not in people]
                people.update({u.id: certificate_label(u) for u in session.scalars(
                    select(User).where(User.id.in_(missing)))} if missing else {})
                shown.append((label, _display(v, people)))
                continue
            shown.append((label, _shown(v, opts, kinds.get(k), names)))
        timeline.append(Entry(event, details, shown))
    ready = tasks.ready_tasks(session, instance.id)
    dues = [t.due_at for t in ready if t.due_at] + ([instance.next_timer_at] if instance.next_timer_at else [])
    completed, current = highlights(workflow)
    data = runtime.case_data(workflow)
    return CaseFile(instance, definition, ready, min(dues) if dues else None, timeline,
                    tasks.comments_of(session, instance.id), files,
                    runtime.linked_instances(session, instance.id), completed, current,
                    {t.id for t in ready if tasks.may_act(session, t, user)},
                    deadlines_of(session, instance, data), documents_of(workflow, data, table))


def diagram_xml(session: Session, instance_id: int, user: User) -> str:
    """The BPMN file the case's process version was deployed from, byte for byte."""
    instance = _visible(session, instance_id, user)
    definition = session.get(ProcessDefinition, instance.definition_id)
    return session.scalar(select(Resource.content).where(Resource.id == definition.resource_id))


# --- the case on a task page ------------------------------------------------------------

SUMMARY_PROPERTY = "caseSummary"  # camunda:property on a user task: the case values its page shows


@dataclass
class Deadline:
    label: str
    due: Any  # datetime (a task's due time) or date (a case variable)
    note: str | None  # e.g. provisional: counted on a calendar nobody entered yet
    current: bool = False  # the due time of the task on the page


@dataclass
class StepRecord:
    """The latest completion of an earlier step: who, when, what they submitted."""
    task: HumanTask
    values: list[tuple[str, Any]]
    files: list[Attachment]


@dataclass
class Summary:
    instance: ProcessInstance
    definition: ProcessDefinition
    facts: list[tuple[str, Any]]
    deadlines: list[Deadline]
    documents: list[tuple[str, str]]  # (label, number)
    files: list[Attachment]  # documents and evidence uploaded on the case
    recordings: list[Attachment]  # 执法全过程记录
    steps: list[StepRecord]
    decisions: list[str]  # the fields this step decides on (see decision_fields)


def _shown(value: Any, opts: dict[str, str] | None, kind: str | None, names: dict[int, str],
           people: dict[int, str] | None = None) -> Any:
    if kind == "officers" and people is not None:  # chosen officers: names with 执法证 numbers
        ids = value if isinstance(value, list) else []
        return "、".join(people.get(i, "未知人员") for i in ids if isinstance(i, int)) or "—"
    if kind == "file":
        ids = value if isinstance(value, list) else []
        return "、".join(names.get(i, "（文件已不在案卷中）") for i in ids if isinstance(i, int)) or "—"
    if kind == "money" and value not in (None, ""):
        return f"{value} 元"
    if isinstance(value, list) and opts:
        return "、".join(opts.get(v, str(v)) for v in value) or "—"
    return _display(value, opts)


def _unlabelled_code(value: Any, opts: dict[str, str] | None) -> bool:
    return bool(opts) and isinstance(value, str) and value not in opts


def _field_kinds(workflow) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for spec in [workflow.spec, *workflow.subprocess_specs.values()]:
        for ts in spec.task_specs.values():
            for f in forms.form_of(ts).fields:
                kinds.setdefault(f.id, f.type)
    return kinds


def _declared(task_spec) -> list[str] | None:
    text = ((getattr(task_spec, "extensions", None) or {}).get(SUMMARY_PROPERTY) or "").strip()
    return [v.strip() for v in text.split(",") if v.strip()] or None


def task_summary(session: Session, task: HumanTask, user: User) -> Summary:
    """What an officer or approver needs on a task page without leaving it: the case's facts
    (those the step declares in ``caseSummary``, by default every labelled value but the ones
    this step decides), every deadline, document numbers, files and recordings, and the
    latest submission of every earlier step. The caller has checked the user may see the task."""
    instance = session.get(ProcessInstance, task.instance_id)
    definition = session.get(ProcessDefinition, instance.definition_id)
    workflow = runtime.load(session, instance, user).workflow
    table, kinds = _labels(workflow, set()), _field_kinds(workflow)
    data = runtime.case_data(workflow)
    files = attachments.of_instance(session, instance.id)
    names = {a.id: a.original_name for a in files}
    people = {u.id: certificate_label(u) for u in session.scalars(select(User))} \
        if "officers" in kinds.values() else {}
    spec = tasks.spec_by_element(workflow, task.element_id)
    document_vars = {v for s in _all_specs(workflow) for v in hooks.engine_filled(s)}  # shown as 文书, not facts
    deciding = {f.id for f in forms.form_of(spec).fields if not f.readonly} if spec is not None and task.state == "ready" else set()
    wanted = _declared(spec) if spec is not None else None
    keys = wanted if wanted is not None else [
        k for k in data if k in table[None][0] and k not in deciding and k not in document_vars
        and k not in hooks.deadline_variables and kinds.get(k) != "file"]
    facts = []
    for k in keys:
        if k in data and data[k] not in (None, "", []):
            label, opts = _label(table, None, k)
            if _unlabelled_code(data[k], opts):  # a status a script set, which no form names
                continue
            facts.append((label, _shown(data[k], opts, kinds.get(k), names, people)))
    recordings = [a for a in files if a.record_item]
    return Summary(instance, definition, facts, deadlines_of(session, instance, data, task.id),
                   documents_of(workflow, data, table), [a for a in files if not a.record_item],
                   recordings, _earlier_steps(session, task, table, kinds, names, files, people),
                   decision_fields(spec, forms.form_of(spec)) if spec is not None else [])


def deadlines_of(session: Session, instance: ProcessInstance, data: dict[str, Any],
                 current_task: str | None = None) -> list[Deadline]:
    """Every due date of the case: its ready steps', then the statutory deadlines it has computed."""
    out = [Deadline(f"{t.name} 办理期限", t.due_at, t.problem, t.id == current_task)
           for t in tasks.ready_tasks(session, instance.id) if t.due_at]
    for var, label in hooks.deadline_variables.items():
        if data.get(var):
            out.append(Deadline(label, data[var], hooks.date_note(data[var])))
    return out


def documents_of(workflow, data: dict[str, Any], table=None) -> list[tuple[str, str]]:
    """(label, number) of every document number the case has been given so far."""
    table = table or _labels(workflow, set())
    variables = {v for s in _all_specs(workflow) for v in hooks.engine_filled(s)}
    return [(_label(table, None, v)[0], str(data[v])) for v in sorted(variables) if data.get(v)]


def _all_specs(workflow):
    for spec in [workflow.spec, *workflow.subprocess_specs.values()]:
        yield from spec.task_specs.values()


DECISION_PROPERTY = "decisionFields"  # camunda:property on a user task: the fields that decide where the case goes


def decision_fields(task_spec, form: forms.Form) -> list[str]:
    """The fields a step decides on (shown apart, as explicit choices): those declared in
    ``decisionFields``, by default the enum and boolean fields the gateways after the task test."""
    declared = ((getattr(task_spec, "extensions", None) or {}).get(DECISION_PROPERTY) or "").strip()
    if declared:
        wanted = {v.strip() for v in declared.split(",")}
    else:
        conditions, todo, seen = [], list(task_spec.outputs), set()
        while todo:  # through boundary-event joins and automatic steps, not past the next person's task
            ts = todo.pop()
            if ts.name in seen or getattr(ts, "manual", False):
                continue
            seen.add(ts.name)
            conditions += [c.args[0] for c, _ in getattr(ts, "cond_task_specs", None) or [] if c is not None]
            todo.extend(ts.outputs)
        wanted = set(re.findall(r"[A-Za-z_]\w*", " ".join(conditions)))
    return [f.id for f in form.fields if f.id in wanted and f.type in ("enum", "boolean") and not f.readonly]


_OPINION_TYPES = ("textarea", "enum", "boolean", "money", "file", "officers")  # what a step concluded and the amounts; the other facts are in Summary.facts


@lru_cache(maxsize=2)
def _latest_steps(done: bool):
    """The latest completion of each step of the case before the task (and, if ``done``, not after it
    was done): built once, every task page reads it."""
    before = [HumanTask.instance_id == bindparam("instance_id"), HumanTask.state == "completed",
              HumanTask.id != bindparam("task_id")]
    if done:
        before.append(HumanTask.completed_at <= bindparam("completed_at"))
    ranked = select(HumanTask.id, func.row_number().over(
        partition_by=HumanTask.element_id, order_by=(HumanTask.completed_at.desc(), HumanTask.id.desc())
    ).label("rank")).where(*before).subquery()
    return (select(HumanTask).join(ranked, ranked.c.id == HumanTask.id).where(ranked.c.rank == 1)
            .order_by(HumanTask.completed_at, HumanTask.id))


def _earlier_steps(session: Session, task: HumanTask, table, kinds, names, files, people) -> list[StepRecord]:
    """The latest completion of every step before this one (a step done twice shows its last
    opinion), in the order they were last done: its choices, opinions and files. Only those
    completions are loaded, not the case's whole history (a case sent round a loop a hundred
    times shows its few steps)."""
    params = {"instance_id": task.instance_id, "task_id": task.id}
    if task.completed_at is not None:
        params["completed_at"] = task.completed_at
    latest = session.scalars(_latest_steps(task.completed_at is not None), params)
    out = []
    for t in latest:
        values = []
        for k, v in json.loads(t.submitted or "{}").items():
            if v in (None, "", []) or kinds.get(k) not in _OPINION_TYPES:
                continue
            label, opts = _label(table, t.element_id, k)
            if _unlabelled_code(v, opts):
                continue
            values.append((label, _shown(v, opts, kinds.get(k), names, people)))
        out.append(StepRecord(t, values, [a for a in files if a.task_id == t.id]))
    return out
