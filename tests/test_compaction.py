"""A case sent round a loop is saved without its earlier passes (engine/execution/compaction.py):
its stored state stays the size of one pass, and it goes on exactly as with its whole task tree.

The reference is the same case stored whole, as before compaction: both are driven through
``tasks.complete`` with the same steps and compared after each one (ready steps and their data,
every unfinished task, the case's variables, its diagram's highlights, the reasons a step was sent
back with, its timer), sometimes restored from the database as after a restart. (A parallel or
inclusive join cannot be deployed in a loop, tests/test_modeling_validation.py: here the branches
are in the process the loop calls.)"""
from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from engine.deploy import repository
from engine.execution import compaction, jobs, runtime, task_scan
from engine.execution.errors import EngineStepFailed
from engine.inbox import case_view, tasks
from engine.spec import rules, state_writer
from engine.store.models import AuditEvent, ProcessInstance
from tests.conftest import FIXTURES

OFFICER = "supervision_investigate1"


@pytest.fixture
def flow(db, org):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "compaction"]), source="cli")


@contextmanager
def whole_tree(whole: bool):
    """``whole``: save as before compaction, the whole task tree."""
    with pytest.MonkeyPatch.context() as patch:
        if whole:
            patch.setattr(compaction, "compact", lambda workflow: None)
        yield


@pytest.fixture
def legacy_flow(db, flow):
    """A model with a parallel and an inclusive join in its loop, deployed before such models were
    refused (SpiffWorkflow merges them early from the second pass on): a bureau's database may hold one."""
    with pytest.MonkeyPatch.context() as patch, db.transaction() as session:
        patch.setattr(rules._Checker, "check_joins_in_loops", lambda self: None)
        repository.deploy(session, repository.read_paths([FIXTURES / "compaction_legacy"]), source="cli")


def start(db, officer, whole: bool = False, key: str = "loop_paths") -> int:
    with whole_tree(whole), db.transaction() as session:
        return runtime.start(session, key, officer, {}).id


def ready(db, case_id: int) -> dict[str, str]:
    with db.reading() as session:
        return {t.element_id: t.id for t in tasks.ready_tasks(session, case_id)}


def complete(db, case_id: int, element: str, officer, values: dict, whole: bool = False) -> tuple[str, ...]:
    with whole_tree(whole), db.transaction() as session:
        return tasks.complete(session, ready(db, case_id)[element], officer, values).explanations


def _text(data: dict) -> str:
    return json.dumps({k: v for k, v in data.items() if k != "business_key"}, sort_keys=True, default=str)


def outcome(db, case_id: int, element: str, officer, values: dict, whole: bool = False) -> tuple[str, ...]:
    """The reasons shown, or the failure (SpiffWorkflow's early merge can leave a timer whose parent
    it dropped, and a later action of that case fails: with the whole tree too)."""
    try:
        return complete(db, case_id, element, officer, values, whole)
    except EngineStepFailed as failed:
        return ("failed", str(failed))


def observe(db, case_id: int) -> dict:
    """What the case shows and what decides its next steps (its number aside: each case has its own)."""
    with db.reading() as session:
        instance = session.get(ProcessInstance, case_id)
        workflow = runtime.load(session, instance, None).workflow
        unfinished = sorted((t.task_spec.name, t.state, _text(t.data))
                            for t in task_scan.tasks_in(workflow, TaskState.NOT_FINISHED_MASK))
        return {"status": instance.status, "unfinished": unfinished, "timer": instance.next_timer_at is not None,
                "variables": _text(runtime.case_data(workflow)),
                "highlights": case_view.highlights(workflow)}


def state_size(db, case_id: int) -> int:
    with db.reading() as session:
        return len(session.scalar(select(ProcessInstance.state).where(ProcessInstance.id == case_id)))


def values_for(element: str, decision: str, step: int) -> dict:
    if element == "Task_check":
        return {"decision": decision, "note": f"第{step}步意见"}
    if element == "Task_review":
        return {"review_note": f"审核{step}"}
    return {}


def test_a_case_sent_back_fifty_times_is_stored_at_the_size_of_one_pass_and_keeps_its_history(db, flow, user, clock):
    officer = user(OFFICER)
    case, whole = start(db, officer), start(db, officer, whole=True)
    sizes = {}
    for n in range(1, 51):
        for case_id, keep_whole in ((case, False), (whole, True)):
            explained = complete(db, case_id, "Task_check", officer, {"decision": "again", "note": f"补充证据{n}"},
                                 whole=keep_whole)
            assert explained == (f"第{n}遍审查退回：补充证据{n}",)  # the reason shown on the step it came back to
        if n in (3, 50):
            sizes[n] = (state_size(db, case), state_size(db, whole))
    with db.reading() as session:  # the workflow kept between the actions: its memo of ids shrank with the tree
        workflow = runtime.load(session, session.get(ProcessInstance, case), None).workflow
        assert len(state_writer._memo(workflow).ids) <= 2 * len(workflow.tasks)
    runtime._restored.clear()  # restored from the database, as after a restart
    assert observe(db, case) == observe(db, whole)
    assert sizes[50][0] < 1.05 * sizes[3][0]  # the model's own list of passes grows, not the tree
    assert sizes[50][1] > 10 * sizes[50][0]  # stored whole, it had grown with every pass
    with db.reading() as session:  # the history is in the audit, every pass of it
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.instance_id == case, AuditEvent.element_id == "Task_check")) == 50
    clock.advance(days=10, minutes=1)  # the 51st pass's deadline, set when it began
    assert jobs.run_once(db, now=clock.now()) == 2
    assert observe(db, case) == observe(db, whole)
    assert observe(db, case)["status"] == "completed"


def drive(db, officer, steps: list[tuple[int, str, bool]], key: str = "loop_paths") -> tuple[int, int]:
    """Two cases, one compacted and one stored whole, taken through the same steps: (which of the
    ready steps, by element id, the 审查 decision, restart after it). They must agree after each."""
    case, whole = start(db, officer, key=key), start(db, officer, whole=True, key=key)
    for n, (pick, decision, restart) in enumerate(steps, 1):
        open_steps = sorted(ready(db, whole))
        assert sorted(ready(db, case)) == open_steps
        if not open_steps:
            break
        element = open_steps[pick % len(open_steps)]
        values = values_for(element, decision, n)
        assert outcome(db, case, element, officer, values) == outcome(db, whole, element, officer, values, True)
        if restart:
            runtime._restored.clear()
        assert observe(db, case) == observe(db, whole), f"after step {n}: {element} {values}"
    return case, whole


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["again", "review", "again", "review", "done"]),
                                st.booleans()), min_size=5, max_size=30))
def test_a_compacted_case_goes_on_as_the_whole_tree_would(db, flow, user, steps):
    drive(db, user(OFFICER), steps)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["again", "both", "some", "review", "done",
                                                                    "both", "some"]),
                                st.booleans()), min_size=5, max_size=30))
def test_a_compacted_case_of_a_model_with_joins_in_its_loop_goes_on_as_the_whole_tree_would(db, legacy_flow, user,
                                                                                            steps):
    drive(db, user(OFFICER), steps, key="legacy_loops")


def test_a_parallel_join_in_a_loop_merges_early_with_or_without_compaction(db, legacy_flow, user):
    # SpiffWorkflow 3.2: pass 1's branch that did not go on still counts in pass 2
    case, _ = drive(db, user(OFFICER), [(0, "both", False), (0, "", False), (0, "", False), (0, "both", True),
                                        (1, "", False)], key="legacy_loops")
    assert sorted(ready(db, case)) == ["Task_a", "Task_check"]


def test_a_case_sent_to_review_again_keeps_one_called_process(db, flow, user):
    review = [(0, "review", False), (0, "", False), (1, "", False)]  # its two branches, one after the other
    case, whole = drive(db, user(OFFICER), review * 4)
    with db.reading() as session:
        called = {case_id: len(json.loads(session.scalar(select(ProcessInstance.state).where(
            ProcessInstance.id == case_id)))["subprocesses"]) for case_id in (case, whole)}
    assert called == {case: 1, whole: 4}
    assert "Call_review" in observe(db, case)["highlights"][0]  # drawn as done, from its latest pass
