"""Rules on people, dates and documents (issue #11): cross-field and date rules on form fields,
loop-backs that explain themselves, officers from the registry, separation of duties and 回避,
recording proof by act, provisional deadlines, DRDs, the legacy namespace — through the
engine, the web and the `zhifa` command."""
from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine.access import identity
from engine.access.identity import NotPermitted
from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from engine.sandbox.expressions import TZ
from engine.sandbox.scripting import today
from engine.spec import forms
from engine.spec.problems import ModelInvalid
from engine.store.models import AuditEvent, HumanTask, Notification, TaskCandidate, User
from tests.conftest import FIXTURES
from tests.test_cli import zhifa
from tests.webclient import Browser, make_app

TODAY = today()


@pytest.fixture
def flow(db, org):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "rules"]), source="cli")


def ids(db, *usernames):
    with db.reading() as session:
        return [session.scalar(select(User.id).where(User.username == u)) for u in usernames]


def start(db, user):
    with db.transaction() as session:
        instance = runtime.start(session, "rules_flow", user("supervision_investigate1"), {})
        return instance.id, tasks.ready_tasks(session, instance.id)[0].id


def ready(db, instance_id):
    with db.reading() as session:
        return tasks.ready_tasks(session, instance_id)


def complete(db, user, task_id, username, values):
    with db.transaction() as session:
        return tasks.complete(session, task_id, user(username), values)


def refused(db, user, task_id, username, values) -> dict[str, str]:
    with pytest.raises(forms.FormInvalid) as e:
        complete(db, user, task_id, username, values)
    return e.value.errors


def investigation(db, *officers):
    return {"party_name": "鲁山县某化工有限公司", "investigators": ids(db, *officers), "certificates_shown": True,
            "inspected_on": str(TODAY - timedelta(days=10)), "decided_on": str(TODAY - timedelta(days=5)),
            "fine_amount": "3000"}


def investigated(db, user, investigator="supervision_investigate1", officers=("supervision_investigate1",
                                                                                 "supervision_review1")):
    instance_id, task_id = start(db, user)
    complete(db, user, task_id, investigator, investigation(db, *officers))
    return instance_id, ready(db, instance_id)[0]


REVIEW_OK = {"review_outcome": "approve", "points_checked": True}


# --- 1. cross-field and date rules -----------------------------------------------------------

def test_dates_in_the_wrong_order_future_events_and_unticked_confirmations_are_refused(db, user, flow):
    instance_id, task_id = start(db, user)
    bad = {**investigation(db, "supervision_investigate1", "supervision_review1"),
           "inspected_on": str(TODAY + timedelta(days=1)), "decided_on": str(TODAY - timedelta(days=30)),
           "certificates_shown": False, "fine_amount": "-3000"}
    errors = refused(db, user, task_id, "supervision_investigate1", bad)
    assert errors["inspected_on"] == f"检查日期（{TODAY + timedelta(days=1)}）不能晚于今天（{TODAY}）：已经发生的事项不能填写将来的日期"
    assert errors["certificates_shown"] == "已出示执法证件：必须确认（勾选）后才能提交"
    assert errors["fine_amount"] == "罚款金额：金额不能为负数"
    bad.update(inspected_on=str(TODAY - timedelta(days=3)), certificates_shown="true", fine_amount="3000")
    errors = refused(db, user, task_id, "supervision_investigate1", bad)
    assert errors == {"decided_on": f"处罚决定日期（{TODAY - timedelta(days=30)}）不能早于检查日期（{TODAY - timedelta(days=3)}）"}
    assert ready(db, instance_id)[0].id == task_id  # nothing changed


def test_a_rule_naming_a_variable_of_an_earlier_step_names_that_field(db, user, flow, org):
    instance_id, review = investigated(db, user)
    complete(db, user, review.id, "supervision_review2", REVIEW_OK)
    serve = ready(db, instance_id)[0]
    decided = TODAY - timedelta(days=5)
    errors = refused(db, user, serve.id, "supervision_deliver1",
                     {"served_on": str(decided - timedelta(days=2)), "hearing_on": "2026-11-28", "hearing_time": "22:00"})
    assert errors["served_on"] == f"送达日期（{decided - timedelta(days=2)}）不能早于处罚决定日期（{decided}）"
    assert errors["hearing_on"] == "听证日期（2026-11-28，星期六）不是工作日，请选择工作日"
    assert errors["hearing_time"] == "听证时间（22:00）须在白天（08:00至18:00之前），不得在夜间实施"


def test_paid_amount_must_equal_the_fine_only_when_paid_in_full(db):
    form = forms.Form([forms.Field("payment_status", "缴纳情况", "enum", options=[("paid", "已全额缴纳"), ("overdue", "逾期")]),
                       forms.Field("paid_amount", "缴纳金额", "money",
                                   rules=[("equals", "fine_amount if payment_status == 'paid'")])])
    labels = {"fine_amount": "罚款金额"}
    with pytest.raises(forms.FormInvalid) as e:
        forms.validate(form, {"payment_status": "paid", "paid_amount": "2000"}, {"fine_amount": "3000.00"}, labels)
    assert e.value.errors == {"paid_amount": "缴纳金额（2000）应当等于罚款金额（3000）"}
    assert forms.validate(form, {"payment_status": "overdue", "paid_amount": "2000"}, {"fine_amount": "3000"}, labels)
    assert forms.validate(form, {"payment_status": "paid", "paid_amount": "3000"}, {"fine_amount": "3000"}, labels)
    other = forms.Form([forms.Field("paid_amount", "缴纳金额", "money", rules=[("equals", "fine_amount if unknown_flag")])])
    assert forms.validate(other, {"paid_amount": "1"}, {"fine_amount": "3000"}, labels)  # a condition not yet decidable


BAD_RULES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="http://zhifa.test">
  <bpmn:process id="bad_rules" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="T" name="送达" camunda:candidateGroups="supervision.deliver">
      <bpmn:extensionElements><camunda:properties><camunda:property name="excludeActorsOf" value="T,who,Task_nowhere" /></camunda:properties><camunda:formData>
        <camunda:formField id="served_on" label="送达日期" type="date"><camunda:validation>
          <camunda:constraint name="notBefore" config="decision_date" />
          <camunda:constraint name="equals" config="served_on if (" />
          <camunda:constraint name="daytime" />
        </camunda:validation></camunda:formField>
        <camunda:formField id="ok" label="确认" type="string"><camunda:validation><camunda:constraint name="confirmed" /></camunda:validation></camunda:formField>
        <camunda:formField id="who" label="人员" type="officers"><camunda:properties><camunda:property id="posts" value="no.such_post" /></camunda:properties></camunda:formField>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="E"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="T" /><bpmn:sequenceFlow id="F2" sourceRef="T" targetRef="E" />
  </bpmn:process>
</bpmn:definitions>"""


def deploy_problems(db, xml: str) -> str:
    with pytest.raises(ModelInvalid) as e:
        with db.transaction() as session:
            repository.check(session, [repository.Source("bad.bpmn", xml.encode())])
    return "\n".join(p.message for p in e.value.problems)


def test_deploy_names_rules_that_refer_to_nothing_or_do_not_fit_the_field(db, org):
    text = deploy_problems(db, BAD_RULES)
    assert "校验规则 notBefore 引用的变量 “decision_date” 在本文件的流程中不存在" in text
    assert "校验规则 equals 的条件无法解析" in text
    assert "校验规则 daytime 只适用于 string 类型的字段，字段 “served_on” 是 date" in text
    assert "校验规则 confirmed 只适用于 boolean 类型的字段，字段 “ok” 是 string" in text
    fixed = BAD_RULES.replace('config="decision_date"', 'config="today"').replace("served_on if (", "served_on")
    fixed = fixed.replace('<camunda:constraint name="daytime" />', "").replace('name="confirmed"', 'name="required"')
    problems = deploy_problems(db, fixed)
    assert "no.such_post" in problems  # the posts of an officers field must exist
    assert "excludeActorsOf 中的 “Task_nowhere” 既不是用户任务或开始事件的 id，也不是 officers 类型字段的 id" in problems
    assert "“who”" not in problems and "“T”" not in problems


# --- 2. loop-backs explain themselves ----------------------------------------------------------

def test_a_gateway_loop_back_says_why_to_the_submitter_the_returned_task_and_its_previous_handler(db, user, flow):
    instance_id, review = investigated(db, user)
    complete(db, user, review.id, "supervision_review2", REVIEW_OK)
    serve = ready(db, instance_id)[0]
    served = TODAY - timedelta(days=1)
    hearing = served + timedelta(days=1)
    while hearing.weekday() >= 5:
        hearing += timedelta(days=1)
    done = complete(db, user, serve.id, "supervision_deliver1", {"served_on": str(served), "hearing_on": str(hearing),
                                                                 "hearing_time": "09:30"})
    assert len(done.explanations) == 1 and done.explanations[0].startswith("听证通知送达日距听证日不足7个工作日（")
    again = ready(db, instance_id)[0]
    assert again.element_id == "Task_serve" and again.id != serve.id
    assert again.return_reason == done.explanations[0]
    assert again.returned_by == "supervision_deliver1" and again.returned_at is not None
    with db.reading() as session:
        audit = session.scalars(select(AuditEvent).where(AuditEvent.task_id == serve.id,
                                                         AuditEvent.action == "complete")).one()
        assert json.loads(audit.details)["explanation"] == done.explanations[0]


def test_a_typed_return_reason_reaches_the_returned_task_and_notifies_its_previous_handler(db, user, flow):
    instance_id, review = investigated(db, user)
    with db.transaction() as session:
        back = tasks.send_back(session, review.id, user("supervision_review2"), "询问笔录缺当事人签名")
    assert back.explanations == ("法制审核退回补充调查：询问笔录缺当事人签名", "退回理由：询问笔录缺当事人签名")
    again = ready(db, instance_id)[0]
    assert again.element_id == "Task_investigate"
    assert "询问笔录缺当事人签名" in again.return_reason and again.returned_by == "supervision_review2"
    with db.reading() as session:
        texts = session.scalars(select(Notification.text).where(Notification.recipient == "supervision_investigate1")).all()
    assert any("被退回" in t and "询问笔录缺当事人签名" in t for t in texts)
    # the review after re-investigation does not open with the old "退回补充调查" choice
    complete(db, user, again.id, "supervision_investigate1", investigation(db, "supervision_investigate1",
                                                                           "supervision_review1"))
    review2 = ready(db, instance_id)[0]
    with db.reading() as session:
        view = tasks.view(session, review2.id, user("supervision_review2"))
    assert "review_outcome" not in view.values and "review_opinion" not in view.values


# --- 3. officers from the registry ---------------------------------------------------------------

def test_officers_must_be_two_different_people_holding_a_valid_certificate_of_the_posts(db, user, flow):
    instance_id, task_id = start(db, user)
    one = ids(db, "supervision_investigate1")
    errors = refused(db, user, task_id, "supervision_investigate1", {**investigation(db), "investigators": one * 2})
    assert errors == {"investigators": "调查人员：同一人只能选择一次，请选择不同的人员"}
    errors = refused(db, user, task_id, "supervision_investigate1", {**investigation(db), "investigators": one})
    assert errors == {"investigators": "调查人员：至少选择 2 名人员"}
    errors = refused(db, user, task_id, "supervision_investigate1",
                     investigation(db, "supervision_investigate1", "supervision_deliver1"))  # not of the posts
    assert "沈送达1（执法证 豫环执41042300136）" in errors["investigators"]
    with db.transaction() as session:  # investigate2's certificate expired yesterday
        identity.set_certificate(identity.user_by_name(session, "supervision_investigate2"), "豫环执41042300131",
                                 date(2020, 1, 1), TODAY - timedelta(days=1))
    errors = refused(db, user, task_id, "supervision_investigate1",
                     investigation(db, "supervision_investigate1", "supervision_investigate2"))
    assert errors["investigators"].startswith("调查人员：曹调查2（执法证 豫环执41042300131） 不是持有")
    with db.reading() as session:
        view = tasks.view(session, task_id, user("supervision_investigate1"))
        offered = {u.username for u in view.officers["investigators"]}
    assert "supervision_investigate2" not in offered and {"supervision_investigate1", "supervision_review1"} <= offered
    complete(db, user, task_id, "supervision_investigate1", investigation(db, "supervision_investigate1", "supervision_review1"))
    with db.reading() as session:
        done = tasks.view(session, task_id, user("supervision_investigate1"))
    assert sorted(done.people.values()) == ["程调查1（执法证 豫环执41042300130）", "袁审查1（执法证 豫环执41042300132）"]
    from engine.inbox import case_view
    with db.reading() as session:
        found = case_view.case_file(session, instance_id, user("supervision_investigate1"))
    shown = dict(next(e.values for e in found.timeline if e.event.action == "complete"))
    assert shown["调查人员"] == "程调查1（执法证 豫环执41042300130）、袁审查1（执法证 豫环执41042300132）"


def test_certificates_are_kept_with_both_dates_in_order(db, org, user):
    with db.transaction() as session:
        officer = identity.user_by_name(session, "supervision_deliver1")
        with pytest.raises(ValueError, match="请填写执法证有效期的起止日期"):
            identity.set_certificate(officer, "豫环执1", date(2026, 1, 1), None)
        with pytest.raises(ValueError, match="不能早于起始日"):
            identity.set_certificate(officer, "豫环执1", date(2026, 1, 1), date(2025, 1, 1))


# --- 4. separation of duties and 回避 -------------------------------------------------------------

def visible(db, user, username, instance_id):
    with db.reading() as session:
        return [t.id for t in tasks.inbox(session, user(username)) if t.instance_id == instance_id]


def test_the_investigator_cannot_review_or_hold_the_hearing_of_the_same_case_but_can_in_another(db, user, flow):
    first, review = investigated(db, user)
    second, other_review = investigated(db, user, investigator="supervision_investigate2",
                                        officers=("supervision_investigate2", "supervision_review2"))
    assert visible(db, user, "supervision_investigate1", first) == []  # acted on 调查取证
    assert visible(db, user, "supervision_review1", first) == []  # chosen as investigator
    assert visible(db, user, "supervision_investigate2", first) == [review.id]
    assert visible(db, user, "supervision_investigate1", second) == [other_review.id]
    for action in (lambda s: tasks.claim(s, review.id, user("supervision_investigate1")),
                   lambda s: tasks.complete(s, review.id, user("supervision_investigate1"), REVIEW_OK)):
        with pytest.raises(NotPermitted, match="查处分离：您办理过本案的“调查取证”，不能办理“法制审核”"):
            with db.transaction() as session:
                action(session)
    with pytest.raises(NotPermitted, match="查处分离：您是本案的调查人员，不能办理“法制审核”"):
        with db.transaction() as session:
            tasks.claim(session, review.id, user("supervision_review1"))
    with db.transaction() as session:  # delegation cannot route around it
        tasks.claim(session, review.id, user("supervision_review2"))
        assert "supervision_review1" not in {u.username for u in tasks.colleagues(session, review, user("supervision_review2"))}
    with pytest.raises(tasks.ActionInvalid, match="不能转办给该人员：查处分离"):
        with db.transaction() as session:
            tasks.delegate(session, review.id, user("supervision_review2"), "supervision_review1", "出差")
    complete(db, user, other_review.id, "supervision_investigate1", REVIEW_OK)  # another case: allowed


def test_a_recusal_removes_the_officer_from_the_remaining_tasks_of_the_case(db, user, flow):
    instance_id, review = investigated(db, user)
    with db.transaction() as session:
        tasks.claim(session, review.id, user("supervision_review2"))
        tasks.recuse(session, instance_id, user("supervision_investigate1"), "supervision_review2", "当事人称其为近亲属")
    assert visible(db, user, "supervision_review2", instance_id) == []
    with db.reading() as session:
        assert session.get(HumanTask, review.id).assignee is None
        audit = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id,
                                                         AuditEvent.action == "recusal")).one()
        assert json.loads(audit.details)["reason"] == "当事人称其为近亲属"
    with pytest.raises(NotPermitted, match="回避"):
        with db.transaction() as session:
            tasks.complete(session, review.id, user("supervision_review2"), REVIEW_OK)
    complete(db, user, review.id, "supervision_investigate2", REVIEW_OK)
    later = ready(db, instance_id)[0]  # a task that became ready after the recusal excludes them too
    with db.reading() as session:
        assert tasks.exclusion_of(session, later, "supervision_review2").startswith("回避")


# --- 8. the legacy namespace ------------------------------------------------------------------

LEGACY = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://activiti.org/bpmn" id="D" targetNamespace="http://zhifa.test">
  <process id="legacy_flow" name="旧命名空间流程" isExecutable="true">
    <startEvent id="S"><outgoing>F1</outgoing></startEvent>
    <userTask id="T" name="复核" camunda:assignee="legal_review1">
      <extensionElements><camunda:formData>
        <camunda:formField id="checked_on" label="复核日期" type="date"><camunda:validation><camunda:constraint name="required" /></camunda:validation></camunda:formField>
      </camunda:formData></extensionElements>
      <incoming>F1</incoming><outgoing>F2</outgoing>
    </userTask>
    <endEvent id="E"><incoming>F2</incoming></endEvent>
    <sequenceFlow id="F1" sourceRef="S" targetRef="T" /><sequenceFlow id="F2" sourceRef="T" targetRef="E" />
  </process>
</definitions>"""


def test_an_assignee_only_task_from_a_legacy_namespace_file_reaches_its_assignee(db, org, user):
    with db.transaction() as session:
        repository.deploy(session, [repository.Source("legacy.bpmn", LEGACY.encode())], source="cli")
        instance = runtime.start(session, "legacy_flow", user("legal_head"), {})
    with db.reading() as session:
        mine = [t for t in tasks.inbox(session, user("legal_review1")) if t.instance_id == instance.id]
        assert [t.assignee for t in mine] == ["legal_review1"]
        assert [f.id for f in tasks.view(session, mine[0].id, user("legal_review1")).form.fields] == ["checked_on"]
    errors = refused(db, user, mine[0].id, "legal_review1", {})
    assert errors == {"checked_on": "复核日期：必填"}


# --- through the web and `zhifa complete` ------------------------------------------------------

@pytest.fixture
def app(db, tmp_path):
    return make_app(db, tmp_path)


def browser_of(app, username):
    browser = Browser(app)
    browser.login(username)
    return browser


def test_web_refused_submit_keeps_values_and_the_loop_back_is_explained(app, db, user, flow):
    instance_id, task_id = start(db, user)
    browser = browser_of(app, "supervision_investigate1")
    page = f"/tasks/{task_id}"
    html = browser.get(page).get_data(as_text=True)
    assert "程调查1" in html and "执法证 豫环执41042300130" in html and "沈送达1" not in html  # only certified of the posts
    form = {**investigation(db, "supervision_investigate1", "supervision_review1"), "certificates_shown": "false",
            "inspected_on": str(TODAY + timedelta(days=2))}
    form["investigators"] = [str(i) for i in form["investigators"]]
    response = browser.post_form(page, form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "已出示执法证件：必须确认（勾选）后才能提交" in html and "已经发生的事项不能填写将来的日期" in html
    assert 'value="鲁山县某化工有限公司"' in html and 'value="3000"' in html  # typed values kept
    # 暂存, then reopen: the holder finds what was typed
    token_page = browser.get(page).get_data(as_text=True)
    assert browser.post_form(page, {**form, "party_name": "暂存的当事人"}, action=f"/tasks/{task_id}/draft").status_code == 302
    html = browser.get(page).get_data(as_text=True)
    assert "以下是您暂存的内容" in html and 'value="暂存的当事人"' in html
    assert token_page  # the page rendered before the draft too
    with db.reading() as session:
        assert session.get(HumanTask, task_id).assignee == "supervision_investigate1"  # 暂存 claims it
    # the review sends the case back: the reviewer sees why instead of 已办理, the task shows it at the top
    complete(db, user, task_id, "supervision_investigate1", investigation(db, "supervision_investigate1", "supervision_review1"))
    review = ready(db, instance_id)[0]
    reviewer = browser_of(app, "supervision_review2")
    response = reviewer.post_form(f"/tasks/{review.id}", {"review_outcome": "reinvestigate", "review_opinion": "缺现场照片",
                                                          "points_checked": "true"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已退回：法制审核退回补充调查：缺现场照片" in html and "已办理" not in html
    again = ready(db, instance_id)[0]
    assert 'title="法制审核退回补充调查：缺现场照片">被退回</span>' in browser.get("/inbox?tab=group").get_data(as_text=True)
    html = browser.get(f"/tasks/{again.id}").get_data(as_text=True)
    assert "案件被退回到本环节：" in html and "法制审核退回补充调查：缺现场照片" in html and "邓审查2" in html


def test_web_recusal_and_certificates_admin(app, db, user, flow):
    instance_id, review = investigated(db, user)
    browser = browser_of(app, "supervision_investigate1")
    html = browser.get(f"/cases/{instance_id}").get_data(as_text=True)
    assert "记录回避" in html and "邓审查2" in html
    response = browser.post_form(f"/cases/{instance_id}", {"officer": "supervision_review2", "reason": "当事人申请：系其亲属"},
                                 action=f"/cases/{instance_id}/recusal", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已记录 邓审查2 回避" in html
    assert '<span class="act">回避</span>' in html and "<span>邓审查2</span>" in html  # in the case history
    reviewer = browser_of(app, "supervision_review2")
    assert "法制审核" not in reviewer.get("/inbox?tab=group").get_data(as_text=True)
    response = reviewer.post_form(f"/cases/{instance_id}", {}, action=f"/tasks/{review.id}/claim", follow_redirects=True)
    assert "回避：您已在本案回避（当事人申请：系其亲属）" in response.get_data(as_text=True)
    # the certificate registry (组织机构): administrators only
    with db.reading() as session:
        deliverer = identity.user_by_name(session, "supervision_deliver1").id
    assert browser_of(app, "supervision_investigate1").get("/org/").status_code == 403
    admin = browser_of(app, "legal_head")
    response = admin.post_form(f"/org/users/{deliverer}", {"cert_no": "豫环执X1", "cert_valid_from": "2026-01-01",
                                                         "cert_valid_until": "2025-01-01"},
                               action=f"/org/users/{deliverer}/certificate", follow_redirects=True)
    assert "执法证有效期截止日（2025-01-01）不能早于起始日（2026-01-01）" in response.get_data(as_text=True)
    admin.post_form(f"/org/users/{deliverer}", {"cert_no": "豫环执X1", "cert_valid_from": "2026-01-01",
                                              "cert_valid_until": "2030-12-31"}, action=f"/org/users/{deliverer}/certificate")
    with db.reading() as session:
        officer = identity.user_by_name(session, "supervision_deliver1")
        assert (officer.cert_no, officer.cert_valid_until) == ("豫环执X1", date(2030, 12, 31))


def test_cli_complete_refuses_with_the_rule_and_explains_a_loop_back(db, user, flow, cli_env):
    instance_id, review = investigated(db, user)
    out = zhifa(cli_env, "complete", review.id, "--as", "supervision_investigate1", "--data", json.dumps(REVIEW_OK))
    assert out.returncode == 1 and "查处分离：您办理过本案的“调查取证”，不能办理“法制审核”" in out.stderr
    out = zhifa(cli_env, "complete", review.id, "--as", "supervision_review2", "--data", json.dumps(
        {"review_outcome": "approve", "points_checked": False}))
    assert out.returncode == 1 and "points_checked: 已逐项审核法制审核要点：必须确认（勾选）后才能提交" in out.stderr
    out = zhifa(cli_env, "complete", review.id, "--as", "supervision_review2", "--data", json.dumps(
        {"review_outcome": "reinvestigate", "review_opinion": "证据不足", "points_checked": True}))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["returned"] == ["法制审核退回补充调查：证据不足"]
    out = zhifa(cli_env, "users", "cert", "supervision_deliver1", "--number", "豫环执Y", "--from", "2026-01-01",
                "--until", "2027-12-31")
    assert out.returncode == 0 and "执法证 豫环执Y，有效期 2026-01-01 至 2027-12-31" in out.stdout


# --- 5. recording rules that fit the act --------------------------------------------------------

SERVICE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="http://zhifa.test">
  <bpmn:process id="service_flow" name="送达" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="T" name="送达决定书" camunda:candidateGroups="supervision.deliver">
      <bpmn:extensionElements>
        <camunda:properties>
          <camunda:property name="recordItem" value="送达" />
          <camunda:property name="recordBy" value="service_method" />
          <camunda:property name="recordFor" value="direct,lodged" />
          <camunda:property name="proof.mail" value="postal_receipt" />
          <camunda:property name="proof.electronic" value="consent,delivery_record" />
        </camunda:properties>
        <camunda:formData>
          <camunda:formField id="service_method" label="送达方式" type="enum">
            <camunda:value id="direct" name="直接送达" /><camunda:value id="lodged" name="留置送达" />
            <camunda:value id="mail" name="邮寄送达" /><camunda:value id="electronic" name="电子送达" />
            <camunda:validation><camunda:constraint name="required" /></camunda:validation>
          </camunda:formField>
          <camunda:formField id="postal_receipt" label="邮寄回执" type="file" />
          <camunda:formField id="consent" label="当事人同意电子送达的确认书" type="file" />
          <camunda:formField id="delivery_record" label="系统送达记录" type="file" />
          <camunda:formField id="scene_video" label="现场音像" type="file" />
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="E"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="T" /><bpmn:sequenceFlow id="F2" sourceRef="T" targetRef="E" />
  </bpmn:process>
</bpmn:definitions>"""
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


def test_the_service_method_decides_what_proof_the_step_needs(db, user, org):
    from engine.inbox import attachments
    from engine.store import files
    with db.transaction() as session:
        repository.deploy(session, [repository.Source("service.bpmn", SERVICE.encode())], source="cli")

    def step():
        with db.transaction() as session:
            instance = runtime.start(session, "service_flow", user("supervision_deliver1"), {})
            return tasks.ready_tasks(session, instance.id)[0].id

    def attach(task_id, field, name, data):
        with db.transaction() as session:
            return attachments.upload(session, task_id, user("supervision_deliver1"), field, io.BytesIO(data), name, None).id

    mailed = step()
    with pytest.raises(files.FileStoreError, match="送达方式为“邮寄送达”时不需要音像记录，但须上传：邮寄回执"):
        complete(db, user, mailed, "supervision_deliver1", {"service_method": "mail"})
    receipt = attach(mailed, "postal_receipt", "回执.pdf", b"%PDF-1.4 receipt")
    complete(db, user, mailed, "supervision_deliver1", {"service_method": "mail", "postal_receipt": [receipt]})

    emailed = step()
    with pytest.raises(files.FileStoreError, match="须上传：当事人同意电子送达的确认书、系统送达记录"):
        complete(db, user, emailed, "supervision_deliver1", {"service_method": "electronic"})

    direct = step()
    with pytest.raises(files.FileStoreError, match="音视频"):
        complete(db, user, direct, "supervision_deliver1", {"service_method": "direct"})
    video = attach(direct, "scene_video", "送达现场.mp4", MP4)  # through the task's own upload field
    complete(db, user, direct, "supervision_deliver1", {"service_method": "direct", "scene_video": [video]})


# --- 6. provisional deadlines --------------------------------------------------------------------

HEARING_WINDOW = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="http://zhifa.test">
  <bpmn:process id="hearing_window" name="听证告知" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="Split"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing><bpmn:outgoing>F3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="T" name="听证申请" camunda:candidateGroups="supervision.notify" camunda:dueDate="${add_working_days(served_on, 5, party=True)}">
      <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:intermediateCatchEvent id="Timer" name="申请期限届满">
      <bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F5</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>${add_working_days(served_on, 5, party=True)}</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="E1"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="E2"><bpmn:incoming>F5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Split" /><bpmn:sequenceFlow id="F2" sourceRef="Split" targetRef="T" />
    <bpmn:sequenceFlow id="F3" sourceRef="Split" targetRef="Timer" /><bpmn:sequenceFlow id="F4" sourceRef="T" targetRef="E1" />
    <bpmn:sequenceFlow id="F5" sourceRef="Timer" targetRef="E2" />
  </bpmn:process>
</bpmn:definitions>"""


def test_a_party_deadline_in_an_unentered_year_is_never_cut_short_and_is_recomputed_when_the_year_is_entered(
        db, user, org, cli_env, tmp_path):
    with db.transaction() as session:
        repository.deploy(session, [repository.Source("hearing.bpmn", HEARING_WINDOW.encode())], source="cli")
        instance = runtime.start(session, "hearing_window", user("supervision_notify1"), {"served_on": "2027-02-03"})
    [task] = ready(db, instance.id)
    # Monday–Friday would end on 02-10, inside 春节; without every possible holiday: 02-19
    assert task.due_at.astimezone(TZ).date() == date(2027, 2, 19)
    assert "2027年节假日安排尚未录入" in task.problem
    assert instance.next_timer_at.astimezone(TZ).date() == date(2027, 2, 20)  # the end of 02-19
    # 2027 is entered: 春节 02-06 … 02-13, worked Sunday 02-14 (an arrangement for the test)
    spec = {"year": 2027, "holidays": [["2027-02-06", "2027-02-13", "春节"]], "workdays": ["2027-02-14"]}
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    out = zhifa(cli_env, "calendar", "import", str(path))
    assert out.returncode == 0, out.stderr
    assert "期限重算" in out.stdout and "2027-02-19" in out.stdout and "2027-02-16" in out.stdout
    with db.reading() as session:
        row = session.get(HumanTask, task.id)
        assert row.due_at.astimezone(TZ).date() == date(2027, 2, 16)  # 02-04, 05, 14 (worked Sunday), 15, 16
        assert row.problem is None
        # the post's 岗位待办 sorts and 超期督办 counts it by the new time too
        assert session.scalars(select(TaskCandidate.due_key).where(TaskCandidate.task_id == task.id)).all() == [row.due_at]
        moved = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance.id,
                                                         AuditEvent.action == "deadline_moved")).one()
        whats = {c["what"]: (c["old"][:10], c["new"][:10]) for c in json.loads(moved.details)["changes"]}
        assert whats["听证申请"] == ("2027-02-19", "2027-02-16")
        assert whats["申请期限届满"] == ("2027-02-20", "2027-02-17")  # the timer fires when 02-16 is over
        assert session.get(type(instance), instance.id).next_timer_at.astimezone(TZ).date() == date(2027, 2, 17)
        texts = session.scalars(select(Notification.text).where(Notification.recipient == "supervision.notify")).all()
        assert any("听证申请" in t and "→" in t for t in texts)


# --- 7. decision requirement graphs ----------------------------------------------------------------

DRD = FIXTURES / "drd" / "dinner.dmn"


def test_a_drd_deploys_each_decision_and_evaluates_the_required_one_first(db, user, org, cli_env):
    from engine.execution import decide
    with db.transaction() as session:
        result = repository.deploy(session, repository.read_paths([FIXTURES / "drd"]), source="cli")
        assert sorted(f"{d.key}:{d.version}" for d in result.decisions) == ["beverages:1", "dish:1"]
        drinks = decide.evaluate_latest(session, "beverages", {"season": "秋", "guestCount": 4, "guestsWithChildren": True})
        assert drinks.variables() == {"beverages": ["黄酒", "果汁", "矿泉水"]}
        instance = runtime.start(session, "dinner", user("supervision_investigate1"),
                                 {"season": "冬", "guestCount": 12, "guestsWithChildren": False})
    with db.reading() as session:
        [task] = tasks.ready_tasks(session, instance.id)
        data = tasks.view(session, task.id, user("supervision_investigate1"))
    with db.transaction() as session:  # the business rule task's result, in the case data
        action = runtime.load(session, session.get(type(instance), instance.id), None)
        assert runtime.case_data(action.workflow)["drinks"] == ["啤酒", "矿泉水"]
    assert data.task.name == "上菜"
    out = zhifa(cli_env, "decide", "beverages", "--input", "season=春", "--input", "guestCount=3",
                "--input", "guestsWithChildren=false")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [{"beverages": "红酒"}, {"beverages": "矿泉水"}]
    # a new version of the file makes a new version of each decision
    changed = DRD.read_text(encoding="utf-8").replace("矿泉水", "白开水")
    with db.transaction() as session:
        again = repository.deploy(session, [repository.Source("dinner.dmn", changed.encode())], source="cli")
        assert sorted(f"{d.key}:{d.version}" for d in again.decisions) == ["beverages:2", "dish:2"]


@pytest.mark.parametrize("namespace", ["http://www.omg.org/spec/DMN/20151101/dmn.xsd",
                                       "http://www.omg.org/spec/DMN/20180521/MODEL/"])
def test_older_dmn_namespaces_are_read(namespace):
    from engine.spec import dmn
    from engine.sandbox.scripting import make_script_engine
    xml = DRD.read_text(encoding="utf-8").replace("https://www.omg.org/spec/DMN/20191111/MODEL/", namespace)
    xml = xml[:xml.index("  <dmndi:DMNDI>")] + "</definitions>\n"
    table, problems = dmn.load_table(xml.encode(), "dinner.dmn", "beverages")
    assert problems == []
    result = dmn.evaluate_table(table, {"season": "夏", "guestCount": 2, "guestsWithChildren": True}, make_script_engine({}))
    assert result.variables() == {"beverages": ["红酒", "果汁", "矿泉水"]}


def test_a_drd_requirement_outside_the_file_or_in_a_cycle_is_refused(db, org):
    xml = DRD.read_text(encoding="utf-8")
    missing = xml.replace('href="#dish"', 'href="#dessert"')
    assert "决策需要的决策 “dessert”（requiredDecision）不在本文件中" in deploy_problems(db, missing)
    cycle = xml.replace('<decision id="dish" name="菜品">', '<decision id="dish" name="菜品"><informationRequirement '
                        'id="req_back"><requiredDecision href="#beverages" /></informationRequirement>')
    assert "决策之间的依赖（requiredDecision）构成循环" in deploy_problems(db, cycle)


def test_the_version_diff_shows_new_rules_and_loop_back_reasons():
    from engine.deploy import diff
    old = (FIXTURES / "rules" / "rules_flow.bpmn").read_bytes()
    new = old.replace(b"{review_opinion}", "请补充：{review_opinion}".encode()).replace(
        b'value="Task_investigate,investigators" />\n        </camunda:properties>', b'value="Task_investigate" />\n        </camunda:properties>')
    changes = diff.diff_xml(old, new, "rules_flow")
    texts = [f"{c.category}|{c.before}|{c.after}" for c in changes]
    assert any(t.startswith("顺序流|") and "〔退回说明：法制审核退回补充调查：请补充：{review_opinion}〕" in t for t in texts)
    assert any("查处分离（不得办理者）：Task_investigate,investigators" in t for t in texts)


def test_a_written_waiver_replaces_the_recording_of_the_statement():
    from types import SimpleNamespace

    from recording import evidence
    spec = SimpleNamespace(extensions={"recordItem": "陈述申辩", "recordBy": "defense_waived", "recordFor": "false",
                                       "proof.true": "waiver_file"})
    assert evidence.proof_rule(spec, {"defense_waived": False}) is None  # heard: recorded as usual
    assert evidence.proof_rule(spec, {"defense_waived": True}) == ("defense_waived", True, ["waiver_file"])
