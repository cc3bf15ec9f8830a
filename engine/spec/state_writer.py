"""A case's state as JSON: what SpiffWorkflow's serializer writes for the instance, key for key,
without the specs (stored once per version), at a cost that does not grow with the case's age.

A save used to convert every task the case ever had, and the tree keeps every finished task:
that was most of what a case fifty steps old cost more than a new one. Here each task's text is
kept with the workflow between saves and reused while nothing it was made from can have changed:

- the task and its parent are finished (their data dicts are no longer written: a task's data is
  written while it runs, and a child gets copies of its parent's values when it becomes ready);
- state, last state change, triggered, parent, children, the internal data's items, and the
  very same data and parent data dicts, with the same number of keys;
- every value the text takes from them is a scalar (internal data), or a scalar or a
  list/tuple/dict of scalars that only this task holds (its changes to its parent's data). A nested
  container is shared along the chain of tasks (SpiffWorkflow copies values one level deep),
  and a later task's script may change it in place: such a task's text is made again each save.

The test suite sets ``verify`` and every save is compared with a full conversion
(tests/conftest.py); tests/test_serialization.py compares the full conversion with
SpiffWorkflow's own serializer on the bundled models.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID
from weakref import WeakKeyDictionary

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.spec.serialization import registry, serializer

verify = False  # compare each save with a full conversion (the tests do)

_WORKFLOW_TYPE = registry.typenames[BpmnWorkflow]
_SUBWORKFLOW_TYPE = registry.typenames[BpmnSubWorkflow]
_TASK_TYPE = registry.typenames[Task]
_FINISHED = TaskState.FINISHED_MASK
_SCALARS = frozenset({str, int, float, bool, type(None), date, datetime, Decimal})
_updated_keys, _deleted_keys = DeepMerge.get_updated_keys, DeepMerge.get_deleted_keys


class _Memo:
    """One workflow's task ids as text, and its finished tasks' texts with what they were made from."""

    __slots__ = ("ids", "texts")

    def __init__(self):
        self.ids: dict[UUID, str] = {}
        self.texts: dict[UUID, tuple] = {}

    def id(self, uid: UUID) -> str:
        text = self.ids.get(uid)
        if text is None:
            text = self.ids[uid] = str(uid)
        return text


_memos: WeakKeyDictionary = WeakKeyDictionary()  # workflow (or called process) → _Memo, while it lives


def _memo(workflow) -> _Memo:
    memo = _memos.get(workflow)
    if memo is None:
        memo = _memos[workflow] = _Memo()
    return memo


def _flat(values) -> bool:
    """Scalars, or lists/tuples/dicts of scalars: nothing a later task could change in place."""
    for value in values:
        kind = type(value)
        if kind in _SCALARS:
            continue
        if kind is list or kind is tuple:
            items = value
        elif kind is dict:
            items = value.values()
        else:
            return False
        if any(type(item) not in _SCALARS for item in items):
            return False
    return True


def _task_dict(task: Task, parent: Task | None, memo: _Memo) -> dict:
    """SpiffWorkflow's ``TaskConverter.to_dict``, key for key."""
    if parent is None:
        data, delta, parent_id = task.data, {}, None
    else:
        data, parent_id = {}, memo.id(task._parent)
        delta = {"updates": _updated_keys(parent.data, task.data), "deletions": _deleted_keys(parent.data, task.data)}
    return {"id": memo.id(task.id), "parent": parent_id, "children": [memo.id(c) for c in task._children],
            "last_state_change": task.last_state_change, "state": task.state, "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": registry.convert(task.internal_data) if task.internal_data else {},
            "data": data, "delta": delta, "typename": _TASK_TYPE}


def _signature(task: Task, parent: Task) -> tuple:
    # internal data is small (a timer's value, whether an event fired) and compared by value
    return (task.state, task.last_state_change, task.triggered, task._parent, tuple(task._children),
            len(task.data), len(parent.data), tuple(task.internal_data.items()))


def _tasks_json(workflow, encode) -> str:
    memo, tasks, parts = _memo(workflow), workflow.tasks, []
    kept = memo.texts
    for uid, task in tasks.items():
        parent = tasks.get(task._parent)
        entry = kept.get(uid)
        if (entry is not None and parent is not None and entry[0] is task.data and entry[1] is parent.data
                and entry[2] is task.internal_data and entry[3] == _signature(task, parent)):
            parts.append(entry[4])
            continue
        if task.__class__ is not Task:  # not a class the stock registry converts as a task: convert it as it does
            parts.append(f'"{memo.id(uid)}": {encode(registry.convert(task))}')
            continue
        dct = _task_dict(task, parent, memo)
        text = f'"{memo.id(uid)}": {encode(dct)}'
        parts.append(text)
        if (parent is not None and task.state & _FINISHED and parent.state & _FINISHED
                and _flat(dct["delta"]["updates"].values())
                and all(type(v) in _SCALARS for v in task.internal_data.values())):
            kept[uid] = (task.data, parent.data, task.internal_data, _signature(task, parent), text)
        else:
            kept.pop(uid, None)
    if len(memo.ids) > 2 * len(tasks):  # tasks removed from the tree (a loop's earlier passes, a branch reset)
        for uid in [uid for uid in memo.ids if uid not in tasks]:
            del memo.ids[uid]
            kept.pop(uid, None)
    return "{" + ", ".join(parts) + "}"


def _workflow_json(workflow, encode, **extra) -> str:
    """``WorkflowConverter.to_dict`` (+ ``extra``) as JSON text, the tasks joined from their texts."""
    fields = {
        "data": registry.convert(registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "root": str(workflow.task_tree.id),
        **extra,
    }
    text = encode(fields)
    return f'{text[:-1]}, "tasks": {_tasks_json(workflow, encode)}}}'


def instance_to_json(workflow: BpmnWorkflow) -> str:
    """The instance's own part of ``serializer.to_dict``: without the spec and subprocess specs."""
    registry._encoder_mode = True  # 3.2's task-data deltas need the registry's encoder
    try:
        encode = serializer._encoder_cls(ensure_ascii=False).encode
        subprocesses = ", ".join(
            f"{encode(str(key))}: " + _workflow_json(sub, encode, parent_task_id=str(sub.parent_task_id),
                                                     spec=sub.spec.name, typename=_SUBWORKFLOW_TYPE)
            for key, sub in workflow.subprocesses.items())
        text = _workflow_json(workflow, encode, bpmn_events=registry.convert(workflow.bpmn_events),
                              typename=_WORKFLOW_TYPE, **{serializer.VERSION_KEY: serializer.VERSION})
        text = f'{text[:-1]}, "subprocesses": {{{subprocesses}}}}}'
        if verify:
            _check(workflow, text, encode)
    finally:
        registry._encoder_mode = False
    return text


def _check(workflow: BpmnWorkflow, text: str, encode) -> None:
    """Fail if the kept texts made ``text`` differ from converting every task now."""
    def full(wf) -> dict:
        memo, tasks = _memo(wf), wf.tasks
        return {memo.id(uid): json.loads(encode(registry.convert(task) if task.__class__ is not Task
                                                 else _task_dict(task, tasks.get(task._parent), memo)))
                for uid, task in tasks.items()}

    written = json.loads(text)
    expected = {"": full(workflow), **{str(k): full(sub) for k, sub in workflow.subprocesses.items()}}
    got = {"": written["tasks"], **{k: sub["tasks"] for k, sub in written["subprocesses"].items()}}
    if got != expected or [list(v) for v in got.values()] != [list(v) for v in expected.values()]:
        raise AssertionError("a kept task text differs from the task now: the state would not restore the case")
