"""bpmn/permit.bpmn (行政许可): every path, through the engine, with the bureau's posts.

Each permit type goes to the department that owns it (开发股/生态股/总量与土壤股/危废与辐射股);
受理 (补正 once, in full; a late 补正 notice means accepted on receipt) → the head approves 受理 or
不予受理 → 审查 (现场核查, 专家评审 pausing the clock, 公示, 听证 on request or as the law requires) →
决定 (extension by a leader) → the head approves the decision → 送达 → 公开 (granted or denied) → 事后监管
(granted only).
"""
from __future__ import annotations

from datetime import date

from engine.execution import jobs
from tests.casework import Case
from workdays import calendar

APPLICANT = {
    "project_name": "鲁山县某建材有限公司年产10万吨石灰项目",
    "party_name": "鲁山县某建材有限公司", "party_type": "organization",
    "credit_code": "91410423MA00000000", "id_number": None, "legal_rep": "张某",
    "party_address": "鲁山县城关镇", "contact_phone": "0375-5000000", "application_channel": "window",
    "received_on": "2026-03-02",
    "ecological_project": False, "discharge_management": "na",
}
ACCEPT = {"acceptance_result": "accept", "check_opinion": "材料齐全，符合法定形式", "accepted_on": "2026-03-02",
          "application_materials": [1],
          "acceptance_notice_no": "鲁环许受〔2026〕1号"}
REVIEW_PLAIN = {"review_opinion": "符合审批条件", "site_check_needed": False, "expert_review_needed": False}
NO_HEARING_RIGHT = {"publicity_required": False, "hearing_right_notified_on": "2026-03-10",
                    "notified_parties": "申请人", "statutory_hearing": False}
NO_HEARING = {"hearing_requested": False}
DELIVER = {"decision_service_method": "direct", "decision_recipient": "张某", "decision_served_on": "2026-05-20",
           "decision_service_receipt": [2], "licence_issued": True}
PUBLISH = {"publication_text": "同意该项目按照环境影响报告书所列性质、规模、地点和环境保护措施进行建设。"}
SUPERVISE = {"supervision_plan": "纳入年度双随机检查名录，检查三同时落实情况"}


LEADERS = "leadership.chief,leadership.deputy"
APPROVE_ACCEPTANCE = {"acceptance_approved": True, "acceptance_approval_opinion": "同意"}
APPROVE_DECISION = {"decision_approved": True, "decision_approval_opinion": "同意"}


def decide(decision, **extra):
    return {"decision": decision, "decision_reason": "依法审查", "decision_no": "鲁环审〔2026〕1号",
            "decision_date": "2026-05-18", **extra}


def archived(case, outcome: str, clerk: str) -> None:
    """Every application ends with 结案归档 at the section's 受理岗, whatever its outcome."""
    assert case.status == "running" and case.ready_ids() == ["permit_archive"]
    assert case.data()["permit_outcome"] == outcome
    case.do("permit_archive", clerk, {"archive_no": "鲁环许档〔2026〕1号", "archived_on": "2026-06-01",
                                      "archive_volumes": "申请材料、审查记录、决定书及送达回证"}, group=clerk[:-1].replace("_", "."))
    assert case.status == "completed" and case.ended() == ["permit_archived"]


def start(db, user, permit_type, username, **overrides):
    return Case.start(db, user, "permit", username, {**APPLICANT, "permit_type": permit_type, **overrides})


def test_eia_report_with_site_check_expert_review_and_hearing_is_granted(db, deployed, user):
    case = start(db, user, "eia_report", "dev_accept1")
    assert case.data()["permit_department"] == "dev"
    case.do("check_application", "dev_accept1", ACCEPT, group="dev.accept")
    case.do("approve_acceptance", "leadership_chief", APPROVE_ACCEPTANCE, group=LEADERS)
    assert case.data()["decision_due"] == calendar.add_days(date(2026, 3, 2), 60)  # 环评法第22条，自收到之日起60日

    case.do("substantive_review", "dev_review1", {**REVIEW_PLAIN, "site_check_needed": True,
                                                  "expert_review_needed": True}, group="dev.review")
    case.do("site_verification", "dev_review1", {
        "site_check_on": "2026-03-05", "site_inspectors": ["dev_review1", "supervision_investigate1"],
        "site_certificates_shown": True, "site_findings": "与报告书一致",
        "site_record": [3]}, group="dev.review")
    case.do("expert_review", "dev_review1", {
        "expert_review_kind": "expert", "pause_notice_on": "2026-03-06", "expert_review_start": "2026-03-09",
        "expert_review_end": "2026-03-20", "expert_opinion": "修改后通过"}, group="dev.review")
    case.do("notify_hearing_right", "dev_review1", {
        "publicity_required": True, "publicity_start": "2026-03-23", "publicity_end": "2026-03-27",
        "hearing_right_notified_on": "2026-03-23", "notified_parties": "申请人、周边村民",
        "statutory_hearing": False}, group="dev.review")
    case.do("record_hearing_request", "dev_review1", {
        "hearing_requested": True, "hearing_request_date": "2026-03-27", "hearing_requester": "周边村民代表"})
    # notice on 04-01 for a hearing on 04-03: less than 7 working days (清明 04-04..06) → 重新通知
    notice = {"hearing_place": "局三楼会议室", "hearing_notice_service_method": "direct", "hearing_host": ["legal_review2"], "host_not_reviewer": True,
              "hearing_notice_no": "鲁环听通〔2026〕1号", "hearing_notice_on": "2026-04-01"}
    case.do("schedule_hearing", "dev_review1", {**notice, "hearing_date": "2026-04-03"}, group="dev.review")
    assert case.ready_ids() == ["schedule_hearing"]
    case.do("schedule_hearing", "dev_review1", {**notice, "hearing_date": "2026-04-15"})
    case.do("hold_hearing", "dev_review1", {
        "hearing_held_on": "2026-04-15", "hearing_summary": "村民关注粉尘，建设单位承诺加装除尘设施",
        "transcript_signed": True, "hearing_transcript": [4]}, group="dev.review")

    data = case.data()
    # 专家评审 03-09..03-20 (12 days) and 听证 03-27..04-15 (20 days) are not counted (行政许可法第45条)
    assert data["paused_calendar_days"] == 32 and len(data["clock_pauses"]) == 2
    assert data["decision_due"] == calendar.add_days(date(2026, 3, 2), 60 + 32)
    assert data["decide_period_unit"] == "days"
    decide_task = case.task("decide_permit")
    assert decide_task.due_at is not None

    case.do("decide_permit", "dev_decide1", decide("grant", permit_content="同意建设"), group="dev.decide")
    case.do("approve_decision", "leadership_deputy", APPROVE_DECISION, group=LEADERS)
    case.do("deliver_decision", "dev_deliver1", DELIVER, group="dev.deliver")
    case.do("publish_decision", "legal_review1", {**PUBLISH, "filed_with_superior": True}, group="legal.review")
    case.do("post_permit_supervision", "dev_monitor1", SUPERVISE, group="dev.monitor")
    archived(case, "准予许可", "dev_accept1")


def test_ecological_eia_table_goes_to_the_ecology_section_and_cannot_be_extended(db, deployed, user):
    case = start(db, user, "eia_table", "eco_accept1", ecological_project=True)
    case.do("check_application", "eco_accept1", ACCEPT, group="eco.accept")
    case.do("approve_acceptance", "leadership_chief", APPROVE_ACCEPTANCE, group=LEADERS)
    assert case.data()["decision_due"] == calendar.add_days(date(2026, 3, 2), 30)  # 报告表30日
    case.do("substantive_review", "eco_review1", REVIEW_PLAIN, group="eco.review")
    case.do("notify_hearing_right", "eco_review1", NO_HEARING_RIGHT)
    case.do("record_hearing_request", "eco_review1", NO_HEARING)
    # 环评法 sets its own period: the 行政许可法 extension does not apply → back to 决定
    case.do("decide_permit", "eco_decide1", decide("extend", extension_reason="需补充论证"), group="eco.decide")
    assert case.ready_ids() == ["decide_permit"]
    case.do("decide_permit", "eco_decide1", decide("grant"))
    case.do("approve_decision", "leadership_deputy", APPROVE_DECISION, group=LEADERS)
    case.do("deliver_decision", "eco_deliver1", DELIVER, group="eco.deliver")
    case.do("publish_decision", "legal_review1", PUBLISH)
    case.do("post_permit_supervision", "eco_monitor1", SUPERVISE, group="eco.monitor")
    archived(case, "准予许可", "eco_accept1")


def test_incomplete_discharge_permit_is_supplemented_then_denied(db, deployed, user):
    case = start(db, user, "discharge_permit", "total_accept1", discharge_management="simplified")
    assert case.task("check_application").candidate_groups == "total.accept"
    case.do("check_application", "total_accept1", {
        "acceptance_result": "supplement", "check_opinion": "缺少自行监测方案",
        "correction_items": "1. 自行监测方案；2. 排污口规范化设置说明"}, group="total.accept")
    case.do("issue_correction_notice", "total_accept1", {
        "correction_notice_no": "鲁环许补〔2026〕1号", "correction_notice_on": "2026-03-03",
        "correction_items": "1. 自行监测方案；2. 排污口规范化设置说明"}, group="total.accept")
    assert case.data()["correction_items"].startswith("1. 自行监测方案")  # the one-time notice keeps the list
    case.do("receive_supplement", "total_accept1", {
        "supplement_result": "supplemented", "supplement_received_on": "2026-03-10"}, group="total.accept")
    assert case.data()["received_on"] == date(2026, 3, 10) and case.data()["correction_rounds"] == 1
    case.do("check_application", "total_accept1", {**ACCEPT, "accepted_on": "2026-03-10"})
    case.do("approve_acceptance", "leadership_chief", APPROVE_ACCEPTANCE, group=LEADERS)
    # 排污许可管理条例第12条：简化管理20日
    assert case.data()["decision_due"] == calendar.add_days(date(2026, 3, 10), 20)
    case.do("substantive_review", "total_review1", REVIEW_PLAIN, group="total.review")
    case.do("notify_hearing_right", "total_review1", NO_HEARING_RIGHT)
    case.do("record_hearing_request", "total_review1", NO_HEARING)
    case.do("decide_permit", "total_decide1", decide("deny", decision_reason="排放浓度不能稳定达标"),
            group="total.decide")
    case.do("approve_decision", "leadership_deputy", APPROVE_DECISION, group=LEADERS)
    case.do("deliver_decision", "total_deliver1", DELIVER, group="total.deliver")
    # 国办发〔2018〕118号: a denial is published like a grant, then the case ends without 事后监管
    assert case.ready_ids() == ["publish_decision"]
    case.do("publish_decision", "legal_review1", {"publication_text": "排放浓度不能稳定达标，不予许可。"},
            group="legal.review")
    archived(case, "不予许可", "total_accept1")


def test_key_discharge_permit_checked_on_site_gets_45_days(db, deployed, user):
    case = start(db, user, "discharge_permit", "total_accept1", discharge_management="key")
    case.do("check_application", "total_accept1", ACCEPT)
    case.do("approve_acceptance", "leadership_chief", APPROVE_ACCEPTANCE, group=LEADERS)
    assert case.data()["decision_due"] == calendar.add_days(date(2026, 3, 2), 30)  # 重点管理30日
    case.do("substantive_review", "total_review1", {**REVIEW_PLAIN, "site_check_needed": True})
    case.do("site_verification", "total_review1", {
        "site_check_on": "2026-03-05", "site_inspectors": ["dev_review1", "supervision_investigate1"],
        "site_certificates_shown": True, "site_findings": "排污口规范", "site_record": [3]})
    case.do("notify_hearing_right", "total_review1", NO_HEARING_RIGHT)
    case.do("record_hearing_request", "total_review1", NO_HEARING)
    assert case.data()["decision_due"] == calendar.add_days(date(2026, 3, 2), 45)  # 需现场核查45日


def test_supplement_withdrawn_ends_the_application(db, deployed, user):
    case = start(db, user, "hazwaste_collection", "hwr_accept1")
    case.do("check_application", "hwr_accept1", {
        "acceptance_result": "supplement", "check_opinion": "缺少贮存设施证明", "correction_items": "贮存设施证明"},
        group="hwr.accept")
    case.do("issue_correction_notice", "hwr_accept1", {
        "correction_notice_no": "鲁环许补〔2026〕2号", "correction_notice_on": "2026-03-03",
        "correction_items": "贮存设施证明"})
    case.do("receive_supplement", "hwr_accept1", {"supplement_result": "withdrawn", "supplement_note": "申请人书面撤回"})
    archived(case, "申请终止（撤回或逾期未补正）", "hwr_accept1")


def test_facility_removal_outside_competence_is_rejected_with_reasons(db, deployed, user):
    case = start(db, user, "facility_removal", "hwr_accept1")
    case.do("check_application", "hwr_accept1", {
        "acceptance_result": "reject", "check_opinion": "不属于本机关职权",
        "rejection_reason": "生活垃圾处置设施的核准不属于本局职权", "competent_authority": "县城市管理局"},
        group="hwr.accept")
    case.do("approve_acceptance", "leadership_chief", APPROVE_ACCEPTANCE, group=LEADERS)
    case.do("issue_rejection_decision", "hwr_accept1", {
        "rejection_decision_no": "鲁环许不受〔2026〕1号", "remedy_notice": True,
        "rejection_reason": "生活垃圾处置设施的核准不属于本局职权",
        "rejection_service_method": "direct", "rejection_recipient": "张某",
        "rejection_served_on": "2026-03-03", "rejection_service_receipt": [5]}, group="hwr.accept")
    assert case.data()["rejection_reason"].startswith("生活垃圾")
    archived(case, "不予受理", "hwr_accept1")


def test_hazardous_waste_decision_extended_once_by_a_leader(db, deployed, user):
    case = start(db, user, "hazwaste_collection", "hwr_accept1")
    case.do("check_application", "hwr_accept1", ACCEPT)
    case.do("approve_acceptance", "leadership_chief", APPROVE_ACCEPTANCE, group=LEADERS)
    due = calendar.add_working_days(date(2026, 3, 2), 20)  # 危险废物经营许可证管理办法第9条：20个工作日
    assert case.data()["decision_due"] == due
    case.do("substantive_review", "hwr_review1", REVIEW_PLAIN, group="hwr.review")
    case.do("notify_hearing_right", "hwr_review1", NO_HEARING_RIGHT)
    case.do("record_hearing_request", "hwr_review1", NO_HEARING)
    case.do("decide_permit", "hwr_decide1", decide("extend", extension_reason="需征求卫生部门意见"), group="hwr.decide")
    case.do("approve_extension", "leadership_deputy", {
        "extension_approved": True, "extension_opinion": "同意延长十日", "extension_notice_on": "2026-03-25"},
        group=LEADERS)
    assert case.data()["decision_due"] == calendar.add_working_days(due, 10)
    # a second extension is not allowed (行政许可法第42条：可以延长十日) → 重新决定
    case.do("decide_permit", "hwr_decide1", decide("extend", extension_reason="仍需时间"))
    assert case.ready_ids() == ["decide_permit"]
    case.do("decide_permit", "hwr_decide1", decide("grant", licence_no="豫危废收鲁〔2026〕1号"))
    case.do("approve_decision", "leadership_deputy", APPROVE_DECISION, group=LEADERS)
    case.do("deliver_decision", "hwr_deliver1", DELIVER, group="hwr.deliver")
    case.do("publish_decision", "legal_review1", PUBLISH, group="legal.review")
    case.do("post_permit_supervision", "hwr_monitor1", SUPERVISE, group="hwr.monitor")
    archived(case, "准予许可", "hwr_accept1")


def test_refused_extension_keeps_the_deadline(db, deployed, user):
    case = start(db, user, "facility_removal", "hwr_accept1")
    case.do("check_application", "hwr_accept1", ACCEPT)
    case.do("approve_acceptance", "leadership_chief", APPROVE_ACCEPTANCE, group=LEADERS)
    case.do("substantive_review", "hwr_review1", REVIEW_PLAIN)
    case.do("notify_hearing_right", "hwr_review1", NO_HEARING_RIGHT)
    case.do("record_hearing_request", "hwr_review1", NO_HEARING)
    due = case.data()["decision_due"]
    case.do("decide_permit", "hwr_decide1", decide("extend", extension_reason="材料复杂"))
    case.do("approve_extension", "leadership_chief", {"extension_approved": False, "extension_opinion": "不同意"})
    assert case.data()["decision_due"] == due and case.ready_ids() == ["decide_permit"]


def test_an_overdue_acceptance_check_notifies_the_deputy_and_keeps_the_task(db, deployed, user):
    case = start(db, user, "discharge_permit", "total_accept1", received_on="2026-01-05",
                 discharge_management="simplified")
    assert case.task("check_application").due_at is not None
    jobs.run_once(db)  # 排污许可管理条例第9条：3日内告知补正 — long past (fires at once or by the worker)
    assert case.ready_ids() == ["check_application"]
    assert case.ended(reminders=True) == ["check_application_overdue_end"]
    [(recipient, text)] = case.notifications()
    assert recipient == "leadership.deputy" and "已超期" in text and APPLICANT["project_name"] in text


SUPPLEMENT = {"acceptance_result": "supplement", "check_opinion": "缺少贮存设施证明", "correction_items": "贮存设施证明"}


def test_correction_is_asked_once_in_full(db, deployed, user):
    case = start(db, user, "hazwaste_collection", "hwr_accept1")
    case.do("check_application", "hwr_accept1", SUPPLEMENT)
    case.do("issue_correction_notice", "hwr_accept1", {"correction_notice_no": "鲁环许补〔2026〕3号",
            "correction_notice_on": "2026-03-03", "correction_items": "贮存设施证明"})
    case.do("receive_supplement", "hwr_accept1", {"supplement_result": "supplemented", "supplement_received_on": "2026-03-09"})
    # 行政许可法第32条第1款第4项: a second 补正 is not allowed — accept or refuse
    case.do("check_application", "hwr_accept1", {**SUPPLEMENT, "correction_items": "应急预案"})
    assert case.ready_ids() == ["check_application"]
    assert "不得再次要求补正" in case.data()["return_reason"]
    case.do("check_application", "hwr_accept1", {**ACCEPT, "accepted_on": "2026-03-09"})
    # 受理 needs the head's approval (权责清单); sent back once, then approved
    case.do("approve_acceptance", "leadership_chief", {"acceptance_approved": False,
            "acceptance_approval_opinion": "请核实贮存设施证明"}, group=LEADERS)
    assert case.ready_ids() == ["check_application"]
    case.do("check_application", "hwr_accept1", {**ACCEPT, "accepted_on": "2026-03-09"})
    case.do("approve_acceptance", "leadership_chief", APPROVE_ACCEPTANCE)
    assert case.ready_ids() == ["substantive_review"]
    assert case.data()["decision_due"] == calendar.add_working_days(date(2026, 3, 9), 20)


def test_a_late_correction_notice_means_accepted_on_the_day_of_receipt(db, deployed, user):
    case = start(db, user, "hazwaste_collection", "hwr_accept1")            # received 2026-03-02
    case.do("check_application", "hwr_accept1", SUPPLEMENT)
    # 5 working days end on 03-09; told on 03-10 — too late: accepted as of 03-02
    case.do("issue_correction_notice", "hwr_accept1", {"correction_notice_no": "鲁环许补〔2026〕4号",
            "correction_notice_on": "2026-03-10", "correction_items": "贮存设施证明"})
    data = case.data()
    assert data["correction_notice_late"] is True and data["acceptance_deemed"] is True
    assert data["accepted_on"] == date(2026, 3, 2)
    assert data["decision_due"] == calendar.add_working_days(date(2026, 3, 2), 20)
    assert case.ready_ids() == ["substantive_review"]


def test_a_hearing_the_law_requires_is_held_without_a_request_and_the_head_approves_the_decision(db, deployed, user):
    case = start(db, user, "hazwaste_collection", "hwr_accept1")
    case.do("check_application", "hwr_accept1", ACCEPT)
    case.do("approve_acceptance", "leadership_deputy", APPROVE_ACCEPTANCE)
    case.do("substantive_review", "hwr_review1", REVIEW_PLAIN)
    case.do("notify_hearing_right", "hwr_review1", {**NO_HEARING_RIGHT, "statutory_hearing": True})
    case.do("record_hearing_request", "hwr_review1", NO_HEARING)
    assert case.ready_ids() == ["schedule_hearing"]                      # 行政许可法第46条
    case.do("schedule_hearing", "hwr_review1", {"hearing_place": "局三楼会议室", "hearing_notice_service_method": "direct", "hearing_host": ["legal_review2"],
            "host_not_reviewer": True, "hearing_notice_no": "鲁环听通〔2026〕2号", "hearing_notice_on": "2026-03-12",
            "hearing_date": "2026-03-25"})
    case.do("hold_hearing", "hwr_review1", {"hearing_held_on": "2026-03-25", "hearing_summary": "公众无异议",
            "transcript_signed": True, "hearing_transcript": [4]})
    case.do("decide_permit", "hwr_decide1", decide("deny", decision_reason="贮存能力不足"))
    case.do("approve_decision", "leadership_chief", {"decision_approved": False,
            "decision_approval_opinion": "理由表述不充分"}, group=LEADERS)
    assert case.ready_ids() == ["decide_permit"]
    case.do("decide_permit", "hwr_decide1", decide("deny", decision_reason="贮存设施容量不足，不符合办法第5条"))
    case.do("approve_decision", "leadership_chief", APPROVE_DECISION)
    assert case.ready_ids() == ["deliver_decision"]
