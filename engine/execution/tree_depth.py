"""Cases sent round a loop many times: SpiffWorkflow without its depth limits.

A case's task tree keeps every finished task, and each pass round a loop (审查 returning a case
to 调查, say) adds its steps below the last, so the tree is as deep as the case's history is
long. SpiffWorkflow stops its tree walks at depth 1,000: past it no ready step is found (a case
looped about 330 times, three levels a pass, stopped with no ready task and no error), no timer
and no open step to cancel on 终止. And a parallel join asks "is this task below that one?" by
recursion, which fails with RecursionError near the same depth. Here its walks go to
``MAX_DEPTH``, and that question climbs the tree with a loop.

A loop of engine steps alone (no person's step, no wait) would now go on for as long as
``MAX_DEPTH`` allows: ``task_scan.do_engine_steps`` bounds the steps one run may take.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator

MAX_DEPTH = 100_000  # a bound still, in case a damaged tree ever had a cycle


def _deeper(iterator: type) -> None:
    defaults = list(iterator.__init__.__defaults__)
    position = iterator.__init__.__code__.co_varnames.index("max_depth") - 2  # after self and task
    defaults[position] = MAX_DEPTH
    iterator.__init__.__defaults__ = tuple(defaults)


def _is_descendant_of(self: Task, task: Task) -> bool:
    """``Task.is_descendant_of``, climbing with a loop."""
    parent, steps = self.parent, 0
    while parent is not None and steps < MAX_DEPTH:
        if parent == task:
            return True
        parent, steps = parent.parent, steps + 1
    return False


for _iterator in (TaskIterator, BpmnTaskIterator):
    _deeper(_iterator)
Task.is_descendant_of = _is_descendant_of
