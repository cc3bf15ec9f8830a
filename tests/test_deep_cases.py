"""Cases sent round a loop many times (engine/execution/tree_depth.py): the task tree's depth grows
with each pass, and SpiffWorkflow stopped finding steps past depth 1,000 (the case sat with no
ready task and no error) and recursed as deep when joining parallel branches or terminating. A
loop of engine steps alone is stopped with a message naming the step (task_scan.MAX_ENGINE_STEPS).

A case is saved with its loop's earlier passes dropped (engine/execution/compaction.py), so these
cases are stored as they were before that: as the bureau's cases saved by earlier versions are.
Their next action restores the deep tree, acts on it and saves it compacted."""
from __future__ import annotations

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.admin import management
from engine.deploy import repository
from engine.execution import compaction, jobs, runtime, task_scan
from engine.execution.errors import EngineStepFailed
from engine.inbox import tasks
from engine.store.models import ProcessInstance
from tests.conftest import FIXTURES


@pytest.fixture
def flow(db, org):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "deep"]), source="cli")


def ready(db, case_id):
    with db.reading() as session:
        return {t.element_id: t.id for t in tasks.ready_tasks(session, case_id)}


def depth_of_ready(db, case_id) -> int:
    with db.reading() as session:
        workflow = runtime.load(session, session.get(ProcessInstance, case_id), None).workflow
        task, depth = next(task_scan.tasks_in(workflow, TaskState.READY)), 0
        while task.parent is not None:
            task, depth = task.parent, depth + 1
    return depth


def start(db, user, key="deep_loop"):
    """Start a case and store it whole, as a version before compaction did."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compaction, "compact", lambda workflow: None)
        with db.transaction() as session:
            case = runtime.start(session, key, user("supervision_investigate1"), {})
    runtime._restored.clear()
    return case


def test_a_case_past_depth_1000_joins_its_branches_keeps_its_deadline_and_ends(db, flow, user, clock):
    officer = user("supervision_investigate1")
    case = start(db, user)  # 400 passes of three steps each, then two parallel steps
    assert set(ready(db, case.id)) == {"Task_a", "Task_b"}
    assert depth_of_ready(db, case.id) > 1200
    for element in ("Task_a", "Task_b"):
        runtime._restored.clear()  # restored from the stored state, as after a restart
        with db.transaction() as session:
            tasks.complete(session, ready(db, case.id)[element], officer, {})
    assert set(ready(db, case.id)) == {"Task_last"}  # the join found both branches below depth 1,000
    assert depth_of_ready(db, case.id) < 15  # saved without the loop's earlier passes
    with db.reading() as session:
        assert session.get(ProcessInstance, case.id).next_timer_at is not None  # its deadline is kept
    clock.advance(days=3, minutes=1)
    assert jobs.run_once(db, now=clock.now()) == 1
    with db.reading() as session:
        assert session.get(ProcessInstance, case.id).status == "completed"  # ended by its deadline


def test_a_case_past_depth_1000_can_be_terminated(db, flow, user):
    case = start(db, user)
    with db.transaction() as session:
        management.terminate(session, case.id, user("leadership_chief"), "当事人已注销")
    runtime._restored.clear()
    with db.reading() as session:
        instance = session.get(ProcessInstance, case.id)
        assert instance.status == "terminated" and tasks.ready_tasks(session, case.id) == []
        workflow = runtime.load(session, instance, None).workflow  # as stored: no step below depth 1,000 left open
        assert next(task_scan.tasks_in(workflow, TaskState.NOT_FINISHED_MASK), None) is None


def test_a_loop_of_engine_steps_alone_is_stopped_and_nothing_is_saved(db, flow, user):
    with pytest.raises(EngineStepFailed) as failed:
        start(db, user, "endless_loop")
    assert failed.value.element_id in ("Script_count", "Gw_more", "Gw_merge")
    assert f"超过 {task_scan.MAX_ENGINE_STEPS} 个" in str(failed.value) and "循环" in str(failed.value)
    with db.reading() as session:
        assert session.query(ProcessInstance).count() == 0
