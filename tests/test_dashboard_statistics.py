"""The step statistics behind 办理效率 stay equal to the completed tasks: a completion adds its
task, a completion that fails adds nothing, migrating or terminating a case changes nothing,
and the migration's backfill rebuilds exactly what the completions wrote."""
from __future__ import annotations

import math
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.admin import instance_migration, management
from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import statistics, tasks
from engine.store.models import HumanTask, StepStatistic
from tests.conftest import FIXTURES

INSPECTION = {"party_name": "鲁山县某化工有限公司", "party_type": "organization", "fine_amount": "60000",
              "violation": "true", "inspected_on": "2026-11-20"}


def stored(db) -> dict:
    with db.reading() as session:
        return {(s.month, s.process_key, s.element_id, s.bucket): (s.count, pytest.approx(s.seconds, abs=1e-3))
                for s in session.scalars(select(StepStatistic))}


def truth(db) -> dict:
    """From the completed task rows, with the bucket rule written out: 8 buckets per doubling."""
    out: dict = defaultdict(lambda: [0, 0.0])
    with db.reading() as session:
        for t in session.scalars(select(HumanTask).where(HumanTask.state == "completed")):
            seconds = (t.completed_at - t.created_at).total_seconds()
            month = t.completed_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
            b = math.floor(8 * math.log2(seconds)) if seconds >= 1 else 0
            out[(month, t.process_key, t.element_id, b)][0] += 1
            out[(month, t.process_key, t.element_id, b)][1] += seconds
    return {k: (n, pytest.approx(s, abs=1e-3)) for k, (n, s) in out.items()}


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
    assert first == truth(db) and sum(n for n, _ in first.values()) == 1

    failing = ready(db, gateway)
    with pytest.raises(runtime.EngineStepFailed):
        complete(db, failing.id, reviewer, {"fine_amount": "3000"})  # no branch matches: rolled back
    assert stored(db) == first
    complete(db, failing.id, reviewer, {"fine_amount": "6000"})
    second = stored(db)
    assert second == truth(db) and {k[1] for k in second} == {"case_flow", "no_branch"}

    v2 = (FIXTURES / "engine" / "case_flow.bpmn").read_bytes().replace("测试检查流程".encode(), "测试检查流程（修订）".encode())
    with db.transaction() as session:
        repository.deploy(session, [repository.Source("case_flow.bpmn", v2)], source="cli")
    with db.transaction() as session:
        assert instance_migration.migrate(session, "case_flow", 2, chief).moved
    with db.transaction() as session:
        management.terminate(session, ended, chief, "经局务会研究")
    assert stored(db) == second == truth(db)

    complete(db, ready(db, moved).id, user("legal_review1"), {"opinion": "同意移送"})  # the migrated case counts on
    assert stored(db) == truth(db) and sum(n for n, _ in stored(db).values()) == 3

    incremental = stored(db)
    with db.transaction() as session:
        statistics.rebuild(session)  # the migration's backfill
    assert stored(db) == incremental
