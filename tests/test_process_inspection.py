"""bpmn/inspection.bpmn (行政检查): a case started by a confirmed 双随机 draw (spot_checks/) or a
complaint-driven inspection registered by hand → 现场检查
→ compliant (公示, 办结) or violation → 移送立案 (starts a penalty case with the facts) and/or 责令改正
→ 公示 within 20 working days → 复查 (not corrected → another penalty case)."""
from __future__ import annotations

from datetime import date

import pytest

from engine.execution import runtime
from engine.spec.forms import FormInvalid
from tests.casework import Case
from workdays import calendar

COMPLAINT_START = {"inspection_source": "complaint", "inspection_matter": "群众举报夜间异味",
                   "complaint_no": "12369-2026-0456", "complaint_content": "夜间排放刺激性气体"}
COMPLAINT_TARGET = {"party_name": "鲁山县丁塑料制品厂", "party_type": "organization",
                    "credit_code": "92410423MA0000004D", "id_number": None, "legal_rep": "周某",
                    "party_address": "鲁山县辛集乡", "inspectors": ["supervision_investigate1", "supervision_investigate2"],
                    "inspection_reason": "12369举报核查"}


def onsite(case, result, **extra):
    data = case.data()
    return {"inspected_on": "2026-04-01", "inspection_start_time": "09:30", "inspection_end_time": "11:00",
            "inspectors": data["inspectors"],
            "certificates_shown": True, "recording_notice_given": True, "accompanying_person": "厂长",
            "inspection_content": "污染防治设施运行、排放口、台账", "inspection_record": "见笔录",
            "party_signed": "signed", "record_file": [1], "inspection_result": result, **extra}


PUBLISH = {"publication_text": "经现场检查，未发现环境违法行为。"}
VIOLATION = {"violation_facts": "未正常运行活性炭吸附装置，VOCs未经处理直接排放",
             "legal_basis": "《大气污染防治法》第20条第2款、第99条第3项"}



def close_and_archive(case, reason):
    """Every inspection ends with 检查办结 and 立卷归档."""
    case.do("inspection_close_case", "supervision_investigate1", {"closure_reason": reason, "closure_note": "检查办结"},
            group="supervision.investigate")
    case.do("inspection_archive", "supervision_records1", {"archive_no": "鲁环检档〔2026〕1号", "archived_on": "2026-05-08",
            "archive_volumes": "检查笔录、公示记录、音像资料"}, group="supervision.records")
    assert case.status == "completed" and case.ended() == ["inspection_archived"]

def start_drawn(db, user) -> Case:
    """As a confirmed batch draw starts it (spot_checks.draws.confirm)."""
    with db.transaction() as session:
        instance = runtime.start_by_message(session, "spot_check_drawn", {
            "draw_id": 1, "draw_record": "双随机抽取记录第1号", "inspection_matter": "排污单位污染防治设施运行情况检查",
            "target_category": "general", "party_name": "鲁山县甲化工有限公司", "credit_code": "91410423MA0000001A",
            "party_address": "鲁山县产业集聚区",
            "inspectors": [user("supervision_investigate1").id, user("supervision_investigate2").id]}, user("supervision_file1"))
    return Case(db, user, instance)


def test_a_drawn_compliant_site_is_inspected_published_and_closed(db, deployed, user):
    case = start_drawn(db, user)
    data = case.data()
    assert case.ready_ids() == ["onsite_inspection"]  # the draw and its 回避 happened before the case
    assert data["inspection_source"] == "random" and data["draw_id"] == 1 and len(data["inspectors"]) == 2
    case.do("onsite_inspection", "supervision_investigate1", onsite(case, "compliant"), group="supervision.investigate")
    task = case.task("publish_results")
    assert task.candidate_groups == "legal.review"
    assert case.data().get("inspected_on") == date(2026, 4, 1)
    case.do("publish_results", "legal_review1", PUBLISH, group="legal.review")
    close_and_archive(case, "compliant")
    assert case.started_cases() == []


def test_an_inspection_started_by_hand_cannot_be_a_random_check(db, deployed, user):
    """双随机 has one way to draw (spot_checks/): the start form offers no 双随机抽查 and no pasted lists."""
    with pytest.raises(FormInvalid, match="检查来源：请从列表中选择"):
        Case.start(db, user, "inspection", "supervision_file1", {**COMPLAINT_START, "inspection_source": "random"})
    case = Case.start(db, user, "inspection", "supervision_file1", COMPLAINT_START)
    assert case.ready_ids() == ["register_inspection_task"]


def test_a_complaint_finds_a_violation_that_starts_a_penalty_case_and_a_correction_order(db, deployed, user):
    case = Case.start(db, user, "inspection", "supervision_file1", COMPLAINT_START)
    case.do("register_inspection_task", "supervision_file1", COMPLAINT_TARGET, group="supervision.file")
    case.do("onsite_inspection", "supervision_investigate2", onsite(case, "violation"))
    case.do("propose_violation_handling", "supervision_investigate1", {
        **VIOLATION, "order_correction": True, "correction_requirements": "立即恢复活性炭吸附装置正常运行",
        "correction_deadline": "2026-04-15", "transfer_to_penalty": True}, group="supervision.investigate")

    # the message 移送立案 started a penalty case with the inspection's facts, linked both ways
    [(message, penalty)] = case.started_cases()
    assert message == "移送立案" and penalty.process_key == "penalty"
    assert penalty.title == COMPLAINT_TARGET["party_name"]
    penalty_case = Case(db, user, penalty)
    pdata = penalty_case.data()
    assert pdata["violation"]["inspection_business_key"] == case.business_key
    assert pdata["violation"]["legal_basis"] == VIOLATION["legal_basis"]
    assert pdata["violation_facts"] == VIOLATION["violation_facts"]
    assert pdata["legal_basis"] == VIOLATION["legal_basis"]             # 法律依据 handed over too
    assert pdata["credit_code"] == COMPLAINT_TARGET["credit_code"]
    assert pdata["inspection_business_key"] == case.business_key
    assert [t.candidate_groups for t in penalty_case.ready()] == ["supervision.file"]

    case.do("approve_correction_order", "supervision_decide1", {
        "correction_order_no": "鲁环责改字〔2026〕第001号", "correction_order_date": "2026-04-02",
        "correction_requirements": "立即恢复活性炭吸附装置正常运行", "correction_deadline": "2026-04-15",
        "correction_remedy_notice": True}, group="supervision.decide")
    case.do("serve_correction_order", "supervision_deliver1", {
        "correction_service_method": "direct", "correction_recipient": "周某", "correction_served_on": "2026-04-03",
        "correction_service_receipt": [2]}, group="supervision.deliver")
    publish = case.task("publish_results")
    assert publish.due_at is not None
    case.do("publish_results", "legal_review1", {**PUBLISH, "complainant_replied": True})
    reinspect = case.task("reinspect")
    assert reinspect.candidate_groups == "supervision.investigate"
    case.do("reinspect", "supervision_investigate1", {
        "reinspected_on": "2026-04-20", "reinspectors": ["supervision_investigate1", "supervision_investigate2"],
        "reinspect_certificates_shown": True, "rectified": "rectified", "reinspection_findings": "已恢复运行",
        "reinspection_record": [3]})
    close_and_archive(case, "rectified")


def test_a_correction_not_made_at_reinspection_starts_another_penalty_case(db, deployed, user):
    case = Case.start(db, user, "inspection", "supervision_file1", {**COMPLAINT_START, "inspection_source": "campaign"})
    case.do("register_inspection_task", "supervision_file1", COMPLAINT_TARGET)
    case.do("onsite_inspection", "supervision_investigate1", onsite(case, "violation"))
    # 责令改正 only, no transfer now
    case.do("propose_violation_handling", "supervision_investigate1", {
        **VIOLATION, "order_correction": True, "correction_requirements": "限期整改", "correction_deadline": "2026-04-15",
        "transfer_to_penalty": False})
    assert case.started_cases() == []
    case.do("approve_correction_order", "supervision_decide1", {
        "correction_order_no": "鲁环责改字〔2026〕第002号", "correction_order_date": "2026-04-02",
        "correction_requirements": "限期整改", "correction_deadline": "2026-04-15", "correction_remedy_notice": True})
    case.do("serve_correction_order", "supervision_deliver1", {
        "correction_service_method": "mail", "correction_recipient": "周某", "correction_served_on": "2026-04-07",
        "correction_service_receipt": [2]})
    case.do("publish_results", "legal_review1", PUBLISH)
    case.do("reinspect", "supervision_investigate2", {
        "reinspected_on": "2026-04-30", "reinspectors": ["supervision_investigate1", "supervision_investigate2"],
        "reinspect_certificates_shown": True, "rectified": "not_rectified", "reinspection_findings": "装置仍停运",
        "reinspection_record": [3]})
    close_and_archive(case, "not_rectified")
    [(message, penalty)] = case.started_cases()
    facts = Case(db, user, penalty).data()["violation_facts"]
    assert facts.startswith(VIOLATION["violation_facts"]) and "逾期仍未改正" in facts


def test_a_violation_transferred_without_correction_order(db, deployed, user):
    case = Case.start(db, user, "inspection", "supervision_file1", {**COMPLAINT_START, "inspection_source": "other"})
    case.do("register_inspection_task", "supervision_file1", {**COMPLAINT_TARGET, "party_type": "citizen",
                                                              "credit_code": None, "id_number": "410423199001011234"})
    case.do("onsite_inspection", "supervision_investigate1", onsite(case, "violation"))
    case.do("propose_violation_handling", "supervision_investigate1", {
        **VIOLATION, "order_correction": False, "transfer_to_penalty": True})
    [(_, penalty)] = case.started_cases()
    assert Case(db, user, penalty).data()["id_number"] == "410423199001011234"
    case.do("publish_results", "legal_review1", PUBLISH)
    close_and_archive(case, "transferred")


def test_publication_deadline_is_20_working_days_and_reminds_legal_staff_and_the_deputy(db, deployed, user):
    case = Case.start(db, user, "inspection", "supervision_file1", COMPLAINT_START)
    case.do("register_inspection_task", "supervision_file1", COMPLAINT_TARGET)
    case.do("onsite_inspection", "supervision_investigate1", onsite(case, "compliant"))
    task = case.task("publish_results")
    due = calendar.add_working_days(date(2026, 4, 1), 20)
    assert task.due_at is not None and task.due_at.date() >= due
    # 2026-04-01 + 20 working days is long past: the reminder fires, the task stays
    assert case.ended(reminders=True) == ["publish_results_overdue_end"]
    notes = case.notifications()
    assert {r for r, _ in notes} == {"legal.review", "leadership.deputy"}
    assert all(COMPLAINT_TARGET["party_name"] in text for _, text in notes)
