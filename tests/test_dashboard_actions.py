"""Suspending, resuming and terminating a case: the permission, the audit trail, the inboxes."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.access.identity import NotPermitted
from engine.admin import management
from engine.deploy import repository
from engine.execution import jobs, runtime
from engine.inbox import tasks
from engine.store.models import AuditEvent, HumanTask, Job, MessageSubscription, ProcessInstance
from tests.conftest import FIXTURES
from tests.webclient import Browser, csrf_token, make_app

INSPECTION = {"party_name": "鲁山县某化工有限公司", "party_type": "organization", "fine_amount": "60000",
              "violation": "true", "inspected_on": "2026-11-20"}


@pytest.fixture
def flow(db, org):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "engine"]), source="cli")


def start(db, user):
    with db.transaction() as session:
        return runtime.start(session, "case_flow", user, {})


def inbox_keys(db, user):
    with db.reading() as session:
        return [t.business_key for t in tasks.inbox(session, user)]


def do(db, action, instance_id, user, reason="经局务会研究"):
    with db.transaction() as session:
        return getattr(management, action)(session, instance_id, user, reason)


def events(db, instance_id):
    with db.reading() as session:
        return [(e.action, e.actor, json.loads(e.details).get("reason")) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id))
            if e.action in management.MANAGEMENT_ACTIONS]


def status(db, instance_id):
    with db.reading() as session:
        return session.get(ProcessInstance, instance_id).status


def test_a_suspended_case_leaves_the_inboxes_until_resumed(db, flow, user):
    inspector, deputy = user("supervision_investigate1"), user("leadership_deputy")
    case = start(db, inspector)
    assert inbox_keys(db, inspector) == [case.business_key]
    do(db, "suspend", case.id, deputy, "当事人申请中止调查")
    assert status(db, case.id) == "suspended"
    assert inbox_keys(db, inspector) == [] and inbox_keys(db, user("supervision_investigate2")) == []
    with db.reading() as session:
        assert tasks.count_inbox(session, inspector) == 0
        task = tasks.ready_tasks(session, case.id)[0]
    with pytest.raises(runtime.InstanceNotActive), db.transaction() as session:
        tasks.complete(session, task.id, inspector, INSPECTION)
    do(db, "resume", case.id, deputy, "中止情形消除")
    assert status(db, case.id) == "running"
    assert inbox_keys(db, inspector) == [case.business_key]
    with db.transaction() as session:
        tasks.complete(session, task.id, inspector, INSPECTION)
    assert events(db, case.id) == [("suspend", "leadership_deputy", "当事人申请中止调查"),
                                   ("resume", "leadership_deputy", "中止情形消除")]


def test_suspending_removes_the_timer_and_resuming_restores_it(db, flow, user, clock):
    inspector, chief = user("supervision_investigate1"), user("leadership_chief")
    case = start(db, inspector)
    with db.transaction() as session:
        tasks.complete(session, tasks.ready_tasks(session, case.id)[0].id, inspector, INSPECTION)

    def timer_jobs():
        with db.reading() as session:
            return session.scalars(select(Job).where(Job.instance_id == case.id)).all()
    assert len(timer_jobs()) == 1
    do(db, "suspend", case.id, chief)
    assert timer_jobs() == []
    clock.advance(days=3, minutes=1)
    assert jobs.run_once(db, now=clock.now()) == 0  # a suspended case's deadline does not fire
    do(db, "resume", case.id, chief)
    assert len(timer_jobs()) == 1
    assert jobs.run_once(db, now=clock.now()) == 1
    with db.reading() as session:
        assert [t.element_id for t in tasks.ready_tasks(session, case.id)] == ["Task_escalate"]


def test_terminating_cancels_the_tasks_and_ends_the_case(db, flow, user):
    inspector, chief = user("supervision_investigate1"), user("leadership_chief")
    case = start(db, inspector)
    with db.transaction() as session:
        tasks.complete(session, tasks.ready_tasks(session, case.id)[0].id, inspector, INSPECTION)
    do(db, "terminate", case.id, chief, "当事人已注销，终止调查")
    with db.reading() as session:
        row = session.get(ProcessInstance, case.id)
        assert row.status == "terminated" and row.ended_at is not None and row.next_timer_at is None
        assert [t.state for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == case.id,
                                                                         HumanTask.element_id == "Task_review"))] == ["cancelled"]
        assert session.scalars(select(Job).where(Job.instance_id == case.id)).all() == []
        assert session.scalars(select(MessageSubscription).where(MessageSubscription.instance_id == case.id)).all() == []
    assert inbox_keys(db, user("legal_review1")) == []
    assert events(db, case.id) == [("terminate", "leadership_chief", "当事人已注销，终止调查")]
    with pytest.raises(management.WrongStatus, match="已终止"):
        do(db, "resume", case.id, chief)
    with db.reading() as session:  # the terminated case still loads (case page, history)
        runtime.load(session, session.get(ProcessInstance, case.id), chief)


@pytest.mark.parametrize("who", ["supervision_investigate1", "legal_review1"])
def test_the_actions_need_the_manage_permission(db, flow, user, who):
    case = start(db, user("supervision_investigate1"))
    for action in management.MANAGEMENT_ACTIONS:
        with pytest.raises(NotPermitted):
            do(db, action, case.id, user(who))
    assert status(db, case.id) == "running" and events(db, case.id) == []


def test_a_reason_is_required_and_a_wrong_status_changes_nothing(db, flow, user):
    inspector, chief = user("supervision_investigate1"), user("leadership_chief")
    case = start(db, inspector)
    with pytest.raises(management.ReasonRequired, match="请填写原因"):
        do(db, "suspend", case.id, chief, "   ")
    with pytest.raises(management.WrongStatus, match="办理中"):
        do(db, "resume", case.id, chief)
    assert status(db, case.id) == "running" and events(db, case.id) == []
    assert inbox_keys(db, inspector) == [case.business_key]


# --- through the web ------------------------------------------------------------------

@pytest.fixture
def app(db, flow, tmp_path):
    return make_app(db, tmp_path)


def logged_in(app, username):
    browser = Browser(app)
    assert browser.login(username).status_code == 302
    return browser


def test_the_manage_page_suspends_and_resumes_with_a_reason(app, db, user):
    case = start(db, user("supervision_investigate1"))
    browser = logged_in(app, "leadership_chief")
    page = f"/dashboard/instances/{case.id}"
    assert "挂起" in browser.get(page).get_data(as_text=True)
    response = browser.post_form(page, {"reason": ""}, action=f"{page}/suspend")
    assert response.status_code == 400 and "请填写原因" in response.get_data(as_text=True)
    assert status(db, case.id) == "running"
    response = browser.post_form(page, {"reason": "<b>待鉴定</b>"}, action=f"{page}/suspend")
    assert response.status_code == 302 and status(db, case.id) == "suspended"
    html = browser.get(page).get_data(as_text=True)
    assert "&lt;b&gt;待鉴定&lt;/b&gt;" in html and "<b>待鉴定</b>" not in html
    officer = logged_in(app, "supervision_investigate1")
    assert case.business_key not in officer.get("/inbox").get_data(as_text=True)
    browser.post_form(page, {"reason": "鉴定完成"}, action=f"{page}/resume")
    assert status(db, case.id) == "running"
    assert case.business_key in officer.get("/inbox").get_data(as_text=True)


def test_the_actions_are_refused_without_permission_or_csrf(app, db, user):
    case = start(db, user("supervision_investigate1"))
    page = f"/dashboard/instances/{case.id}"
    legal = logged_in(app, "legal_review1")  # sees dashboards, may not manage
    html = legal.get(page).get_data(as_text=True)
    assert "终止案件" not in html
    token = csrf_token(legal.get("/dashboard").get_data(as_text=True))
    assert legal.client.post(f"{page}/terminate", data={"csrf_token": token, "reason": "x"}).status_code == 403
    officer = logged_in(app, "supervision_investigate1")
    assert officer.get(page).status_code == 403
    chief = logged_in(app, "leadership_chief")
    assert chief.client.post(f"{page}/terminate", data={"reason": "无令牌"}).status_code == 400
    assert status(db, case.id) == "running" and events(db, case.id) == []


def test_deadline_counts_equal_the_task_rows_after_claims_suspensions_and_completions(db, flow, user):
    """超期督办 counts from the candidate rows and 流程概况 from the task index: both equal a count
    over the task rows themselves after a mix of actions (a suspended case's tasks count nowhere)."""
    from collections import Counter
    from datetime import timedelta

    from monitoring import dashboards
    inspector, chief = user("supervision_investigate1"), user("leadership_chief")
    cases = [start(db, inspector) for _ in range(5)]
    with db.transaction() as session:
        first = tasks.ready_tasks(session, cases[0].id)[0]
        tasks.claim(session, first.id, inspector)
        tasks.complete(session, tasks.ready_tasks(session, cases[1].id)[0].id, inspector, INSPECTION)
    do(db, "suspend", cases[2].id, chief)
    do(db, "terminate", cases[3].id, chief)
    do(db, "suspend", cases[4].id, chief)
    do(db, "resume", cases[4].id, chief)
    with db.reading() as session:
        latest = max(t.due_at for t in session.scalars(select(HumanTask).where(HumanTask.due_at.is_not(None))))
    for now in (latest - timedelta(days=1), latest + timedelta(days=1)):  # due soon, then overdue
        h = dashboards.horizon(now)
        with db.reading() as session:
            board = dashboards.overdue_board(session, chief, now=now)
            overview = dashboards.overview(session, chief, now=now)
            rows = session.scalars(select(HumanTask).where(HumanTask.state == "ready")).all()
        truth = Counter()
        for t in rows:
            if not t.suspended and t.due_at is not None and t.due_at < h.soon_limit:
                for post in t.candidate_groups.split(","):
                    truth[(post, t.due_at < h.now)] += 1
        got = Counter()
        for d in board.departments:
            for p in d.posts:
                got[(p.code, True)] += p.overdue
                got[(p.code, False)] += p.due_soon
        assert +got == +truth and sum(truth.values()) == 2  # cases 0 (claimed) and 4 (resumed); 审查 has no due date
        totals = overview.totals()
        assert (totals.overdue, totals.due_soon) == (sum(n for (_, o), n in truth.items() if o),
                                                     sum(n for (_, o), n in truth.items() if not o))
        assert board.total == sum(truth.values())


def test_the_kept_status_counts_follow_every_change_of_status_and_version(db, flow, user):
    """流程概况 reads cases per version and status from ``status_counts`` (issue #17): after a case is
    started, completed (one starting another by message), suspended, resumed, terminated or migrated
    to a new version, and after a refused action, the kept rows equal a count over the cases, and so
    do 流程概况's figures and the open cases per version on the 流程部署 pages."""
    from sqlalchemy import func

    from engine.admin import catalog, instance_migration
    from engine.store.models import StatusCount
    from monitoring import dashboards

    def kept_and_counted():
        with db.reading() as session:
            kept = {(d, s): n for d, s, n in session.execute(
                select(StatusCount.definition_id, StatusCount.status, StatusCount.count)) if n}
            counted = {(d, s): n for d, s, n in session.execute(
                select(ProcessInstance.definition_id, ProcessInstance.status, func.count())
                .group_by(ProcessInstance.definition_id, ProcessInstance.status))}
            shown = {(r.definition_id, s): getattr(r, s) for r in dashboards.overview(session, chief).rows
                     for s in ("running", "suspended", "completed", "terminated") if getattr(r, s)}
            versions = {r.definition.id: r.running for rows in catalog.process_versions(session).values() for r in rows}
        assert kept == counted == shown
        assert versions == {d: counted.get((d, "running"), 0) + counted.get((d, "suspended"), 0) for d in versions}
        return counted

    inspector, legal, chief = user("supervision_investigate1"), user("legal_review1"), user("leadership_chief")
    cases = [start(db, inspector) for _ in range(6)]
    assert sum(kept_and_counted().values()) == 6
    with db.transaction() as session:  # no violation: the case ends at once
        tasks.complete(session, tasks.ready_tasks(session, cases[0].id)[0].id, inspector,
                       {**INSPECTION, "violation": "false", "fine_amount": "0"})
    with db.transaction() as session:
        tasks.complete(session, tasks.ready_tasks(session, cases[1].id)[0].id, inspector, INSPECTION)
    with db.transaction() as session:  # reviewed: the case ends and starts a penalty case by message
        tasks.complete(session, tasks.ready_tasks(session, cases[1].id)[0].id, legal, {"opinion": "同意移送立案处罚"})
    do(db, "suspend", cases[2].id, chief)
    do(db, "suspend", cases[3].id, chief)
    do(db, "resume", cases[3].id, chief)
    do(db, "terminate", cases[4].id, chief)
    do(db, "terminate", cases[2].id, chief)  # a suspended case may be terminated
    with pytest.raises(management.WrongStatus):
        do(db, "resume", cases[5].id, chief)  # refused: counts nothing
    counted = kept_and_counted()
    v1 = cases[0].definition_id
    assert {s: n for (d, s), n in counted.items() if d == v1} == {"completed": 2, "terminated": 2, "running": 2}

    changed = (FIXTURES / "engine" / "case_flow.bpmn").read_bytes().replace("测试检查流程".encode(), "测试检查流程（修订）".encode())
    with db.transaction() as session:
        repository.deploy(session, [repository.Source("case_flow.bpmn", changed)], source="cli")
    do(db, "suspend", cases[5].id, chief)
    with db.transaction() as session:
        done = instance_migration.migrate(session, "case_flow", 2, legal)
    assert done.moved and len(done.movable) == 2
    counted = kept_and_counted()
    v2 = done.target.id
    assert (counted[(v2, "running")], counted[(v2, "suspended")]) == (1, 1)
    assert {s for (d, s) in counted if d == v1} == {"completed", "terminated"}


def test_the_status_counts_migration_counts_the_cases_there_are(db, flow, user):
    """Migration 22_status_counts fills the kept rows from the cases; its downgrade drops them."""
    from alembic import command
    from sqlalchemy import inspect

    from zhifa import schema
    inspector, chief = user("supervision_investigate1"), user("leadership_chief")
    cases = [start(db, inspector) for _ in range(3)]
    do(db, "suspend", cases[0].id, chief)
    do(db, "terminate", cases[1].id, chief)
    config = schema.alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "21_case_search")
        assert "status_counts" not in inspect(connection).get_table_names()
        connection.exec_driver_sql("UPDATE process_instances SET status = 'running' WHERE id = %d" % cases[0].id)
        command.upgrade(config, "head")
        rows = set(connection.exec_driver_sql("SELECT definition_id, status, count FROM status_counts"))
    assert rows == {(cases[0].definition_id, "running", 2), (cases[0].definition_id, "terminated", 1)}
