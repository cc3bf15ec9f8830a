"""The step statistics behind 办理效率 stay equal to the completed tasks, and those behind the
diagram heatmap to the completed tasks of completed cases: a completion adds its task (and a
case that ends, its tasks), a completion that fails adds nothing, migrating or terminating a
case changes nothing, and the migrations' backfills rebuild exactly what the completions wrote.
So do 办理效率's cases started and completed per day and its 法制审核 outcomes per day."""
from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import select

from engine.admin import instance_migration, management
from engine.deploy import repository
from engine.execution import case_statistics, runtime
from engine.inbox import statistics, tasks
from engine.store.models import ActivityStatistic, CaseCount, HumanTask, ProcessInstance, StepStatistic
from monitoring.reviews import ReviewCount
from tests.conftest import FIXTURES
from zhifa import schema

TZ = ZoneInfo("Asia/Shanghai")

INSPECTION = {"party_name": "鲁山县某化工有限公司", "party_type": "organization", "fine_amount": "60000",
              "violation": "true", "inspected_on": "2026-11-20"}


def stored(db) -> dict:
    with db.reading() as session:
        return {(s.month, s.process_key, s.element_id): (s.name, s.count, pytest.approx(s.seconds, abs=1e-3),
                                                         {int(b): n for b, n in json.loads(s.buckets).items()})
                for s in session.scalars(select(StepStatistic))}


def truth(db) -> dict:
    """From the completed task rows, with the bucket rule written out: 8 buckets per doubling; the name
    of the latest completion."""
    out: dict = defaultdict(lambda: ["", 0, 0.0, Counter()])
    with db.reading() as session:
        for t in session.scalars(select(HumanTask).where(HumanTask.state == "completed")
                                 .order_by(HumanTask.completed_at)):
            seconds = (t.completed_at - t.created_at).total_seconds()
            step = out[(t.completed_at.astimezone(TZ).strftime("%Y-%m"), t.process_key, t.element_id)]
            step[0] = t.name
            step[1] += 1
            step[2] += seconds
            step[3][math.floor(8 * math.log2(seconds)) if seconds >= 1 else 0] += 1
    return {k: (name, n, pytest.approx(s, abs=1e-3), dict(h)) for k, (name, n, s, h) in out.items()}


def stored_activities(db) -> dict:
    with db.reading() as session:
        return {(a.definition_id, a.element_id): (a.count, pytest.approx(a.seconds, abs=1e-3))
                for a in session.scalars(select(ActivityStatistic))}


def activity_truth(db) -> dict:
    """Per process version and step: the completed tasks of the completed cases."""
    out: dict = defaultdict(lambda: [0, 0.0])
    with db.reading() as session:
        for definition_id, t in session.execute(
                select(ProcessInstance.definition_id, HumanTask).join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
                .where(ProcessInstance.status == "completed", HumanTask.state == "completed")):
            out[(definition_id, t.element_id)][0] += 1
            out[(definition_id, t.element_id)][1] += (t.completed_at - t.created_at).total_seconds()
    return {k: (n, pytest.approx(s, abs=1e-3)) for k, (n, s) in out.items()}


def both_exact(db) -> None:
    assert stored(db) == truth(db)
    assert stored_activities(db) == activity_truth(db)


def complete(db, task_id, who, values):
    with db.transaction() as session:
        tasks.complete(session, task_id, who, values)


def ready(db, case_id):
    with db.reading() as session:
        return tasks.ready_tasks(session, case_id)[0]


def test_statistics_follow_completion_rollback_migration_and_termination(db, org, user, tmp_path):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "engine", FIXTURES / "no_branch"]), source="cli")
    inspector, reviewer, chief = user("supervision_investigate1"), user("supervision_review1"), user("leadership_chief")
    with db.transaction() as session:
        moved, ended = (runtime.start(session, "case_flow", inspector, {}).id for _ in range(2))
        gateway = runtime.start(session, "no_branch", reviewer, {}).id
    assert stored(db) == {}

    complete(db, ready(db, moved).id, inspector, INSPECTION)
    first = stored(db)
    assert first == truth(db) and sum(n for _, n, _, _ in first.values()) == 1

    failing = ready(db, gateway)
    with pytest.raises(runtime.EngineStepFailed):
        complete(db, failing.id, reviewer, {"fine_amount": "3000"})  # no branch matches: rolled back
    assert stored(db) == first and stored_activities(db) == {}
    complete(db, failing.id, reviewer, {"fine_amount": "6000"})
    second = stored(db)
    assert second == truth(db) and {k[1] for k in second} == {"case_flow", "no_branch"}
    assert {k[1] for k in stored_activities(db)} == {"Task_amount"}  # the no_branch case has ended
    both_exact(db)

    v2 = (FIXTURES / "engine" / "case_flow.bpmn").read_bytes().replace("测试检查流程".encode(), "测试检查流程（修订）".encode())
    with db.transaction() as session:
        repository.deploy(session, [repository.Source("case_flow.bpmn", v2)], source="cli")
    with db.transaction() as session:
        assert instance_migration.migrate(session, "case_flow", 2, chief).moved
    with db.transaction() as session:
        management.terminate(session, ended, chief, "经局务会研究")
    assert stored(db) == second == truth(db)
    both_exact(db)

    complete(db, ready(db, moved).id, user("legal_review1"), {"opinion": "同意移送"})  # the migrated case counts on
    assert stored(db) == truth(db) and sum(n for _, n, _, _ in stored(db).values()) == 3
    with db.reading() as session:
        version_2 = session.get(ProcessInstance, moved)
        assert version_2.status == "completed"
        version_2 = version_2.definition_id
    assert {(d, e) for d, e in stored_activities(db) if e.startswith("Task_") and e != "Task_amount"} == {
        (version_2, "Task_inspect"), (version_2, "Task_review")}  # under the version it ended in
    both_exact(db)

    incremental, activities = stored(db), stored_activities(db)
    with db.transaction() as session:
        statistics.rebuild(session)  # the migrations' backfills
        case_statistics.rebuild(session)
    assert stored(db) == incremental and stored_activities(db) == activities


# --- cases started and completed per day, 法制审核 outcomes per day ------------------------------

def counted(db) -> tuple[dict, dict]:
    with db.reading() as session:
        cases = {(c.day, c.process_key): (c.started, c.completed) for c in session.scalars(select(CaseCount))}
        reviews = {(r.day, r.process_key, r.outcome): r.count for r in session.scalars(select(ReviewCount))}
    return cases, reviews


def counted_truth(db) -> tuple[dict, dict]:
    """What the page used to count from the rows: every case by its start day, completed cases
    (not terminated ones) by their end day, 法制审核 tasks by completion day and known outcome."""
    started, completed, reviews = Counter(), Counter(), Counter()
    with db.reading() as session:
        for i in session.scalars(select(ProcessInstance)):
            started[(i.started_at.astimezone(TZ).date(), i.process_key)] += 1
            if i.status == "completed":
                completed[(i.ended_at.astimezone(TZ).date(), i.process_key)] += 1
        for t in session.scalars(select(HumanTask).where(HumanTask.state == "completed",
                                                         HumanTask.element_id == "UserTask_legal_review")):
            outcome = json.loads(t.submitted).get("legal_review_outcome")
            if outcome in ("approved", "reinvestigate", "revise"):
                reviews[(t.completed_at.astimezone(TZ).date(), t.process_key, outcome)] += 1
    return {k: (started[k], completed[k]) for k in started | completed}, dict(reviews)


def review(db, case_id, who, outcome, amount="5000", waited_hours=0):
    """Complete the case's 法制审核, its task created ``waited_hours`` earlier (another duration bucket)."""
    task_id = ready(db, case_id).id
    with db.transaction() as session:
        task = session.get(HumanTask, task_id)
        task.created_at -= timedelta(hours=waited_hours)
    complete(db, task_id, who, {"legal_review_outcome": outcome, "fine_amount": amount})


def all_counts(db) -> tuple:
    return (*counted(db), stored(db))


def test_case_and_review_counts_follow_start_completion_rollback_migration_and_termination(db, org, user):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "review_flow", FIXTURES / "no_branch"]),
                          source="cli")
    officer, lawyer, chief = user("supervision_investigate1"), user("legal_review1"), user("leadership_chief")
    with pytest.raises(RuntimeError), db.transaction() as session:
        runtime.start(session, "review_flow", officer, {})
        raise RuntimeError("the request fails after the start")
    assert counted(db) == ({}, {})
    with db.transaction() as session:
        moved, ended, done = (runtime.start(session, "review_flow", officer, {}).id for _ in range(3))
        runtime.start(session, "no_branch", officer, {})
    cases, reviews = counted(db)
    assert (cases, reviews) == counted_truth(db) and sum(s for s, _ in cases.values()) == 4 and reviews == {}

    review(db, done, lawyer, "revise")
    review(db, done, lawyer, "reinvestigate", waited_hours=30)
    before = all_counts(db)
    with pytest.raises(runtime.EngineStepFailed):  # no flow matches: rolled back, nothing counted
        review(db, done, lawyer, "approved", "500", waited_hours=30)
    assert all_counts(db) == before
    review(db, done, lawyer, "approved")  # the task has waited 30 hours since the failed attempt
    cases, reviews = counted(db)
    assert (cases, reviews) == counted_truth(db) and stored(db) == truth(db)
    assert sum(c for _, c in cases.values()) == 1 and sorted(reviews.values()) == [1, 1, 1]
    assert [(n, len(buckets)) for _, n, _, buckets in stored(db).values()] == [(3, 2)]  # one row; 30 hours twice

    review(db, moved, lawyer, "revise", waited_hours=2)
    v2 = (FIXTURES / "review_flow" / "review_flow.bpmn").read_text(encoding="utf-8").replace(
        'name="法制审核"', 'name="法制审核（修订）"').encode()  # the step renamed: its statistics take the new name
    with db.transaction() as session:
        repository.deploy(session, [repository.Source("review_flow.bpmn", v2)], source="cli")
    with db.transaction() as session:
        assert instance_migration.migrate(session, "review_flow", 2, chief).moved
    with db.transaction() as session:
        management.terminate(session, ended, chief, "经局务会研究")
    settled = counted(db)
    assert settled == counted_truth(db) and sum(c for _, c in settled[0].values()) == 1  # terminated: not completed
    review(db, moved, lawyer, "approved")  # the migrated case counts on, under its process key
    cases, reviews = counted(db)
    assert (cases, reviews) == counted_truth(db) and stored(db) == truth(db) and sum(c for _, c in cases.values()) == 2
    assert {k for _, k, _ in reviews} == {"review_flow"} and sum(reviews.values()) == 5
    assert {name for name, *_ in stored(db).values()} == {"法制审核（修订）"}

    counts = all_counts(db)  # the migration's backfill rebuilds what the actions wrote; its downgrade the bucket rows
    config = schema.alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "19_search")
        by_bucket = {(m, k, e, b): n for m, k, e, b, n in connection.exec_driver_sql(
            "SELECT month, process_key, element_id, bucket, count FROM step_statistics")}
        command.upgrade(config, "head")
    assert by_bucket == {(*step, b): n for step, (_, _, _, buckets) in counts[2].items() for b, n in buckets.items()}
    assert all_counts(db) == counts
