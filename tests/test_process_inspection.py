"""bpmn/inspection.bpmn (行政检查): 双随机 draw with recusal or a complaint-driven inspection → 现场检查
→ compliant (公示, 办结) or violation → 移送立案 (starts a penalty case with the facts) and/or 责令改正
→ 公示 within 20 working days → 复查 (not corrected → another penalty case)."""
from __future__ import annotations

from datetime import date

from tests.casework import Case
from workdays import calendar

DIRECTORY = "\n".join([
    "鲁山县甲化工有限公司|91410423MA0000001A|鲁山县产业集聚区",
    "鲁山县乙铸造有限公司|91410423MA0000002B|鲁山县张良镇",
    "鲁山县丙建材有限公司|91410423MA0000003C|鲁山县磙子营乡",
])
POOL = "\n".join(["李一 豫环执41042300101", "王二 豫环执41042300102", "张三 豫环执41042300103",
                  "刘四 豫环执41042300104", "陈五 豫环执41042300105"])
RANDOM_START = {"inspection_source": "random", "inspection_matter": "排污单位污染防治设施运行情况检查",
                "target_category": "general", "target_directory": DIRECTORY, "inspector_pool": POOL,
                "inspector_draw_count": 2}
COMPLAINT_START = {"inspection_source": "complaint", "inspection_matter": "群众举报夜间异味",
                   "complaint_no": "12369-2026-0456", "complaint_content": "夜间排放刺激性气体"}
COMPLAINT_TARGET = {"party_name": "鲁山县丁塑料制品厂", "party_type": "organization",
                    "credit_code": "92410423MA0000004D", "id_number": None, "legal_rep": "周某",
                    "party_address": "鲁山县辛集乡", "inspectors": "李一 豫环执41042300101、王二 豫环执41042300102",
                    "inspector_count": 2, "inspection_reason": "12369举报核查"}


def onsite(case, result, **extra):
    data = case.data()
    return {"inspected_on": "2026-04-01", "inspection_start_time": "09:30", "inspection_end_time": "11:00",
            "inspectors": data["inspectors"], "inspector_count": data["inspector_count"],
            "certificates_shown": True, "recording_notice_given": True, "accompanying_person": "厂长",
            "inspection_content": "污染防治设施运行、排放口、台账", "inspection_record": "见笔录",
            "party_signed": "signed", "record_file": [1], "inspection_result": result, **extra}


PUBLISH = {"publication_text": "经现场检查，未发现环境违法行为。"}
VIOLATION = {"violation_facts": "未正常运行活性炭吸附装置，VOCs未经处理直接排放",
             "legal_basis": "《大气污染防治法》第20条第2款、第99条第3项"}


def test_random_draw_compliant_site_is_published_and_closed(db, deployed, user):
    case = Case.start(db, user, "inspection", "supervision_file1", RANDOM_START)
    data = case.data()
    assert data["party_name"] in DIRECTORY and data["credit_code"].startswith("91410423")
    assert data["inspector_count"] == 2 and len(set(data["drawn_inspectors"])) == 2
    assert all(p in POOL for p in data["drawn_inspectors"]) and "抽中" in data["draw_record"]
    case.do("confirm_draw", "supervision_file1", {"recusal_needed": False}, group="supervision.file")
    case.do("onsite_inspection", "supervision_investigate1", onsite(case, "compliant"), group="supervision.investigate")
    task = case.task("publish_results")
    assert task.candidate_groups == "legal.review"
    assert case.data().get("inspected_on") == date(2026, 4, 1)
    case.do("publish_results", "legal_review1", PUBLISH, group="legal.review")
    assert case.status == "completed" and case.ended() == ["inspection_closed"]
    assert case.started_cases() == []


def test_a_recused_inspector_is_replaced_by_a_new_draw(db, deployed, user):
    case = Case.start(db, user, "inspection", "supervision_file1", RANDOM_START)
    first = case.data()["drawn_inspectors"]
    recused_name = first[0].split()[0]
    case.do("confirm_draw", "supervision_file1", {"recusal_needed": True, "recused_inspectors": recused_name,
                                                   "recusal_reason": "其近亲属在该企业任职"})
    assert case.ready_ids() == ["confirm_draw"]
    data = case.data()
    assert data["draw_rounds"] == 2 and data["inspector_count"] == 2
    assert all(recused_name not in p for p in data["drawn_inspectors"])
    assert first[1] in data["drawn_inspectors"]  # the other inspector stays
    assert "回避" in data["draw_record"] and recused_name in data["draw_record"]
    case.do("confirm_draw", "supervision_file1", {"recusal_needed": False})
    assert case.ready_ids() == ["onsite_inspection"]


def test_a_complaint_finds_a_violation_that_starts_a_penalty_case_and_a_correction_order(db, deployed, user):
    case = Case.start(db, user, "inspection", "supervision_file1", COMPLAINT_START)
    case.do("register_inspection_task", "supervision_file1", COMPLAINT_TARGET, group="supervision.file")
    case.do("onsite_inspection", "supervision_investigate2", onsite(case, "violation"))
    case.do("propose_violation_handling", "supervision_investigate1", {
        **VIOLATION, "order_correction": True, "correction_requirements": "立即恢复活性炭吸附装置正常运行",
        "correction_deadline": "2026-04-15", "transfer_to_penalty": True}, group="supervision.investigate")

    # the message violation_found started a penalty case with the inspection's facts, linked both ways
    [(message, penalty)] = case.started_cases()
    assert message == "violation_found" and penalty.process_key == "penalty"
    assert penalty.title == COMPLAINT_TARGET["party_name"]
    penalty_case = Case(db, user, penalty)
    pdata = penalty_case.data()
    assert pdata["violation"]["inspection_business_key"] == case.business_key
    assert pdata["violation"]["legal_basis"] == VIOLATION["legal_basis"]
    assert pdata["violation_facts"] == VIOLATION["violation_facts"]
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
        "reinspected_on": "2026-04-20", "reinspectors": "李一、王二", "reinspector_count": 2,
        "reinspect_certificates_shown": True, "rectified": "rectified", "reinspection_findings": "已恢复运行",
        "reinspection_record": [3]})
    assert case.ended() == ["inspection_closed_rectified"] and case.status == "completed"


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
        "reinspected_on": "2026-04-30", "reinspectors": "李一、王二", "reinspector_count": 2,
        "reinspect_certificates_shown": True, "rectified": "not_rectified", "reinspection_findings": "装置仍停运",
        "reinspection_record": [3]})
    assert case.ended() == ["continued_violation_end"]
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
    assert case.ended() == ["inspection_closed"]


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
