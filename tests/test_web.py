"""The minimal web inbox: login, CSRF, permissions, generated forms with Chinese errors."""
from __future__ import annotations

import re

import pytest

from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from tests.conftest import FIXTURES
from tests.webclient import Browser, csrf_token, make_app


@pytest.fixture
def app(db, org, tmp_path):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "engine"]), source="cli")
    return make_app(db, tmp_path)


@pytest.fixture
def case(db, user):
    with db.transaction() as session:
        instance = runtime.start(session, "case_flow", user("supervision_investigate1"), {})
        return instance, tasks.ready_tasks(session, instance.id)[0]


def logged_in(app, username):
    browser = Browser(app)
    assert browser.login(username).status_code == 302
    return browser


def test_pages_need_a_login(app, case):
    browser = Browser(app)
    for url in ("/inbox", "/start", f"/tasks/{case[1].id}", f"/cases/{case[0].id}"):
        response = browser.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_wrong_password_is_refused(app):
    response = Browser(app).login("supervision_investigate1", "not-the-password")
    assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(app, case, db):
    browser = logged_in(app, "supervision_investigate1")
    response = browser.client.post(f"/tasks/{case[1].id}", data={"party_name": "某厂", "party_type": "citizen"})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    response = Browser(app).client.post("/login", data={"username": "supervision_investigate1", "password": "zhifa2026"})
    assert response.status_code == 400
    with db.reading() as session:
        assert tasks.get(session, case[1].id).state == "ready"


def test_the_inbox_lists_the_tasks_of_my_post_only(app, case):
    mine = logged_in(app, "supervision_investigate1").get("/inbox").get_data(as_text=True)
    assert case[0].business_key in mine and "现场检查" in mine
    other = logged_in(app, "supervision_review1").get("/inbox").get_data(as_text=True)
    assert case[0].business_key not in other and "暂无待办任务" in other


def test_a_task_of_another_post_cannot_be_opened_or_completed(app, case, db):
    browser = logged_in(app, "supervision_review1")
    assert browser.get(f"/tasks/{case[1].id}").status_code == 403
    token = csrf_token(browser.get("/inbox").get_data(as_text=True))
    response = browser.client.post(f"/tasks/{case[1].id}", data={"csrf_token": token, "party_name": "某厂"})
    assert response.status_code == 403
    with db.reading() as session:
        assert tasks.get(session, case[1].id).state == "ready"


def test_the_form_shows_chinese_errors_and_keeps_the_values(app, case):
    browser = logged_in(app, "supervision_investigate1")
    page = browser.get(f"/tasks/{case[1].id}").get_data(as_text=True)
    assert "当事人名称" in page and 'name="fine_amount"' in page and "法人或其他组织" in page
    response = browser.post_form(f"/tasks/{case[1].id}", {
        "party_name": "", "party_type": "company", "fine_amount": "20000000", "inspected_on": "2026-02-30",
        "violation": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "当事人名称：必填" in html and "当事人类型：请从列表中选择" in html
    assert "不能大于 1000000" in html and "请输入日期" in html
    assert 'value="20000000"' in html and 'value="2026-02-30"' in html


def test_completing_the_form_moves_the_case_on_and_a_second_submit_is_told(app, case, db):
    browser = logged_in(app, "supervision_investigate1")
    form = {"party_name": "鲁山县某化工有限公司", "party_type": "organization", "fine_amount": "60000",
            "inspected_on": "2026-11-20", "violation": "true"}
    token = csrf_token(browser.get(f"/tasks/{case[1].id}").get_data(as_text=True))
    first = browser.client.post(f"/tasks/{case[1].id}", data={**form, "csrf_token": token}, follow_redirects=True)
    assert "已办理：现场检查" in first.get_data(as_text=True)
    again = browser.client.post(f"/tasks/{case[1].id}", data={**form, "csrf_token": token}, follow_redirects=True)
    assert "该任务已由 程调查1 于" in again.get_data(as_text=True)
    with db.reading() as session:
        ready = tasks.ready_tasks(session, case[0].id)
    assert [t.candidate_groups for t in ready] == ["legal.review"]
    assert "审查" in logged_in(app, "legal_review1").get("/inbox").get_data(as_text=True)


def test_the_task_page_offers_the_colleagues_of_the_post_by_name_and_delegates_to_one(app, case, db):
    browser = logged_in(app, "supervision_investigate1")
    page = browser.get(f"/tasks/{case[1].id}").get_data(as_text=True)
    offered = re.findall(r'<option value="([a-z_0-9]+)">([^<]+)</option>', page.split('id="delegate_to"')[1].split("</select>")[0])
    assert [u for u, _ in offered] == ["supervision_execute1", "supervision_execute2", "supervision_investigate2"]
    assert all(name and not name.isascii() for _, name in offered)  # names, not account codes
    response = browser.post_form(f"/tasks/{case[1].id}", {"to": "supervision_investigate2", "reason": "本人出差"},
                                 action=f"/tasks/{case[1].id}/delegate", follow_redirects=True)
    assert f"已转办给 {dict(offered)['supervision_investigate2']}" in response.get_data(as_text=True)
    with db.reading() as session:
        assert tasks.get(session, case[1].id).assignee == "supervision_investigate2"


def test_starting_a_case_from_the_web(app):
    browser = logged_in(app, "supervision_investigate1")
    assert "测试检查流程" in browser.get("/start").get_data(as_text=True)
    response = browser.post_form("/start/case_flow", {})
    assert response.status_code == 302 and "/tasks/" in response.headers["Location"]


def test_a_case_of_another_department_is_forbidden(app, case):
    assert logged_in(app, "dev_accept1").get(f"/cases/{case[0].id}").status_code == 403
    assert logged_in(app, "leadership_chief").get(f"/cases/{case[0].id}").status_code == 200


def test_a_process_hidden_from_the_start_page_is_not_offered(db, org, tmp_path):
    source = (FIXTURES / "engine" / "case_receiver.bpmn").read_text()
    (tmp_path / "hidden.bpmn").write_text(source.replace(
        'id="case_receiver" name="测试处罚流程"', 'id="case_receiver" name="测试处罚流程" camunda:isStartableInTasklist="false"'))
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([
            tmp_path / "hidden.bpmn", FIXTURES / "engine" / "case_flow.bpmn", FIXTURES / "engine" / "test_review_rule.dmn"]),
            source="cli")
    browser = logged_in(make_app(db, tmp_path), "supervision_file1")
    page = browser.get("/start").get_data(as_text=True)
    assert "测试检查流程" in page and "测试处罚流程" not in page
    assert browser.get("/start/case_receiver").status_code == 404


def test_a_second_submit_of_the_same_start_form_starts_nothing(app, db):
    from sqlalchemy import func, select

    from engine.store.models import ProcessInstance
    browser = logged_in(app, "supervision_investigate1")
    page = browser.get("/start/case_flow").get_data(as_text=True)
    token = csrf_token(page)
    start_token = page.split('name="_start_token" value="')[1].split('"')[0]
    first = browser.client.post("/start/case_flow", data={"csrf_token": token, "_start_token": start_token})
    second = browser.client.post("/start/case_flow", data={"csrf_token": token, "_start_token": start_token},
                                 follow_redirects=True)
    assert first.status_code == 302
    assert "请勿重复提交" in second.get_data(as_text=True)
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 1


def test_pages_refuse_framing_and_sniffing(app):
    response = Browser(app).get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
