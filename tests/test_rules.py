"""Rules on people, dates and documents (issue #11): cross-field and date rules on form fields,
loop-backs that explain themselves, officers from the registry, separation of duties and 回避 —
through the engine, the web and `zhifa complete`."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine.access import identity
from engine.access.identity import NotPermitted
from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from engine.sandbox.scripting import today
from engine.spec import forms
from engine.spec.problems import ModelInvalid
from engine.store.models import AuditEvent, HumanTask, Notification, User
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


BAD_RULES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="http://zhifa.test">
  <bpmn:process id="bad_rules" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="T" name="送达" camunda:candidateGroups="supervision.deliver">
      <bpmn:extensionElements><camunda:formData>
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
    assert "no.such_post" in deploy_problems(db, fixed)  # the posts of an officers field must exist


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
