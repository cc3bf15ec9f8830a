"""A case's tasks by state, found without walking its task tree.

SpiffWorkflow's ``get_tasks`` walks the whole tree from the root, and the tree keeps every
finished task: a case fifty steps old is walked fifty steps deep on every query. Each
workflow (the case and every process it called) also holds its tasks in a dict by id; a
pass over those dicts finds the same tasks at a fraction of the cost. Their order is the
order of creation, not the tree's: use it where order does not matter.
"""
from __future__ import annotations

from typing import Iterator

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState


def tasks_in(workflow: BpmnWorkflow, state: int, manual: bool | None = None) -> Iterator:
    """The tasks in ``state`` (a TaskState value or mask), of the case and its called processes;
    ``manual``: only user tasks (True) or only engine tasks (False)."""
    for owner in (workflow, *workflow.subprocesses.values()):
        for task in owner.tasks.values():
            if task.state & state and (manual is None or task.task_spec.manual == manual):
                yield task


def is_completed(workflow: BpmnWorkflow) -> bool:
    """``workflow.is_completed()``, setting ``completed`` as it does, without its walk from the root
    (which passes every finished task before it reaches the unfinished ones at the bottom)."""
    if not workflow.completed and not any(t.state & TaskState.NOT_FINISHED_MASK for t in workflow.tasks.values()):
        workflow.completed = True
    return workflow.completed
