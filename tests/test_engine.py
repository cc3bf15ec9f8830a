"""The engine through its API: a case with lanes, forms, a gateway, a decision table,
a boundary timer and a message that starts a second case, on a real database."""
from __future__ import annotations

import threading

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select, update

from engine.deploy import repository
from engine.execution import jobs, runtime
from engine.inbox import tasks
from engine.spec.forms import FormInvalid
from engine.store import history
from engine.store.models import AuditEvent, HumanTask, InstanceLink, Job, ProcessInstance, utcnow
from tests.conftest import FIXTURES

INSPECTION = {"party_name": "鲁山县某化工有限公司", "party_type": "organization", "fine_amount": "60000",
              "violation": "true", "inspected_on": "2026-11-20"}


@pytest.fixture
def flow(db, org):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "engine"]), source="cli")


def start(db, key, user, data=None):
    with db.transaction() as session:
        return runtime.start(session, key, user, data or {})


def inbox(db, user):
    with db.reading() as session:
        return [(t.element_id, t.business_key) for t in tasks.inbox(session, user)]


def only_task(db, instance):
    with db.reading() as session:
        ready = tasks.ready_tasks(session, instance.id)
    assert len(ready) == 1, [t.element_id for t in ready]
    return ready[0]


def complete(db, task, user, values):
    with db.transaction() as session:
        return tasks.complete(session, task.id, user, values)


def instance_row(db, instance_id):
    with db.reading() as session:
        return session.get(ProcessInstance, instance_id)


def test_a_violation_goes_through_review_and_starts_a_penalty_case(db, flow, user):
    inspector, reviewer, legal = user("supervision_investigate1"), user("supervision_review1"), user("legal_review1")
    case = start(db, "case_flow", inspector)
    assert inbox(db, inspector) == [("Task_inspect", case.business_key)]
    assert inbox(db, user("supervision_investigate2")) == [("Task_inspect", case.business_key)]  # same post
    assert inbox(db, reviewer) == [] and inbox(db, legal) == []

    inspect = only_task(db, case)
    assert inspect.priority == 70 and inspect.due_at is not None  # camunda:priority and dueDate kept
    complete(db, inspect, inspector, INSPECTION)

    # The decision table says an organisation fined 60,000 needs legal review:
    # the candidate-group expression sends 审查 to 法制股, not to 审查岗.
    review = only_task(db, case)
    assert (review.element_id, review.candidate_groups) == ("Task_review", "legal.review")
    assert inbox(db, legal) == [("Task_review", case.business_key)] and inbox(db, reviewer) == []
    assert instance_row(db, case.id).next_timer_at is not None

    complete(db, review, legal, {"opinion": "事实清楚，同意移送立案处罚"})
    assert instance_row(db, case.id).status == "completed"
    with db.reading() as session:
        link = session.scalar(select(InstanceLink))
        penalty = session.get(ProcessInstance, link.target_id)
        assert (link.source_id, link.message) == (case.id, "test_violation")
        assert penalty.process_key == "case_receiver" and penalty.title == INSPECTION["party_name"]
        assert [e.action for e in history.events_of(session, case.id)][-1] == "message_sent"
        assert session.scalar(select(func.count()).select_from(Job)) == 0  # timer gone with the task
    filing = only_task(db, penalty)
    assert (filing.element_id, filing.candidate_groups) == ("Task_file", "supervision.file")
    with db.reading() as session:
        data = runtime.case_data(runtime.load(session, instance_row(db, penalty.id), None).workflow)
    assert data["source_case"] == case.business_key and data["violation"]["fine_amount"] == 60000


def test_a_compliant_site_closes_the_case_through_the_default_flow(db, flow, user):
    inspector = user("supervision_investigate1")
    case = start(db, "case_flow", inspector)
    complete(db, only_task(db, case), inspector, {**INSPECTION, "violation": "false", "fine_amount": "0"})
    assert instance_row(db, case.id).status == "completed"
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(InstanceLink)) == 0


def test_a_citizen_below_5000_is_reviewed_by_the_review_post(db, flow, user):
    inspector = user("supervision_investigate1")
    case = start(db, "case_flow", inspector)
    complete(db, only_task(db, case), inspector, {**INSPECTION, "party_type": "citizen", "fine_amount": "4999.99"})
    assert only_task(db, case).candidate_groups == "supervision.review"


def test_the_review_deadline_timer_escalates_to_the_deputy(db, flow, user, clock):
    inspector = user("supervision_investigate1")
    case = start(db, "case_flow", inspector)
    complete(db, only_task(db, case), inspector, INSPECTION)
    assert jobs.run_once(db) == 0  # not due yet
    clock.advance(days=3, minutes=1)
    assert jobs.run_once(db, now=clock.now()) == 1
    escalate = only_task(db, case)
    assert (escalate.element_id, escalate.candidate_groups) == ("Task_escalate", "leadership.deputy")
    with db.reading() as session:
        review = session.scalar(select(HumanTask).where(HumanTask.element_id == "Task_review"))
        assert review.state == "cancelled"
    assert inbox(db, user("legal_review1")) == []
    complete(db, escalate, user("leadership_deputy"), {})
    assert instance_row(db, case.id).status == "completed"


def test_form_errors_change_nothing(db, flow, user):
    inspector = user("supervision_investigate1")
    case = start(db, "case_flow", inspector)
    task = only_task(db, case)
    with pytest.raises(FormInvalid) as err:
        complete(db, task, inspector, {"party_type": "company", "fine_amount": "12.345", "inspected_on": "2026-13-01"})
    assert set(err.value.errors) == {"party_name", "party_type", "fine_amount", "inspected_on"}
    assert "必填" in err.value.errors["party_name"]
    assert only_task(db, case).id == task.id and only_task(db, case).state == "ready"


def test_a_task_of_another_post_cannot_be_completed(db, flow, user):
    case = start(db, "case_flow", user("supervision_investigate1"))
    with pytest.raises(tasks.NotPermitted):
        complete(db, only_task(db, case), user("supervision_review1"), INSPECTION)


def test_two_people_completing_one_task_at_once_one_wins(db, flow, user):
    a, b = user("supervision_investigate1"), user("supervision_investigate2")
    case = start(db, "case_flow", a)
    task = only_task(db, case)
    barrier, outcomes = threading.Barrier(2), {}

    def attempt(who):
        barrier.wait()
        try:
            complete(db, task, who, INSPECTION)
            outcomes[who.username] = "ok"
        except tasks.TaskAlreadyCompleted as e:
            outcomes[who.username] = str(e)

    threads = [threading.Thread(target=attempt, args=(u,)) for u in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values())[0] == "ok"
    loser = [v for v in outcomes.values() if v != "ok"]
    assert len(loser) == 1 and "调查" in loser[0] and "该任务已由" in loser[0] and "办理" in loser[0]
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "complete")) == 1
    assert only_task(db, case).element_id == "Task_review"


def _due_timer_case(db, user):
    inspector = user("supervision_investigate1")
    case = start(db, "case_flow", inspector)
    complete(db, only_task(db, case), inspector, INSPECTION)
    return case


def _timer_events(db, case):
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "timer", AuditEvent.instance_id == case.id))


def test_two_workers_fire_a_due_timer_exactly_once(db, flow, user, clock):
    case = _due_timer_case(db, user)
    clock.advance(days=4)
    barrier, ran = threading.Barrier(2), []

    def worker(name):
        barrier.wait()
        ran.append(jobs.run_once(db, worker=name, now=clock.now()))
    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ran) == [0, 1]
    assert _timer_events(db, case) == 1
    assert only_task(db, case).element_id == "Task_escalate"


def test_a_worker_killed_mid_job_leaves_it_to_another_after_the_lease(db, flow, user, clock):
    case = _due_timer_case(db, user)
    clock.advance(days=4)
    [job_id] = jobs.claim_due(db, "crashed-worker", now=clock.now())  # claimed, then the process died
    assert jobs.run_once(db, worker="w2", now=clock.now()) == 0       # lease still held
    clock.advance(seconds=jobs.LEASE.total_seconds() + 1)
    assert jobs.run_once(db, worker="w2", now=clock.now()) == 1
    # the dead worker's late attempt does nothing: the job is no longer its own
    assert jobs.run_job(db, job_id, "crashed-worker") is False
    assert _timer_events(db, case) == 1


def test_the_worker_sleeps_until_the_next_timer_and_a_new_timer_wakes_it(db, flow, user, clock):
    """The worker's next wake is the earliest due job; on PostgreSQL the transaction that adds
    a timer job due soon wakes a listening worker (SQLite workers poll: nothing to wait for)."""
    assert jobs.next_wake(db) is None
    waiter = jobs.Waiter(db)
    try:
        waiter.wait(0)  # starts listening (PostgreSQL)
        clock.advance(days=-3, seconds=2)  # the 3-day review deadline falls due in 2 seconds: announced
        case = _due_timer_case(db, user)
        woken = waiter.wait(30)
        assert woken is (not db.is_sqlite)
        with db.reading() as session:
            due = session.scalar(select(Job.due_at).where(Job.instance_id == case.id))
        assert jobs.next_wake(db) == due
        clock.advance(days=4)
        claimed_at = clock.now()
        [job_id] = jobs.claim_due(db, "w1", now=claimed_at)  # leased: the next wake is when the lease ends
        assert jobs.next_wake(db, now=claimed_at) == claimed_at + jobs.LEASE
        assert jobs.run_job(db, job_id, "w1")
        assert jobs.next_wake(db) is None  # fired; the escalation step has no timer
    finally:
        waiter.close()


def test_a_running_worker_fires_a_due_timer_and_stops_when_told(db, flow, user, clock):
    case = _due_timer_case(db, user)
    clock.advance(days=4)
    with db.transaction() as session:  # due now for the worker, which reads the real clock
        session.execute(update(Job).where(Job.instance_id == case.id).values(due_at=utcnow()))
    stop = threading.Event()
    thread = threading.Thread(target=jobs.run_forever, args=(db, 0.1, stop))
    thread.start()
    try:
        for _ in range(300):
            if _timer_events(db, case):
                break
            stop.wait(0.1)
    finally:
        stop.set()
        thread.join()
    assert _timer_events(db, case) == 1 and only_task(db, case).element_id == "Task_escalate"


def test_an_engine_step_failure_rolls_the_action_back(db, org, user, tmp_path):
    bpmn = (FIXTURES / "engine" / "case_receiver.bpmn").read_text()
    broken = bpmn.replace("party_name = violation['party_name']", "party_name = violation['no_such_key']")
    path = tmp_path / "case_receiver.bpmn"
    path.write_text(broken)
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([path]), source="cli")
        repository.deploy(session, repository.read_paths([FIXTURES / "engine" / "case_flow.bpmn",
                                                          FIXTURES / "engine" / "test_review_rule.dmn"]), source="cli")
    inspector, legal = user("supervision_investigate1"), user("legal_review1")
    case = start(db, "case_flow", inspector)
    complete(db, only_task(db, case), inspector, INSPECTION)
    review = only_task(db, case)
    with pytest.raises(runtime.EngineStepFailed) as err:
        complete(db, review, legal, {"opinion": "同意移送"})
    assert "Script_copy" in str(err.value) and "操作已撤销" in str(err.value)
    again = only_task(db, case)
    assert (again.id, again.state, again.completed_by) == (review.id, "ready", None)
    assert instance_row(db, case.id).status == "running"
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 1


def test_a_gateway_without_a_matching_branch_rolls_back_and_names_the_gateway(db, org, user):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "no_branch"]), source="cli")
    reviewer = user("supervision_review1")
    case = start(db, "no_branch", reviewer)
    task = only_task(db, case)
    with pytest.raises(runtime.EngineStepFailed) as err:
        complete(db, task, reviewer, {"fine_amount": "3000"})  # neither ≥ 5000 nor < 1000
    assert "Gw_amount" in str(err.value)
    assert only_task(db, case).state == "ready" and instance_row(db, case.id).status == "running"
    complete(db, task, reviewer, {"fine_amount": "6000"})
    assert instance_row(db, case.id).status == "completed"


def test_two_submissions_of_one_start_form_at_once_start_one_case(db, flow, user):
    inspector = user("supervision_investigate1")
    barrier, outcomes = threading.Barrier(2), []

    def submit():
        barrier.wait()
        try:
            with db.transaction() as session:
                runtime.start(session, "case_flow", inspector, {}, start_token="form-7f3a")
            outcomes.append("started")
        except runtime.AlreadyStarted:
            outcomes.append("refused")

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "started"]
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 1


def _state_reads(db):
    """A list that collects the statements reading a case's stored state."""
    from sqlalchemy import event
    reads = []

    def seen(conn, cursor, statement, *args):
        if statement.lstrip().startswith("SELECT process_instances.state "):
            reads.append(statement)
    event.listen(db.engine, "before_cursor_execute", seen)
    return reads


def test_a_page_borrows_the_workflow_kept_by_the_last_action_and_gives_it_back_unchanged(db, flow, user):
    inspector = user("supervision_investigate1")
    case = start(db, "case_flow", inspector)
    key = (str(db.engine.url), case.id)
    kept = runtime._restored._items[key][1]  # the start's commit kept its workflow
    with db.reading() as session:  # a page: no restore, the kept workflow lent to it
        assert runtime.load(session, session.get(ProcessInstance, case.id), inspector).workflow is kept
        assert key not in runtime._restored._items  # nobody else gets it meanwhile
    assert runtime._restored._items[key][1] is kept  # back, unchanged
    with db.reading() as session:  # a page that changed it: dropped, the next action restores
        workflow = runtime.load(session, session.get(ProcessInstance, case.id), inspector).workflow
        workflow.get_tasks(state=TaskState.READY)[0].data["changed_by_a_page"] = True
    assert key not in runtime._restored._items
    with db.transaction() as session:
        task = only_task(db, case)
        tasks.complete(session, task.id, inspector, INSPECTION)
    with db.reading() as session:
        data = runtime.load(session, session.get(ProcessInstance, case.id), inspector).workflow.get_tasks()
        assert not any("changed_by_a_page" in t.data for t in data)


def test_a_page_restores_its_case_once_and_a_write_session_sees_each_new_state(db, flow, user):
    inspector = user("supervision_investigate1")
    case = start(db, "case_flow", inspector)
    task = only_task(db, case)
    reads = _state_reads(db)
    with db.reading() as session:  # a page: task view, summary, 文书 and 笔录 all load the case
        row = session.get(ProcessInstance, case.id)
        first, second = (runtime.load(session, row, inspector) for _ in range(2))
        assert second.workflow is first.workflow and second is not first
        assert len(reads) == 1  # read once: the page shows one state of the case
        with db.reading() as other:  # another session meanwhile restores its own, never shares one
            assert runtime.load(other, other.get(ProcessInstance, case.id), inspector).workflow is not first.workflow
    with db.transaction() as session:  # a write session checks the stored state on every load
        detached = instance_row(db, case.id)  # a row from another session: its state is read here
        before = runtime.load(session, detached, inspector).workflow
        tasks.complete(session, task.id, inspector, INSPECTION)  # this session's own write
        after = runtime.load(session, detached, inspector).workflow
        assert after is not before
        assert [t.task_spec.bpmn_id for t in before.get_tasks(state=TaskState.READY)] == ["Task_inspect"]
        assert "Task_inspect" not in [t.task_spec.bpmn_id for t in after.get_tasks(state=TaskState.READY)]
