"""The case page: everything known about one case, for someone allowed to see it.

Header facts, the deployed diagram with completed and current elements, the history
timeline with submitted values (labelled as the forms label them), comments,
attachments and linked cases.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

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
    return field_id, None


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


def highlights(workflow) -> tuple[list[str], list[str]]:
    """(completed, current) BPMN element ids of the case's own diagram."""
    completed, current = set(), set()
    for task in _top_level_tasks(workflow):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.has_state(TaskState.COMPLETED):
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
    table = _labels(workflow, officer_fields)
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
                opts = people
            shown.append((label, _display(v, opts)))
        timeline.append(Entry(event, details, shown))
    ready = tasks.ready_tasks(session, instance.id)
    dues = [t.due_at for t in ready if t.due_at] + ([instance.next_timer_at] if instance.next_timer_at else [])
    completed, current = highlights(workflow)
    return CaseFile(instance, definition, ready, min(dues) if dues else None, timeline,
                    tasks.comments_of(session, instance.id), attachments.of_instance(session, instance.id),
                    runtime.linked_instances(session, instance.id), completed, current,
                    {t.id for t in ready if tasks.may_act(session, t, user)})


def diagram_xml(session: Session, instance_id: int, user: User) -> str:
    """The BPMN file the case's process version was deployed from, byte for byte."""
    instance = _visible(session, instance_id, user)
    definition = session.get(ProcessDefinition, instance.definition_id)
    return session.scalar(select(Resource.content).where(Resource.id == definition.resource_id))
