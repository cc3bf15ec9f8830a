"""A case's tasks by state, found without walking its task tree.

SpiffWorkflow's ``get_tasks`` walks the whole tree from the root, and the tree keeps every
finished task: a case fifty steps old is walked fifty steps deep on every query. Each
workflow (the case and every process it called) also holds its tasks in a dict by id; a
pass over those dicts finds the same tasks at a fraction of the cost. Their order is the
order of creation, not the tree's: use it where order does not matter.
"""
from __future__ import annotations

import functools
from typing import Iterator

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.execution.tree_depth import MAX_DEPTH

MAX_ENGINE_STEPS = 2_000  # per run of engine steps: a loop with no person's step ends here


class EndlessLoop(Exception):
    """More engine steps in one call than MAX_ENGINE_STEPS: a loop no person's step or wait breaks."""

    def __init__(self, task):
        self.task = task
        super().__init__(f"一次办理中自动执行的环节超过 {MAX_ENGINE_STEPS} 个，流程图中可能有不经过人工环节"
                         f"或等待的循环")


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


def do_engine_steps(workflow: BpmnWorkflow) -> None:
    """``workflow.do_engine_steps()``: the same steps in the same order, for less. SpiffWorkflow
    walks the whole tree from the root to find the ready engine tasks, every round ending with a
    walk that finds none; and after every task, to update the waiting ones. Here a pass over the
    dicts first says whether a walk can find anything (none ready, none waiting: the walk would do
    nothing), and the walks that remain are the same preorder in a tight loop (``preorder``)."""
    budget = [MAX_ENGINE_STEPS]
    while _engine_round(workflow, budget):
        pass
    workflow.refresh_timers()


def _engine_round(workflow: BpmnWorkflow, budget: list[int]) -> bool:
    update_waiting_tasks_here(workflow)
    active = workflow.get_active_subprocesses()
    for subprocess in sorted(active, key=lambda s: s.depth, reverse=True):  # the deepest first
        while _run_ready(subprocess, budget):
            pass
        if subprocess.parent_task_id is not None:
            task = workflow.get_task_from_id(subprocess.parent_task_id)
            task.task_spec._update(task)
    return _run_ready(workflow, budget) > 0 or len(workflow.get_active_subprocesses()) > len(active)


def _run_ready(workflow, budget: list[int]) -> int:
    if next(tasks_in(workflow.top_workflow, TaskState.READY, manual=False), None) is None:
        return 0  # the walk would run nothing and change nothing
    update_waiting_tasks_here(workflow.top_workflow)  # a subprocess started in the last round
    count = 0
    for task in list(preorder(workflow, TaskState.READY, into_subprocesses=True)):  # as get_tasks: a list
        if not task.task_spec.manual:
            if budget[0] <= 0:
                raise EndlessLoop(task)
            budget[0] -= 1
            task.run()
            count += 1
    return count


def update_waiting_tasks_here(workflow: BpmnWorkflow) -> None:
    """Have the case's workflows, which each update their waiting tasks after each of their own,
    do it as below (before a user task is run, too). An attribute of these objects: SpiffWorkflow
    elsewhere (the raw benchmark) stays as it is."""
    for owner in (workflow, *workflow.subprocesses.values()):
        if "update_waiting_tasks" not in owner.__dict__:
            owner.update_waiting_tasks = functools.partial(_update_waiting_tasks, owner)


def _update_waiting_tasks(workflow) -> None:
    """``Workflow.update_waiting_tasks``: each waiting task's spec updated, in the tree's order, lazily
    (a task that starts waiting ahead of the walk is updated too); no walk if none waits."""
    if any(t._state == TaskState.WAITING for t in workflow.tasks.values()):
        for task in preorder(workflow, TaskState.WAITING):
            task.task_spec._update(task)


def preorder(workflow, state: int, into_subprocesses: bool = False) -> Iterator:
    """The tasks in ``state`` as SpiffWorkflow's ``TaskIterator(workflow.task_tree, state=state)``
    yields them (``into_subprocesses``: its BPMN iterator, which also descends into the processes a
    task started), lazily: a task's children are read when it is reached, before it is yielded.
    The same descent: into tasks at least FUTURE (MAYBE if ``state`` is a predicted one), to a
    depth of ``MAX_DEPTH`` (engine/execution/tree_depth.py); with a stack instead of a list rebuilt at
    every step."""
    lowest = (TaskState.MAYBE if state & TaskState.PREDICTED_MASK else
              TaskState.FUTURE if state & TaskState.DEFINITE_MASK else TaskState.COMPLETED)
    subprocesses = workflow.top_workflow.subprocesses if into_subprocesses else {}
    stack = [(workflow.task_tree, 0)]
    while stack:
        task, depth = stack.pop()
        subprocess = subprocesses.get(task.id) if subprocesses else None  # (hashing a UUID is not free)
        if ((task._children or subprocess is not None) and (task._state >= lowest or subprocess is not None)
                and depth < MAX_DEPTH):
            tasks = task.workflow.tasks
            stack.extend((tasks.get(child), depth + 1) for child in reversed(task._children))
            if subprocess is not None:  # (SpiffWorkflow's test for a finished one never holds)
                stack.append((subprocess.task_tree, depth + 1))
        if task._state & state:
            yield task

