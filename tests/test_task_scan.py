"""The engine loop that skips SpiffWorkflow's walks when nothing is ready to run
(engine/execution/task_scan.py) takes the same steps in the same order as ``do_engine_steps``:
two copies of a case, one run each way, stay alike after every step: a parallel split and join,
an embedded subprocess, a loop back, a boundary timer, and the bench's 20-step penalty case with
its gateways, decision table and 案件审查 returning the case."""
from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.util.task import TaskIterator, TaskState

from bench.engine_bench import Raw, _conclusion, raw_values
from engine.execution import task_scan
from tests.conftest import FIXTURES


def _snapshot(workflow: BpmnWorkflow) -> list:
    owners = [workflow, *workflow.subprocesses.values()]
    return [[(t.task_spec.name, TaskState.get_name(t.state), sorted(t.data.items())) for t in owner.get_tasks()]
            for owner in owners] + [workflow.is_completed()]


_STATES = [TaskState.WAITING, TaskState.READY, TaskState.FUTURE, TaskState.PREDICTED_MASK, TaskState.COMPLETED,
           TaskState.ANY_MASK]


def _same_walks(workflow: BpmnWorkflow) -> None:
    """``preorder`` finds what SpiffWorkflow's iterators find, in their order."""
    for owner in (workflow, *workflow.subprocesses.values()):
        for state in _STATES:
            assert list(task_scan.preorder(owner, state)) == list(TaskIterator(owner.task_tree, state=state))
            assert list(task_scan.preorder(owner, state, into_subprocesses=True)) == owner.get_tasks(state=state)


def _drive(make, values_for, steps: int = 200) -> int:
    """Run two copies of one case side by side, comparing them after every step."""
    stock, ours = make(), make()
    stock.do_engine_steps()
    task_scan.do_engine_steps(ours)
    done = 0
    while done < steps:
        assert _snapshot(ours) == _snapshot(stock)
        _same_walks(ours)
        ready = [wf.get_tasks(state=TaskState.READY, manual=True) for wf in (stock, ours)]
        assert [t.task_spec.name for t in ready[0]] == [t.task_spec.name for t in ready[1]]
        if not ready[0]:
            return done
        for task in (ready[0][0], ready[1][0]):
            task.set_data(**values_for(task, done))
            task.run()
        stock.do_engine_steps()
        task_scan.do_engine_steps(ours)
        done += 1
    pytest.fail("the case did not end")


def test_split_join_subprocess_and_loop_run_as_spiffworkflow_runs_them():
    parser = CamundaParser()
    parser.add_bpmn_file(str(FIXTURES / "engine_steps" / "steps.bpmn"))
    spec, subprocesses = parser.get_spec("engine_steps"), parser.get_subprocess_specs("engine_steps")
    rounds = iter(range(100))  # each copy draws one: 0, 0, 1, 1, ...
    done = _drive(lambda: BpmnWorkflow(spec, subprocesses),
                  lambda task, _done: {"rounds": next(rounds) // 2} if task.task_spec.bpmn_id == "Task_b" else {})
    assert done == 4 * 2 + 1  # 乙 and 丁 in four rounds (rounds 0 to 3: back while under 3), then 戊


@pytest.mark.parametrize("returns", [0, 9])
def test_the_bench_case_runs_as_spiffworkflow_runs_it(returns):
    raw = Raw()

    def values(task, done):
        return raw_values(task.task_spec.bpmn_id, _conclusion(done, returns or None))

    assert _drive(lambda: raw.new("EQ-1"), values) >= 20
