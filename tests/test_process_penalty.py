"""bpmn/penalty.bpmn (行政处罚（一般程序）): every gateway branch, through the engine, with the
bureau's posts. Dates are relative to today so that no deadline timer is due unless a test
moves the clock on purpose. Case dates start on 2026-03-02 (a Monday) and SpiffWorkflow's timer
clock is set to that day (the ``clock`` fixture), so that every period, up to the 3 months
after the 6-month litigation period, stays inside the years the working-day calendar knows.
Scripts calling ``today()`` (送审日期, 加处罚款) still see the real date.

立案 → 调查取证 → 调查终结 → 案件审查 → 听证权 → 事先告知 → 陈述申辩 / 听证 → 复核 → 拟定决定
→ 法制审核 (call; the case as it will be decided, 行政处罚法第58条) → 集体讨论 → 负责人决定 → 送达 → 执行 (缴纳, 延期, 复议诉讼, 加处罚款, 催告,
申请法院强制执行) → 结案 → 归档.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition

from engine.execution import jobs, runtime
from engine.inbox import tasks
from engine.spec import forms
from engine.store import history
from tests.casework import Case
from workdays import calendar

LEAD = "leadership.chief,leadership.deputy"
TODAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def timer_clock(clock):
    """SpiffWorkflow's timer clock at 09:00 (Asia/Shanghai) on TODAY."""
    move_to(clock, TODAY)
    return clock


def move_to(clock, day: date, hour_utc: int = 1) -> None:
    clock.offset = datetime(day.year, day.month, day.day, hour_utc, tzinfo=timezone.utc) - datetime.now(timezone.utc)


def fire_after(db, clock, day: date, case: Case) -> None:
    """Let the end of ``day`` pass (a date timer fires when its day is over) and fire the case's
    due timers as the worker does. (Called directly: the engine does not yet schedule a job for
    ``timeDate`` timers, whose event type is ``TimeDateEventDefinition``.)"""
    move_to(clock, day + timedelta(days=1), 4)
    jobs.run_once(db)
    with db.transaction() as session:
        runtime.fire_timers(session, case.id)


def iso(d: date) -> str:
    return d.isoformat()


def refused(case: Case, element_id: str, username: str, values: dict) -> dict[str, str]:
    """The form errors of a completion the rules refuse (the task stays ready)."""
    with pytest.raises(forms.FormInvalid) as e:
        case.do(element_id, username, values)
    assert element_id in case.ready_ids()
    return e.value.errors


CITIZEN = {"party_name": "王某", "party_type": "citizen", "credit_code": "", "id_number": "410423198001010011",
           "legal_rep": "", "party_address": "鲁山县琴台街道"}
ORGANIZATION = {"party_name": "鲁山县某化工有限公司", "party_type": "organization", "credit_code": "91410423MA00000001",
                "id_number": "", "legal_rep": "张某", "party_address": "鲁山县产业集聚区"}


def register(party):
    return {"case_source": "complaint", "clue_received_on": iso(TODAY), **party, "violation_date": iso(TODAY),
            "violation_facts": "未经批准擅自排放含油废水", "legal_basis": "水污染防治法第83条",
            "registration_opinion": "有涉嫌违法行为，属本机关管辖，未超过追责时效，建议立案"}


APPROVE_FILING = {"filing_decision": "file", "case_reason": "擅自排放水污染物案", "filed_on": iso(TODAY),
                  "filing_opinion": "同意立案"}
INVESTIGATE = {"investigators": ["supervision_investigate1", "supervision_investigate2"],
               "certificates_shown": True, "evidence_list": "现场检查笔录、询问笔录、监测报告、照片", "evidence_files": [],
               "preservation_requested": False, "correction_ordered": True, "extension_requested": False, "extension_reason": ""}


def report(fine, action="penalty", kind="fine"):
    return {"violation_facts": "经查，当事人擅自排放含油废水", "legal_basis": "水污染防治法第83条第3项",
            "investigation_conclusion": action, "penalty_kind": kind, "fine_amount": str(fine),
            "confiscation_amount": "0", "discretion_reason": "初次违法", "investigation_report": []}


def review(party_type, fine, outcome="proceed", action="penalty", major=False):
    return {"review_outcome": outcome, "proposed_action": action, "party_type": party_type, "penalty_kind": "fine",
            "fine_amount": str(fine), "confiscation_amount": "0", "major_case": major, "review_opinion": "事实清楚，证据确凿"}


def legal(outcome="approved", all_checks=True):
    return {"materials_complete": True, "check_subject": True, "check_facts": all_checks, "check_basis": True,
            "check_discretion": True, "check_procedure": True, "legal_review_opinion": "审核意见", "legal_review_outcome": outcome}


NOTICE = {"notice_content": "拟处罚的事实、理由、依据和内容；陈述申辩权、听证权", "notice_delivery_method": "direct",
          "notice_served_on": iso(TODAY), "notice_receipt": []}


def statement(hearing=False, waived=False):
    """``waived``: the party waived the rest of the period in writing (needed to finish before it ends)."""
    return {"statement_made": True, "statement_record": "当事人称已停止排放", "statement_files": [],
            "hearing_requested": hearing, "hearing_requested_on": iso(TODAY) if hearing else "",
            "rights_waived": waived, "waiver_file": ["书面放弃声明"] if waived else []}


def hearing_notice(days_after):
    return {"hearing_host": ["legal_head"], "hearing_date": iso(calendar.add_working_days(TODAY, days_after)),
            "hearing_place": "局三楼会议室", "hearing_public": True, "hearing_notice_served_on": iso(TODAY),
            "hearing_notice_delivery_method": "direct"}


HOLD = {"hearing_held_on": iso(calendar.add_working_days(TODAY, 10)),  # on or after every hearing date used below
        "hearing_attendance": "attended", "hearing_transcript": [],
        "hearing_report": "当事人对事实无异议，请求从轻"}


def recheck(fine, outcome="maintain"):
    return {"statement_adopted": "rejected", "penalty_kind": "fine", "fine_amount": str(fine),
            "recheck_outcome": outcome, "recheck_opinion": "复核意见"}


def draft(fine, decision="penalty"):
    return {"decision_type": decision, "penalty_kind": "fine", "fine_amount": str(fine), "confiscation_amount": "0",
            "decision_text": "行政处罚决定书正文", "decision_draft": []}


def discussion(conclusion="agree"):
    # the form gives the 集体讨论记录; its signed copy is the text record (uploaded by Case.do)
    return {"discussion_held_on": iso(TODAY), "discussion_host": "高局长", "discussion_attendees": "局长、副局长、法制股长；记录：周股长",
            "discussion_record": "一致同意拟定的处理决定", "discussion_conclusion": conclusion,
            "discussion_changes": "罚款数额调整" if conclusion == "redraft" else ""}


def decide(outcome="approve"):
    return {"decide_outcome": outcome, "decision_date": iso(TODAY), "head_opinion": "同意"}


DELIVER = {"decision_delivery_method": "direct", "decision_served_on": iso(TODAY), "decision_receipt": []}


def payment(status, amount=""):
    return {"payment_status": status, "paid_on": iso(TODAY) if status == "paid" else "", "paid_amount": str(amount),
            "payment_receipt": [], "deferral_request": "经营困难，申请分期" if status == "deferral_requested" else ""}


CLOSE = {"closure_reason": "performed", "performance_note": "罚款已缴清"}
APPROVE_CLOSURE = {"closure_decision": "approve", "closure_opinion": "同意结案"}
ARCHIVE = {"archive_no": "鲁环罚档〔2026〕1号", "archived_on": iso(TODAY), "archive_volumes": "正卷1册、副卷1册"}


def start_case(db, user, party):
    case = Case.start(db, user, "penalty", "supervision_file1")
    assert case.ready_ids() == ["UserTask_register_source"]
    case.do("UserTask_register_source", "supervision_file1", register(party), group="supervision.file")
    case.do("UserTask_approve_filing", "leadership_chief", APPROVE_FILING, group=LEAD)
    return case


def investigate_and_review(case, party_type, fine, *, action="penalty", major=False):
    case.do("UserTask_investigate", "supervision_investigate1", INVESTIGATE, group="supervision.investigate")
    case.do("UserTask_investigation_report", "supervision_investigate1", report(fine, action), group="supervision.investigate")
    case.do("UserTask_review", "supervision_review1", review(party_type, fine, action=action, major=major), group="supervision.review")


def notify_and_recheck(case, fine):
    """事先告知, 陈述申辩 (no hearing requested) and 复核 keeping ``fine``."""
    case.do("UserTask_prior_notice", "supervision_notify1", NOTICE, group="supervision.notify")
    case.do("UserTask_statement", "supervision_notify1", statement(), group="supervision.notify")
    case.do("UserTask_recheck", "supervision_review1", recheck(fine), group="supervision.review")


def decide_and_serve(case, fine, *, decision="penalty", collective=False, reviewed=False):
    case.do("UserTask_draft_decision", "supervision_decide1", draft(fine, decision), group="supervision.decide")
    if reviewed:                                                          # 法制审核 after the draft
        case.do("UserTask_legal_review", "legal_review1", legal(), group="legal.review")
    if collective:
        case.do("UserTask_collective_discussion", "leadership_chief", discussion(), group="leadership.chief")
    case.do("UserTask_decide", "leadership_deputy", decide(), group=LEAD)
    case.do("UserTask_deliver_decision", "supervision_deliver1", DELIVER, group="supervision.deliver")
    if decision == "penalty":  # 行政处罚决定公示 (行政处罚法第48条)
        case.do("UserTask_review_publication", "legal_review1", {}, group="legal.review")


def close_and_archive(case, reason="performed"):
    case.do("UserTask_close_case", "supervision_execute1", {**CLOSE, "closure_reason": reason}, group="supervision.execute")
    # 结案审批 has an explicit choice: not agreeing sends the case back to 结案 with the reasons
    case.do("UserTask_approve_closure", "leadership_chief", {"closure_decision": "reject",
                                                             "closure_opinion": "执行材料不全，请补充缴款凭证"}, group=LEAD)
    assert case.ready_ids() == ["UserTask_close_case"]
    case.do("UserTask_close_case", "supervision_execute1", {**CLOSE, "closure_reason": reason}, group="supervision.execute")
    case.do("UserTask_approve_closure", "leadership_chief", APPROVE_CLOSURE, group=LEAD)
    case.do("UserTask_archive", "supervision_records1", ARCHIVE, group="supervision.records")
    assert case.status == "completed"
    assert own_ends(case) == ["EndEvent_archived"]


LEGAL_REVIEW_ENDS = {"EndEvent_reviewed", "EndEvent_not_required"}  # of the called legal_review process


def own_ends(case) -> list[str]:
    return [e for e in case.ended() if e not in LEGAL_REVIEW_ENDS]


# ----------------------------------------------------------------------------------------

def test_citizen_5000_is_reviewed_heard_discussed_and_enforced_by_the_court(db, deployed, user, timer_clock):
    case = start_case(db, user, CITIZEN)
    data = case.data()
    assert data["enforcement_category"] == "penalty"
    assert data["decide_due"] == calendar.add_days(TODAY, 90)            # 行政处罚法第60条
    investigate_and_review(case, "citizen", 5000)
    assert "legal_review_required" not in case.data()                    # not before 告知, 听证 and 复核
    assert case.data()["hearing_right"] is True                          # 行政处罚法第63条 / 较大数额
    case.do("UserTask_prior_notice", "supervision_notify1", NOTICE, group="supervision.notify")
    assert case.data()["statement_due"] == calendar.add_working_days(TODAY, 5)
    statement_task = case.task("UserTask_statement")
    assert statement_task.due_at is not None
    case.do("UserTask_statement", "supervision_notify1", statement(hearing=True), group="supervision.notify")

    # a hearing notice less than 7 working days ahead is sent back (行政处罚法第64条第2项)
    back = case.do("UserTask_hearing_notice", "supervision_notify1", hearing_notice(5), group="supervision.notify")
    assert case.ready_ids() == ["UserTask_hearing_notice"]
    why = (f"听证通知书送达日（{TODAY}）距听证日（{calendar.add_working_days(TODAY, 5)}）不足7个工作日（行政处罚法第64条"
           "第2项），请重新确定听证日期并送达")
    assert back.explanations == (why,) and case.task("UserTask_hearing_notice").return_reason == why
    case.do("UserTask_hearing_notice", "supervision_notify1", hearing_notice(7), group="supervision.notify")
    case.do("UserTask_hold_hearing", "supervision_notify1", HOLD, group="supervision.notify")
    case.do("UserTask_recheck", "supervision_review2", recheck(5000), group="supervision.review")

    # reviewed after the hearing (行政处罚法第58条第1款第2项, and 目录清单第1项), in 法制股;
    # a reviewed decision goes to 集体讨论 (河南省行政执法条例第28条)
    case.do("UserTask_draft_decision", "supervision_decide1", draft(5000), group="supervision.decide")
    review_task = case.task("UserTask_legal_review")
    assert review_task.candidate_groups == "legal.review"
    data = case.data()
    assert data["legal_review_required"] is True and "第58条第1款第2项" in data["legal_review_reason"]
    case.do("UserTask_legal_review", "legal_review1", legal(), group="legal.review")
    assert case.data()["legal_review_outcome"] == "approved"
    case.do("UserTask_collective_discussion", "leadership_chief", discussion(), group="leadership.chief")
    case.do("UserTask_decide", "leadership_deputy", decide(), group=LEAD)
    case.do("UserTask_deliver_decision", "supervision_deliver1", DELIVER, group="supervision.deliver")
    case.do("UserTask_review_publication", "legal_review1", {}, group="legal.review")   # 行政处罚决定公示
    data = case.data()
    assert data["payment_due"] == calendar.add_days(TODAY, 15)
    assert data["remedies_lapse_on"] == calendar.add_months(TODAY, 6)
    assert data["court_apply_until"] == calendar.add_months(data["remedies_lapse_on"], 3)

    case.do("UserTask_monitor_payment", "supervision_execute1", payment("overdue"), group="supervision.execute")
    assert case.data()["late_fee"] <= Decimal("5000")                     # 加处罚款不超过罚款数额
    case.do("UserTask_track_remedies", "supervision_execute1", {"track_status": "lapsed", "track_note": ""},
            group="supervision.execute")
    case.do("UserTask_demand", "supervision_notify1", {"demand_delivery_method": "direct", "demand_content": "限期缴纳罚款及加处罚款",
            "demand_served_on": iso(TODAY), "demand_receipt": []}, group="supervision.notify")
    assert case.ready_ids() == []                                         # waiting 10 working days (行政强制法第54条)
    lapse = case.data()["demand_lapse_on"]
    assert lapse == calendar.add_working_days(TODAY, 10)
    fire_after(db, timer_clock, lapse, case)
    assert case.ready_ids() == ["UserTask_check_after_demand"]
    case.do("UserTask_check_after_demand", "supervision_execute1", {"demand_result": "unpaid", "demand_statement": ""},
            group="supervision.execute")
    data = case.data()
    days = max(0, (date.today() - data["payment_due"]).days)
    assert data["late_fee"] == min((Decimal("5000") * Decimal("0.03") * days).quantize(Decimal("0.01")), Decimal("5000"))
    assert data["amount_due"] == Decimal("5000") + data["late_fee"]
    case.do("UserTask_prepare_court_application", "supervision_execute1", {
        "court_name": "鲁山县人民法院", "court_application_text": "强制执行申请书", "court_materials": []},
        group="supervision.execute")
    case.do("UserTask_sign_court_application", "leadership_chief", {"court_application_signed": True,
            "signed_on": iso(TODAY)}, group=LEAD)
    case.do("UserTask_record_court_result", "supervision_execute1", {"court_filed_on": iso(TODAY),
            "court_result": "enforced", "court_documents": []}, group="supervision.execute")
    close_and_archive(case, "enforced")


def test_inspection_message_starts_a_case_organisation_below_50000_pays_after_deferral(db, deployed, user):
    payload = {"party_name": "鲁山县某铸造有限公司", "party_type": "organization", "credit_code": "91410423MA00000002",
               "violation_facts": "废气处理设施未正常运行", "inspection_business_key": "JC-2026-0001",
               "source_business_key": "JC-2026-0001"}
    with db.transaction() as session:
        instance = runtime.start(session, "penalty", user("supervision_investigate1"), message=BpmnEvent(
            MessageEventDefinition("移送立案"), {"payload": payload, "result_var": "violation"}))
    case = Case(db, user, instance)
    data = case.data()
    assert data["party_name"] == "鲁山县某铸造有限公司" and data["case_source"] == "inspection"
    assert data["inspection_business_key"] == "JC-2026-0001"
    case.do("UserTask_register_source", "supervision_file1", {**register(ORGANIZATION), "party_name": data["party_name"]},
            group="supervision.file")
    case.do("UserTask_approve_filing", "leadership_chief", APPROVE_FILING, group=LEAD)

    # 延长办案期限 with the head's approval (行政处罚法第60条)
    case.do("UserTask_investigate", "supervision_investigate1", {**INVESTIGATE, "extension_requested": True,
            "extension_reason": "需委托监测"}, group="supervision.investigate")
    case.do("UserTask_approve_extension", "leadership_deputy", {"extension_approved": True, "extension_opinion": "同意"},
            group=LEAD)
    # issue #11: the tick-box is a confirmation, not a question
    assert refused(case, "UserTask_investigate", "supervision_investigate2", {**INVESTIGATE, "certificates_shown": False}) \
        == {"certificates_shown": "已向当事人出示执法证件：必须确认（勾选）后才能提交"}
    assert case.data()["decide_due"] == calendar.add_days(calendar.add_days(TODAY, 90), 30)
    case.do("UserTask_investigate", "supervision_investigate2", INVESTIGATE, group="supervision.investigate")
    case.do("UserTask_investigation_report", "supervision_investigate1", report("49999.99"), group="supervision.investigate")
    # 退回补充调查 from 案件审查
    case.do("UserTask_review", "supervision_review1", review("organization", "49999.99", outcome="reinvestigate"),
            group="supervision.review")
    investigate_and_review(case, "organization", "49999.99")

    # 49,999.99 on an organisation: no hearing right (< 50,000, 河南省行政处罚听证办法第4条)
    assert case.data()["hearing_right"] is False
    assert case.ready_ids() == ["UserTask_prior_notice"]
    case.do("UserTask_prior_notice", "supervision_notify1", NOTICE, group="supervision.notify")
    case.do("UserTask_statement", "supervision_notify1", statement(hearing=True), group="supervision.notify")
    assert case.ready_ids() == ["UserTask_recheck"]                       # no hearing right: request ignored
    # 复核 may not increase the fine (行政处罚法第45条第2款)
    back = case.do("UserTask_recheck", "supervision_review1", recheck(60000), group="supervision.review")
    assert case.ready_ids() == ["UserTask_recheck"]
    assert back.explanations[0].startswith("复核的罚款金额（60000.00元）高于事先告知的金额（")
    case.do("UserTask_recheck", "supervision_review1", recheck(40000, "adjust"), group="supervision.review")
    case.do("UserTask_draft_decision", "supervision_decide1", draft(40000), group="supervision.decide")
    data = case.data()                                                    # below the 目录清单, no art. 58 ground
    assert data["legal_review_required"] is False and data["legal_review_outcome"] == "not_required"
    assert case.ready_ids() == ["UserTask_decide"]                        # no 集体讨论
    case.do("UserTask_decide", "leadership_chief", decide("redraft"), group=LEAD)
    case.do("UserTask_draft_decision", "supervision_decide1", draft(40000), group="supervision.decide")
    case.do("UserTask_decide", "leadership_deputy", decide(), group=LEAD)
    # issue #11: served before the decision was made, or in the future: refused, naming both dates
    early = TODAY - timedelta(days=3)
    assert refused(case, "UserTask_deliver_decision", "supervision_deliver1", {**DELIVER, "decision_served_on": iso(early)}) \
        == {"decision_served_on": f"送达日期（公告送达填公告发布日期）（{early}）不能早于决定日期（{TODAY}）"}
    case.do("UserTask_deliver_decision", "supervision_deliver1", DELIVER, group="supervision.deliver")
    case.do("UserTask_review_publication", "legal_review1", {}, group="legal.review")  # 行政处罚决定公示

    case.do("UserTask_monitor_payment", "supervision_execute1", payment("deferral_requested"), group="supervision.execute")
    deferred = calendar.add_days(TODAY, 60)
    case.do("UserTask_approve_deferral", "leadership_chief", {"deferral_approved": True, "deferred_until": iso(deferred),
            "installment_plan": "分两期", "deferral_opinion": "同意"}, group=LEAD)
    assert case.data()["payment_due"] == deferred
    # issue #11: "已全额缴纳" with part of the fine does not close the case
    assert refused(case, "UserTask_monitor_payment", "supervision_execute1", payment("paid", 20000)) \
        == {"paid_amount": "缴纳金额（元）（20000）应当等于罚款金额（元）（40000）"}
    case.do("UserTask_monitor_payment", "supervision_execute1", payment("paid", 40000), group="supervision.execute")
    close_and_archive(case)


def test_legal_review_sends_back_then_the_case_ends_without_penalty(db, deployed, user):
    case = start_case(db, user, CITIZEN)
    investigate_and_review(case, "citizen", 8000)
    notify_and_recheck(case, 8000)
    case.do("UserTask_draft_decision", "supervision_decide1", draft(8000), group="supervision.decide")
    # an "approved" opinion while a checklist point is not met is sent back to the reviewer
    case.do("UserTask_legal_review", "legal_review1", legal("approved", all_checks=False), group="legal.review")
    assert case.ready_ids() == ["UserTask_legal_review"]
    case.do("UserTask_legal_review", "legal_review1", legal("reinvestigate", all_checks=False), group="legal.review")
    investigate_and_review(case, "citizen", 8000)
    notify_and_recheck(case, 8000)
    case.do("UserTask_draft_decision", "supervision_decide1", draft(8000), group="supervision.decide")
    case.do("UserTask_legal_review", "legal_review2", legal("revise"), group="legal.review")
    # 退回修改 goes back to the draft; now it is 不予处罚 (fine 0): below the 目录清单, no review
    assert case.ready_ids() == ["UserTask_draft_decision"]
    decide_and_serve(case, 0, decision="no_penalty_minor")
    assert case.data()["legal_review_outcome"] == "not_required"
    assert case.ready_ids() == ["UserTask_close_case"]                    # nothing to pay
    close_and_archive(case, "not_punished")


def test_statement_period_lapses_late_hearing_request_remedies_and_revocation(db, deployed, user, timer_clock):
    case = start_case(db, user, ORGANIZATION)
    investigate_and_review(case, "organization", 200000)
    assert case.data()["hearing_right"] is True                          # 5万元以上（河南省行政处罚听证办法第4条）
    case.do("UserTask_prior_notice", "supervision_notify1", NOTICE, group="supervision.notify")
    due = case.data()["statement_due"]
    # the party says nothing: when the 5 working days are over the right has lapsed and the case goes on
    fire_after(db, timer_clock, due, case)
    assert case.ready_ids() == ["UserTask_recheck"]
    assert case.data()["statement_period_lapsed"] is True
    # a request posted in time arrives late (在途时间不计入): 复核 sends it to 听证
    case.do("UserTask_recheck", "supervision_review1", recheck(200000, "late_hearing_request"), group="supervision.review")
    case.do("UserTask_hearing_notice", "supervision_notify1", hearing_notice(8), group="supervision.notify")
    case.do("UserTask_hold_hearing", "supervision_notify1", {**HOLD, "hearing_attendance": "waived"}, group="supervision.notify")
    case.do("UserTask_recheck", "supervision_review1", recheck(200000), group="supervision.review")
    case.do("UserTask_draft_decision", "supervision_decide1", draft(200000), group="supervision.decide")
    case.do("UserTask_legal_review", "legal_review1", legal(), group="legal.review")
    case.do("UserTask_collective_discussion", "leadership_chief", discussion("redraft"), group="leadership.chief")
    # redrafted without changing what is decided: the approved review still covers it
    case.do("UserTask_draft_decision", "supervision_decide1", draft(200000), group="supervision.decide")
    assert case.ready_ids() == ["UserTask_collective_discussion"]
    case.do("UserTask_collective_discussion", "leadership_chief", discussion(), group="leadership.chief")
    # the head sends it back for further investigation; the whole chain runs again
    case.do("UserTask_decide", "leadership_chief", decide("reinvestigate"), group=LEAD)
    case.do("UserTask_investigate", "supervision_investigate1", {**INVESTIGATE, "evidence_list": "补充监测报告"},
            group="supervision.investigate")
    case.do("UserTask_investigation_report", "supervision_investigate1", report(200000), group="supervision.investigate")
    case.do("UserTask_review", "supervision_review1", review("organization", 200000), group="supervision.review")
    renotified = due + timedelta(days=1)                                  # the clock is past the first period now
    case.do("UserTask_prior_notice", "supervision_notify1", {**NOTICE, "notice_served_on": iso(renotified)},
            group="supervision.notify")
    assert case.data()["statement_due"] == calendar.add_working_days(renotified, 5)
    case.do("UserTask_statement", "supervision_notify1", statement(hearing=False), group="supervision.notify")
    case.do("UserTask_recheck", "supervision_review1", recheck(200000), group="supervision.review")
    decide_and_serve(case, 200000, collective=True, reviewed=True)       # new evidence: reviewed again

    case.do("UserTask_monitor_payment", "supervision_execute1", payment("challenged"), group="supervision.execute")
    remedy = {"remedy_kind": "reconsideration", "remedy_filed_on": iso(TODAY),
              "remedy_decided_on": iso(TODAY + timedelta(days=40)), "fine_amount": "200000", "remedy_documents": []}
    case.do("UserTask_await_remedy_result", "supervision_execute1", {**remedy, "remedy_result": "upheld"},
            group="supervision.execute")
    data = case.data()
    assert data["late_fee_paused_days"] == 40                             # 复议期间不计加处罚款
    assert data["remedies_lapse_on"] == TODAY + timedelta(days=40)
    case.do("UserTask_monitor_payment", "supervision_execute1", payment("overdue"), group="supervision.execute")
    case.do("UserTask_track_remedies", "supervision_execute1", {"track_status": "challenged", "track_note": "已起诉"},
            group="supervision.execute")
    case.do("UserTask_await_remedy_result", "supervision_execute1", {**remedy, "remedy_kind": "litigation",
            "remedy_result": "revoked"}, group="supervision.execute")
    close_and_archive(case, "revoked")


def test_recheck_reinvestigation_and_transfer_decision(db, deployed, user):
    case = start_case(db, user, CITIZEN)
    investigate_and_review(case, "citizen", 3000)
    case.do("UserTask_prior_notice", "supervision_notify1", NOTICE, group="supervision.notify")
    case.do("UserTask_statement", "supervision_notify1", statement(), group="supervision.notify")
    case.do("UserTask_recheck", "supervision_review1", recheck(3000, "reinvestigate"), group="supervision.review")
    case.do("UserTask_investigate", "supervision_investigate1", INVESTIGATE, group="supervision.investigate")
    case.do("UserTask_investigation_report", "supervision_investigate1", report(0, "transfer"), group="supervision.investigate")
    case.do("UserTask_review", "supervision_review1", review("citizen", 0, action="transfer"), group="supervision.review")
    case.do("UserTask_draft_decision", "supervision_decide1", draft(0, "transfer"), group="supervision.decide")
    assert case.data()["legal_review_required"] is False
    case.do("UserTask_decide", "leadership_chief", decide(), group=LEAD)
    case.do("UserTask_transfer", "supervision_decide1", {"transfer_to": "鲁山县公安局", "transferred_on": iso(TODAY),
            "transfer_letter": []}, group="supervision.decide")
    close_and_archive(case, "transferred")


def _to_payment(db, user):
    case = start_case(db, user, CITIZEN)
    investigate_and_review(case, "citizen", 2000)
    case.do("UserTask_prior_notice", "supervision_notify1", NOTICE, group="supervision.notify")
    case.do("UserTask_statement", "supervision_notify1", statement(), group="supervision.notify")
    case.do("UserTask_recheck", "supervision_review1", recheck(2000), group="supervision.review")
    decide_and_serve(case, 2000)
    case.do("UserTask_monitor_payment", "supervision_execute1", payment("overdue"), group="supervision.execute")
    return case


def test_overdue_fine_paid_while_remedy_periods_run(db, deployed, user):
    case = _to_payment(db, user)
    case.do("UserTask_track_remedies", "supervision_execute1", {"track_status": "paid", "track_note": "已缴清"},
            group="supervision.execute")
    close_and_archive(case)


def test_fine_paid_after_the_demand(db, deployed, user, timer_clock):
    case = _to_payment(db, user)
    case.do("UserTask_track_remedies", "supervision_execute1", {"track_status": "lapsed", "track_note": ""},
            group="supervision.execute")
    case.do("UserTask_demand", "supervision_notify1", {"demand_delivery_method": "direct", "demand_content": "限期缴纳", "demand_served_on": iso(TODAY),
            "demand_receipt": []}, group="supervision.notify")
    fire_after(db, timer_clock, case.data()["demand_lapse_on"], case)
    case.do("UserTask_check_after_demand", "supervision_execute1", {"demand_result": "paid", "demand_statement": ""},
            group="supervision.execute")
    close_and_archive(case)


def test_not_filed_and_transferred_at_filing(db, deployed, user):
    for decision, end in (("not_file", "EndEvent_not_filed"), ("transfer", "EndEvent_transferred_at_filing")):
        case = Case.start(db, user, "penalty", "supervision_file1")
        case.do("UserTask_register_source", "supervision_file1", register(CITIZEN), group="supervision.file")
        case.do("UserTask_approve_filing", "leadership_chief", {**APPROVE_FILING, "filing_decision": decision,
                "filed_on": ""}, group=LEAD)
        assert case.status == "completed" and own_ends(case) == [end]


def test_filing_deadline_reminds_the_chief_and_decides_nothing(db, deployed, user, timer_clock):
    case = Case.start(db, user, "penalty", "supervision_file1")
    case.do("UserTask_register_source", "supervision_file1", register(CITIZEN), group="supervision.file")
    task = case.task("UserTask_approve_filing")
    due = calendar.add_days(TODAY, 15)                                    # 15 days from the clue
    assert task.due_at is not None
    fire_after(db, timer_clock, due, case)
    assert case.ready_ids() == ["UserTask_approve_filing"]               # still to be decided
    assert any(r == "leadership.chief" and "立案审批超期" in t for r, t in case.notifications())
    assert "EndEvent_approve_filing_overdue_end" in case.ended(reminders=True)


def test_the_reviewer_returns_the_case_for_more_investigation_with_a_reason(db, deployed, user):
    case = start_case(db, user, ORGANIZATION)
    case.do("UserTask_investigate", "supervision_investigate1", INVESTIGATE, group="supervision.investigate")
    case.do("UserTask_investigation_report", "supervision_investigate1", report("60000"), group="supervision.investigate")
    review_task = case.task("UserTask_review")
    with db.transaction() as session:
        tasks.send_back(session, review_task.id, user("supervision_review1"), "现场检测报告缺少采样记录，请补充")
    assert case.ready_ids() == ["UserTask_investigate"]
    assert case.data()["review_opinion"] == "现场检测报告缺少采样记录，请补充"
    with db.reading() as session:
        returned = [e for e in history.events_of(session, case.id) if e.action == "return"]
    assert len(returned) == 1 and returned[0].actor == "supervision_review1"


def test_the_notice_and_the_decision_get_their_numbers_when_issued(db, deployed, user):
    year = datetime.now(ZoneInfo("Asia/Shanghai")).year
    case = start_case(db, user, ORGANIZATION)
    investigate_and_review(case, "organization", "49999.99")
    case.do("UserTask_prior_notice", "supervision_notify1", NOTICE, group="supervision.notify")
    assert case.data()["notice_no"] == f"鲁环罚告字〔{year}〕第001号"
    case.do("UserTask_statement", "supervision_notify1", statement(), group="supervision.notify")
    case.do("UserTask_recheck", "supervision_review1", recheck("49999.99"), group="supervision.review")
    decide_and_serve(case, "49999.99")
    assert case.data()["decision_no"] == f"鲁环罚决字〔{year}〕第001号"


def test_a_fine_changed_at_recheck_after_a_hearing_is_reviewed_as_it_will_be_decided(db, deployed, user):
    case = start_case(db, user, CITIZEN)
    investigate_and_review(case, "citizen", 8000)
    case.do("UserTask_prior_notice", "supervision_notify1", NOTICE, group="supervision.notify")
    case.do("UserTask_statement", "supervision_notify1", statement(hearing=True), group="supervision.notify")
    case.do("UserTask_hearing_notice", "supervision_notify1", hearing_notice(7), group="supervision.notify")
    case.do("UserTask_hold_hearing", "supervision_notify1", HOLD, group="supervision.notify")
    # the hearing persuades 复核 to lower the fine below the 目录清单 amount; the review still comes
    # after it (经过听证程序, 行政处罚法第58条第1款第2项) and sees 4,000, not the notified 8,000
    case.do("UserTask_recheck", "supervision_review1", recheck(4000, "adjust"), group="supervision.review")
    assert "legal_review_required" not in case.data()
    case.do("UserTask_draft_decision", "supervision_decide1", draft(4000), group="supervision.decide")
    assert case.ready_ids() == ["UserTask_legal_review"]
    data = case.data()
    assert data["fine_amount"] == Decimal("4000") and "4000" in data["legal_review_subject"]
    assert "第58条第1款第2项" in data["legal_review_reason"]
    case.do("UserTask_legal_review", "legal_review1", legal(), group="legal.review")
    # 集体讨论 changes the fine: what was reviewed is no longer what will be decided → reviewed again
    case.do("UserTask_collective_discussion", "leadership_chief", discussion("redraft"), group="leadership.chief")
    case.do("UserTask_draft_decision", "supervision_decide1", draft(3000), group="supervision.decide")
    assert case.ready_ids() == ["UserTask_legal_review"]
    case.do("UserTask_legal_review", "legal_review2", legal(), group="legal.review")
    case.do("UserTask_collective_discussion", "leadership_chief", discussion(), group="leadership.chief")
    case.do("UserTask_decide", "leadership_chief", decide(), group=LEAD)
    assert case.ready_ids() == ["UserTask_deliver_decision"]
    assert case.data()["fine_amount"] == Decimal("3000")


def test_a_second_extension_needs_collective_discussion(db, deployed, user):
    case = start_case(db, user, ORGANIZATION)
    first_due = calendar.add_days(TODAY, 90)
    case.do("UserTask_investigate", "supervision_investigate1", {**INVESTIGATE, "extension_requested": True,
            "extension_reason": "需委托检测"}, group="supervision.investigate")
    assert case.ready_ids() == ["UserTask_approve_extension"]            # the first: the head approves
    case.do("UserTask_approve_extension", "leadership_deputy", {"extension_approved": True, "extension_opinion": "同意"},
            group=LEAD)
    assert case.data()["decide_due"] == calendar.add_days(first_due, 30)
    case.do("UserTask_investigate", "supervision_investigate1", {**INVESTIGATE, "extension_requested": True,
            "extension_reason": "涉及多个法律关系，需专家论证"}, group="supervision.investigate")
    # the second: 集体讨论 (生态环境行政处罚办法), with its text record, decides and sets the length
    assert case.ready_ids() == ["UserTask_extension_discussion"]
    task = case.task("UserTask_extension_discussion")
    assert task.candidate_groups == "leadership.chief"
    case.do("UserTask_extension_discussion", "leadership_chief", {"extension_discussed_on": iso(TODAY),
            "extension_approved": True, "extension_days": 20, "extension_opinion": "同意继续延期20日"},
            group="leadership.chief")
    data = case.data()
    assert data["decide_due"] == calendar.add_days(calendar.add_days(first_due, 30), 20)
    assert data["extension_count"] == 2
    assert case.ready_ids() == ["UserTask_investigate"]


def test_evidence_preserved_with_approval_is_decided_on_within_7_working_days(db, deployed, user, timer_clock):
    case = start_case(db, user, ORGANIZATION)
    # 行政处罚法第56条: approved by the head, 通知书 and 清单, recorded (事项清单第2项)
    case.do("UserTask_investigate", "supervision_investigate1", {**INVESTIGATE, "preservation_requested": True},
            group="supervision.investigate")
    case.do("UserTask_approve_preservation", "leadership_chief", {"preservation_approved": True,
            "preservation_opinion": "同意"}, group=LEAD)
    preserve = {"preserved_on": iso(TODAY), "preservation_officers": ["supervision_investigate1", "supervision_execute1"],
                "preservation_notice_no": "鲁环先保字〔2026〕第001号", "preserved_items": "含油废水采样桶2只",
                "preservation_party_confirmed": True, "preservation_files": []}
    case.do("UserTask_preserve_evidence", "supervision_investigate1", preserve, group="supervision.investigate")
    decide_task = case.task("UserTask_decide_preserved")
    assert decide_task.candidate_groups == LEAD and decide_task.due_at is not None
    case.do("UserTask_decide_preserved", "leadership_deputy", {"preservation_outcome": "release",
            "preservation_decision_note": "已取得检测报告，不需继续保存"}, group=LEAD)
    # 解除 is recorded too (事项清单第3项), then the investigation goes on
    case.do("UserTask_release_preservation", "supervision_investigate2", {"preservation_released_on": iso(TODAY),
            "preservation_release_record": "退还采样桶，当事人签字"}, group="supervision.investigate")
    assert case.ready_ids() == ["UserTask_investigate"]
    assert "处理：解除" in case.data()["preservation_log"]

    # no decision within 7 working days: the measure lapses and the items are released
    case.do("UserTask_investigate", "supervision_investigate1", {**INVESTIGATE, "preservation_requested": True})
    case.do("UserTask_approve_preservation", "leadership_chief", {"preservation_approved": True, "preservation_opinion": "同意"})
    case.do("UserTask_preserve_evidence", "supervision_investigate1", {**preserve, "preservation_notice_no": "鲁环先保字〔2026〕第002号"})
    lapse = calendar.add_working_days(TODAY, 7)
    fire_after(db, timer_clock, lapse - timedelta(days=1), case)
    assert case.ready_ids() == ["UserTask_decide_preserved"]
    fire_after(db, timer_clock, lapse, case)
    assert case.ready_ids() == ["UserTask_release_preservation"]
    assert any("自动解除" in text for _, text in case.notifications())
    case.do("UserTask_release_preservation", "supervision_investigate1", {"preservation_released_on": iso(lapse),
            "preservation_release_record": "逾期自动解除，退还物品"})
    assert "逾期自动解除" in case.data()["preservation_log"]
    assert case.ready_ids() == ["UserTask_investigate"]


def test_hearing_announcement_and_testing_time_do_not_count_against_the_90_days(db, deployed, user):
    case = start_case(db, user, CITIZEN)
    due = calendar.add_days(TODAY, 90)
    case.do("UserTask_investigate", "supervision_investigate1", {**INVESTIGATE, "testing_from": iso(TODAY),
            "testing_to": iso(TODAY + timedelta(days=9))}, group="supervision.investigate")
    case.do("UserTask_investigation_report", "supervision_investigate1", report(8000), group="supervision.investigate")
    case.do("UserTask_review", "supervision_review1", review("citizen", 8000), group="supervision.review")
    case.do("UserTask_prior_notice", "supervision_notify1", {**NOTICE, "notice_delivery_method": "announcement",
            "notice_announced_on": iso(TODAY), "notice_served_on": iso(TODAY + timedelta(days=29)),
            "notice_announcement": ["公告"]},
            group="supervision.notify")
    case.do("UserTask_statement", "supervision_notify1", {**statement(hearing=True),
            "hearing_requested_on": iso(TODAY + timedelta(days=30))}, group="supervision.notify")
    case.do("UserTask_hearing_notice", "supervision_notify1", {**hearing_notice(10), "hearing_date": iso(TODAY + timedelta(days=44)),
            "hearing_notice_served_on": iso(TODAY + timedelta(days=31))}, group="supervision.notify")
    case.do("UserTask_hold_hearing", "supervision_notify1", {**HOLD, "hearing_held_on": iso(TODAY + timedelta(days=44))},
            group="supervision.notify")
    case.do("UserTask_recheck", "supervision_review1", recheck(8000), group="supervision.review")
    data = case.data()
    # 听证 15 days, 公告 30 days, 检测 10 days: 55 days added to the period
    assert data["decide_pause_days"] == 55
    assert data["decide_due"] == calendar.add_days(due, 55)
    for shown in ("听证：", "公告：", "检测、检验、鉴定：2026-03-02至2026-03-11（10日）"):
        assert shown in data["decide_pauses"]
    assert case.task("UserTask_draft_decision").due_at is not None


def test_the_diagram_draws_legal_review_as_done_only_when_someone_reviewed(db, deployed, user):
    from engine.inbox import case_view
    below, above = start_case(db, user, ORGANIZATION), start_case(db, user, CITIZEN)
    investigate_and_review(below, "organization", 20000)   # below the 目录清单's threshold: no review
    investigate_and_review(above, "citizen", 5000)
    for case, fine in ((below, 20000), (above, 5000)):     # 法制审核 comes before the decision (第58条)
        case.do("UserTask_prior_notice", "supervision_notify1", NOTICE, group="supervision.notify")
        case.do("UserTask_statement", "supervision_notify1", statement(), group="supervision.notify")
        case.do("UserTask_recheck", "supervision_review1", recheck(fine), group="supervision.review")
        case.do("UserTask_draft_decision", "supervision_decide1", draft(fine), group="supervision.decide")
    with db.reading() as session:  # the called 法制审核 process's monitoring counts the case waiting in it
        from engine.deploy import repository
        from monitoring import dashboards
        called = repository.latest_definition(session, "legal_review")
        view = dashboards.process_view(session, user("leadership_chief"), called.id)
        assert {a.element_id: a.waiting for a in view.activities} == {"UserTask_legal_review": 1}
    above.do("UserTask_legal_review", "legal_review1", legal(), group="legal.review")
    with db.reading() as session:
        skipped = case_view.highlights(below._workflow(session))[0]
        reviewed = case_view.highlights(above._workflow(session))[0]
    assert "UserTask_review" in skipped and "CallActivity_legal_review" not in skipped
    assert "CallActivity_legal_review" in reviewed
