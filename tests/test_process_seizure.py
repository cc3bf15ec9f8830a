"""bpmn/seizure.bpmn (process coercion_seizure, 行政强制措施·查封扣押, 行政强制法第17—28条, 环境保护主管部门实施查封、扣押办法):
申请 → 法制审核 (every coercive decision) → 负责人批准 / 集体讨论 → 实施 (two officers, the party or a
witness, 现场笔录, 决定书 and 清单, recorded) → 保管与处理 (one extension of at most 30 days, testing
time not counted and told in writing, 解除 when due) → 解除 / 销毁 / 没收移交 → 结案 → 归档. In an
emergency: 实施 first, the head's approval within 24 hours, then 法制审核; refused → 解除 at once.
Started by hand, or by the message 申请查封扣押 from an inspection or a penalty case (cases linked).

The timer clock (the ``clock`` fixture) is set to 2026-06-01, the day of the measure."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.casework import Case
from tests.test_process_penalty import fire_after, move_to, refused

DAY = date(2026, 6, 1)
LEADERS = "leadership.chief,leadership.deputy"
PARTY = {"party_name": "鲁山县某电镀有限公司", "party_type": "organization", "credit_code": "91410423MA33333333",
         "id_number": "", "party_address": "鲁山县产业集聚区", "legal_rep": "赵某", "source_case_no": ""}
REQUEST = {"seizure_measure": "seal", "violation_facts": "通过暗管排放含铬废水", "legal_basis": "《环境保护法》第25条；办法第4条第1项",
           "seizure_items": "电镀生产线一条、废水排放泵二台", "necessity_ground": "mandatory", "emergency": False,
           "request_evidence": []}
LEGAL_OK = {"materials_complete": True, "check_subject": True, "check_facts": True, "check_basis": True,
            "check_discretion": True, "check_procedure": True, "legal_review_opinion": "同意", "legal_review_outcome": "approved"}
EXECUTE = {"executed_on": DAY.isoformat(), "executing_officers": ["supervision_investigate1", "supervision_execute1"],
           "certificates_shown": True, "party_presence": "present", "witness_name": "",
           "rights_told": True, "seizure_days": 30, "seized_list": "电镀生产线一条、废水排放泵二台，封条4张",
           "onsite_record": []}
ARCHIVE = {"archive_no": "鲁环强档〔2026〕2号", "archived_on": "2026-08-01", "archive_volumes": "决定书、现场笔录、清单、解除决定书、音像资料"}
ENDS = {"EndEvent_reviewed", "EndEvent_not_required"}


@pytest.fixture(autouse=True)
def timer_clock(clock):
    move_to(clock, DAY)
    return clock


def start(db, user, **request):
    case = Case.start(db, user, "coercion_seizure", "supervision_investigate1", PARTY)
    case.do("seizure_request", "supervision_investigate1", {**REQUEST, **request}, group="supervision.investigate")
    return case


def manage(case, action, **values):
    case.do("manage_seizure", "supervision_execute1", {"custody_inspection": "封条完好", "custody_action": action,
                                                       "release_reason": None, "extension_reason": "", **values},
            group="supervision.execute")


def release(case, reason, on=DAY + timedelta(days=20)):
    case.do("release_seizure", "supervision_execute2", {"release_reason": reason, "released_on": on.isoformat(),
            "release_record": "当场启封，当事人签字确认"}, group="supervision.execute")
    serve = case.task("serve_release")
    assert serve.candidate_groups == "supervision.deliver" and serve.due_at is not None   # 3 working days (办法第21条)
    case.do("serve_release", "supervision_deliver1", {"release_service_method": "direct", "release_recipient": "赵某",
            "release_served_on": on.isoformat(), "release_receipt": []}, group="supervision.deliver")


def close_and_archive(case, reason):
    case.do("seizure_close_case", "supervision_execute1", {"closure_reason": reason, "closure_note": "已办结"},
            group="supervision.execute")
    case.do("seizure_approve_closure", "leadership_chief", {"closure_opinion": "同意结案"}, group=LEADERS)
    case.do("seizure_archive", "supervision_records1", ARCHIVE, group="supervision.records")
    assert case.status == "completed"
    assert [e for e in case.ended() if e not in ENDS] == ["seizure_archived"]


def test_seizure_with_extension_testing_pause_and_release(db, deployed, user):
    case = start(db, user)
    # every 查封扣押 decision goes through 法制审核 first (目录清单第2项), then the head approves in writing
    assert case.task("UserTask_legal_review").candidate_groups == "legal.review"
    case.do("UserTask_legal_review", "legal_review1", LEGAL_OK, group="legal.review")
    data = case.data()
    assert data["enforcement_category"] == "coercion" and data["legal_review_required"] is True
    case.do("approve_seizure", "leadership_chief", {"seizure_approval": "approve", "approval_opinion": "同意"}, group=LEADERS)
    case.do("execute_seizure", "supervision_execute1", EXECUTE, group="supervision.execute")
    data = case.data()
    assert data["seizure_decision_no"].startswith("鲁环查扣决字")
    assert data["seizure_until"] == DAY + timedelta(days=30)              # 行政强制法第25条: 30 days
    assert case.task("manage_seizure").due_at is not None

    # one extension, approved by the head, of at most 30 days, told to the party in writing
    manage(case, "extend", extension_reason="需委托检测电镀废水")
    case.do("approve_extension", "leadership_deputy", {"extension_approved": True, "extension_days": 20,
            "extension_opinion": "同意延长20日"}, group=LEADERS)
    case.do("serve_extension_notice", "supervision_deliver1", {"extension_notice_service_method": "direct",
            "extension_notice_recipient": "赵某", "extension_notice_served_on": "2026-06-20",
            "extension_notice_receipt": []}, group="supervision.deliver")
    assert case.data()["seizure_until"] == DAY + timedelta(days=50)
    # a second extension is not allowed
    manage(case, "extend", extension_reason="再延长")
    assert case.ready_ids() == ["manage_seizure"]
    assert "不得再次延长" in case.data()["custody_note"]

    # testing time is not counted and is told in writing (第25条第3款); shown on the case
    manage(case, "testing")
    assert "不能早于开始日期（2026-06-10）" in refused(case, "register_testing", "supervision_execute1", {
        "testing_kind": "检测", "testing_from": "2026-06-10", "testing_to": "2026-06-09",
        "testing_notice_service_method": "direct", "testing_notice_recipient": "赵某",
        "testing_notice_served_on": "2026-06-10", "testing_notice_receipt": []})["testing_to"]  # end before start
    case.do("register_testing", "supervision_execute1", {"testing_kind": "检测", "testing_from": "2026-06-10",
            "testing_to": "2026-06-19", "testing_notice_service_method": "direct", "testing_notice_recipient": "赵某",
            "testing_notice_served_on": "2026-06-10", "testing_notice_receipt": []})
    data = case.data()
    assert data["testing_days"] == 10 and "2026-06-10至2026-06-19（10日）" in data["testing_periods"]
    assert data["seizure_until"] == DAY + timedelta(days=60)

    manage(case, "release", release_reason="no_violation")
    release(case, "no_violation")
    assert case.data()["release_decision_no"].startswith("鲁环解查扣字")
    close_and_archive(case, "released")


def test_the_measure_is_released_when_its_period_ends(db, deployed, user, timer_clock):
    case = start(db, user)
    case.do("UserTask_legal_review", "legal_review1", LEGAL_OK)
    case.do("approve_seizure", "leadership_chief", {"seizure_approval": "approve", "approval_opinion": "同意"})
    case.do("execute_seizure", "supervision_execute1", {**EXECUTE, "seizure_days": 15})
    fire_after(db, timer_clock, DAY + timedelta(days=14), case)
    assert case.ready_ids() == ["manage_seizure"]
    fire_after(db, timer_clock, DAY + timedelta(days=15), case)            # the period is over: 解除 (第28条)
    assert case.ready_ids() == ["release_seizure"]
    assert case.data()["release_reason"] == "expired"
    assert any("应当立即解除" in text for _, text in case.notifications())
    release(case, "expired", DAY + timedelta(days=16))
    close_and_archive(case, "released")


def test_an_emergency_measure_not_approved_within_24_hours_is_released(db, deployed, user):
    case = start(db, user, emergency=True)
    assert case.ready_ids() == ["execute_seizure"]                         # acted first (第19条)
    case.do("execute_seizure", "supervision_execute1", {**EXECUTE, "party_presence": "witness", "witness_name": "村委会主任"})
    approval = case.task("approve_emergency")
    assert approval.candidate_groups == LEADERS and approval.due_at is not None         # within 24 hours
    case.do("approve_emergency", "leadership_chief", {"emergency_approved": False, "emergency_opinion": "不应采取"})
    assert case.ready_ids() == ["release_seizure"]
    release(case, "not_approved", DAY)
    close_and_archive(case, "released")


def test_an_approved_emergency_measure_is_reviewed_after_and_items_destroyed(db, deployed, user):
    case = start(db, user, emergency=True)
    case.do("execute_seizure", "supervision_execute1", EXECUTE)
    case.do("approve_emergency", "leadership_deputy", {"emergency_approved": True, "emergency_opinion": "补办批准"})
    case.do("UserTask_legal_review", "legal_review1", LEGAL_OK, group="legal.review")
    manage(case, "dispose")
    case.do("decide_disposal", "leadership_chief", {"disposal": "destroy", "disposal_basis": "属于应当销毁的违法物品"},
            group=LEADERS)
    case.do("destroy_items", "supervision_execute1", {"destroyed_on": "2026-06-15", "destruction_record": "销毁暗管"},
            group="supervision.execute")
    close_and_archive(case, "destroyed")


def test_review_sends_the_request_back_and_the_head_refuses(db, deployed, user):
    case = start(db, user)
    case.do("UserTask_legal_review", "legal_review1", {**LEGAL_OK, "legal_review_outcome": "revise",
                                                       "legal_review_opinion": "清单与违法行为无关的财物应剔除"})
    assert case.ready_ids() == ["seizure_request"]
    case.do("seizure_request", "supervision_investigate1", REQUEST)
    case.do("UserTask_legal_review", "legal_review1", LEGAL_OK)
    case.do("approve_seizure", "leadership_chief", {"seizure_approval": "reject", "approval_opinion": "改为责令停产整治"})
    close_and_archive(case, "not_approved")


def test_an_inspection_and_a_penalty_case_start_linked_seizure_cases(db, deployed, user):
    from tests import test_process_inspection as insp
    from tests import test_process_penalty as pen
    inspection = Case.start(db, user, "inspection", "supervision_file1", insp.COMPLAINT_START)
    inspection.do("register_inspection_task", "supervision_file1", insp.COMPLAINT_TARGET)
    inspection.do("onsite_inspection", "supervision_investigate2", insp.onsite(inspection, "violation"))
    inspection.do("propose_violation_handling", "supervision_investigate1", {
        **insp.VIOLATION, "order_correction": False, "transfer_to_penalty": False, "seizure_needed": True})
    [(message, seizure)] = inspection.started_cases()
    assert message == "申请查封扣押" and seizure.process_key == "coercion_seizure"
    seizure_case = Case(db, user, seizure)
    data = seizure_case.data()
    assert data["party_name"] == insp.COMPLAINT_TARGET["party_name"]
    assert data["legal_basis"] == insp.VIOLATION["legal_basis"] and data["source_case_no"] == inspection.business_key
    assert seizure_case.ready_ids() == ["seizure_request"]

    penalty = pen.start_case(db, user, pen.ORGANIZATION)
    penalty.do("UserTask_investigate", "supervision_investigate1", {**pen.INVESTIGATE, "seizure_needed": True})
    [(message, seizure)] = penalty.started_cases()
    assert message == "申请查封扣押" and Case(db, user, seizure).data()["source_case_no"] == penalty.business_key
    assert penalty.ready_ids() == ["UserTask_investigation_report"] and penalty.data()["seizure_needed"] is False
