"""A case sent round a loop keeps one pass of its finished steps, not every pass.

SpiffWorkflow keeps every finished task in the case's task tree: each pass round a loop (审查
returning a case to 调查, a 整改 checked again) adds its steps below the last, and the stored state,
every restore and every save grew with the case's history (about 400 bytes of state a task; a
case sent round a three-step loop 100 times: 120 KB, 2 ms to restore). Before a case is saved,
a finished task is dropped from the tree when a later pass has finished the same step below it:
its one child that goes on takes its place under its parent, its finished leaves go with it (a
boundary timer that did not fire, the join SpiffWorkflow hangs beside a task with boundary
events), and so does the process it called. History does not live in the tree: every step is in
the audit (``history``) and the inbox rows, and the tree still holds each step's latest pass (the
diagram's highlights, a flow's 退回 reason).

Kept, so that SpiffWorkflow decides as it would have with the whole tree:
- every task that is not finished, and the parent of each (its data came from it);
- every task of a parallel or inclusive join, and every task one of them hangs from: such a join
  looks at the tasks of its own step and at their parents across passes. Models with such a join
  in a loop are refused at deployment now (SpiffWorkflow 3.2 merges it early from the second pass
  on: ``rules.check_joins_in_loops``), but one deployed before must go on merging as it did;
- every task with more than one child that goes on (a parallel split's branches).
The ancestors of every task left keep their order, so "is this task below that one", the nearest
ancestor of a step and each task's data are what they were.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState

_COMPLETED, _FINISHED = TaskState.COMPLETED, TaskState.FINISHED_MASK


def compact(workflow: BpmnWorkflow) -> None:
    """Drop the superseded passes of ``workflow``'s finished steps, in the case and in every process it called."""
    for owner in (workflow, *workflow.subprocesses.values()):
        _compact(workflow, owner)


def _compact(top: BpmnWorkflow, owner) -> None:
    tasks = owner.tasks
    seen, repeated = set(), set()
    for task in tasks.values():
        if task._state == _COMPLETED:
            name = task.task_spec.name
            (repeated if name in seen else seen).add(name)
    if not repeated:  # no step finished twice: nothing to drop (most saves)
        return
    for task in _superseded(tasks, repeated):
        _drop(top, tasks, task)


def _superseded(tasks: dict, repeated: set[str]) -> list:
    """The tasks of a repeated step with a finished task of the same step below them: climbing
    from each finished one, the first of its step above it (the tasks above that one are found
    from it in turn)."""
    found: dict = {}
    for task in tasks.values():
        name = task.task_spec.name
        if task._state != _COMPLETED or name not in repeated:
            continue
        above = tasks.get(task._parent)
        while above is not None:
            if above.task_spec.name == name:
                found[above.id] = above
                if above._state == _COMPLETED:  # its own climb goes on from here
                    break
            above = tasks.get(above._parent)
    return list(found.values())


def _drop(top: BpmnWorkflow, tasks: dict, task) -> None:
    """Drop ``task`` (and its finished leaves, and the process it called): its one child that goes
    on takes its place."""
    if task._state != _COMPLETED or isinstance(task.task_spec, UnstructuredJoin):
        return
    parent = tasks.get(task._parent)
    if parent is None:  # the root
        return
    children = [tasks[c] for c in task._children]
    if any(isinstance(c.task_spec, UnstructuredJoin) for c in children):
        return
    going_on = [c for c in children if c._children or not c._state & _FINISHED] or children
    if len(going_on) != 1 or going_on[0]._state != _COMPLETED:  # an unfinished child's data comes from it
        return
    child = going_on[0]
    if task.id in top.subprocesses:
        top.delete_subprocess(task)
    at = parent._children.index(task.id)
    parent._children[at:at + 1] = [child.id]
    child._parent = parent.id
    for c in children:
        if c is not child:
            del tasks[c.id]
    del tasks[task.id]
