"""bpmn/coercion_substitute.bpmn (行政强制·代履行): every path through the engine.

代履行: 逾期复查 (the underlying order's number, service and deadline compared) → 催告书 (at least the
bureau's period) → 陈述申辩 → wait until the 催告 period is over (第37条) → 核实 → 法制审核 (always,
legal_review call) → 负责人审批 / 集体讨论 → 选定代履行人 → 代履行决定书 → 送达 → 代履行前催告 (3 working
days, a working day) → 实施 (监督) → 签名 → 费用 → (催告 → wait for 第54条's 10 working days and 第53条's
复议/诉讼 periods → 申请法院强制执行) → 结案 → 归档. 立即代履行: 实施 → 事后通知 → 事后法制审核 → 负责人确认
→ 费用 → 结案 → 归档.

Dates are in 2026, before the real today, so timers are due at once unless a test sets the timer
clock (the ``clock`` fixture).
"""
from __future__ import annotations

from datetime import date

from workdays import calendar
from tests.casework import Case
from tests.test_process_penalty import fire_after, move_to, refused

LEADERS = "leadership.chief,leadership.deputy"
PARTY = {
    "party_name": "鲁山县某造纸有限公司", "party_type": "organization", "credit_code": "91410423MA11111111",
    "id_number": None, "legal_rep": "王某", "party_address": "鲁山县张官营镇",
    "obligation": "清除排入沙河支流的造纸废液并修复渗漏的污水收集池",
    "violation_facts": "通过渗坑排放造纸废液，逾期未按责令限期治理决定采取治理措施",
    "legal_basis": "《水污染防治法》第85条；《行政强制法》第50条、第51条",
    "pollution_location": "张官营镇沙河支流", "original_decision_no": "鲁环责改字〔2026〕第003号",
    "original_decision_served_on": "2026-02-02", "compliance_deadline": "2026-02-27", "source_case_no": None,
}
REINSPECT = {"original_decision_no": "鲁环责改字〔2026〕第003号", "original_decision_served_on": "2026-02-02",
             "compliance_deadline": "2026-02-27", "reinspected_on": "2026-03-02", "reinspectors": ["supervision_investigate1", "supervision_execute1"],
             "reinspect_certificates_shown": True, "reinspection_findings": "废液仍在外排",
             "obligation_status": "not_performed", "harms_environment": True, "reinspection_record": [1]}
DEMAND = {"demand_notice_no": "鲁环催字〔2026〕第001号", "demand_content": "限于2026年3月17日前完成治理，可陈述申辩",
          "performance_deadline": "2026-03-17", "demand_service_method": "direct", "demand_recipient": "王某",
          "demand_served_on": "2026-03-03", "demand_service_receipt": [2]}
DEFENSE = {"defense_submitted": True, "defense_summary": "资金困难", "defense_review": "理由不成立",
           "defense_outcome": "proceed"}
CHECKED = {"demand_checked_on": "2026-03-18", "demand_check_officers": ["supervision_investigate1", "supervision_execute1"],
           "after_demand_status": "not_performed", "after_demand_findings": "废液仍在外排"}
DRAFT = {"substitute_object": "清除废液约30吨，修复收集池", "substitute_manner": "委托有资质单位抽运处置",
         "draft_reasons": "逾期不治理，废液持续污染水体", "review_materials": [3]}
LEGAL_OK = {"materials_complete": True, "check_subject": True, "check_facts": True, "check_basis": True,
            "check_discretion": True, "check_procedure": True, "legal_review_opinion": "同意",
            "legal_review_outcome": "approved"}
UNIT = {"substitute_unit_name": "平顶山某环保工程有限公司", "substitute_unit_credit_code": "91410400MA22222222",
        "unit_capability": "具有危险废物和工业废水治理资质", "no_conflict_of_interest": True,
        "cost_budget": "48000.00", "budget_basis": "按抽运、处置和修复成本测算"}
DECISION = {"substitute_decision_no": "鲁环代履字〔2026〕第001号", "substitute_decision_date": "2026-03-19",
            "substitute_time_plan": "2026年3月26日白天", "substitute_decision_content": "理由、依据、方式、标的、预算、代履行人",
            "remedy_notice": True}
SERVE = {"decision_service_method": "direct", "decision_recipient": "王某", "decision_served_on": "2026-03-20",
         "decision_service_receipt": [4]}
REMINDER = {"reminder_service_method": "direct", "reminder_served_on": "2026-03-23", "scheduled_date": "2026-03-26", "scheduled_time": "09:00—17:00",
            "party_performed": False}
EXECUTE = {"executed_on": "2026-03-26", "execution_start_time": "09:00", "execution_end_time": "16:30",
           "supervisors": ["supervision_investigate1", "supervision_execute1"],
           "supervisor_certificates_shown": True, "execution_record": "抽运废液30吨，修复收集池",
           "no_unlawful_means": True, "execution_audio_video": [5], "actual_cost": "46500.00"}
SIGN = {"supervisor_signed": True, "unit_signed": True, "party_or_witness": "party", "execution_document": [6]}
COST = {"cost_notice_service_method": "direct", "cost_amount": "46500.00", "cost_basis": "按实际成本", "cost_notice_no": "鲁环代费字〔2026〕第001号",
        "cost_notice_served_on": "2026-03-30"}
CLOSE = {"closure_reason": "completed", "closure_note": "代履行完毕，费用已缴清"}
ARCHIVE = {"archive_no": "鲁环强档〔2026〕1号", "archived_on": "2026-04-10", "archive_volumes": "催告书、审批表、决定书、送达回证、执行文书、音像资料"}
LEGAL_REVIEW_ENDS = {"EndEvent_reviewed", "EndEvent_not_required"}


def close_and_archive(case, reason):
    """Every path ends with 结案 (approved by the head) and 归档."""
    case.do("coercion_close_case", "supervision_execute1", {**CLOSE, "closure_reason": reason}, group="supervision.execute")
    case.do("coercion_approve_closure", "leadership_chief", {"closure_opinion": "同意结案"}, group=LEADERS)
    case.do("coercion_archive", "supervision_records1", ARCHIVE, group="supervision.records")
    assert case.status == "completed"
    assert [e for e in case.ended() if e not in LEGAL_REVIEW_ENDS] == ["coercion_archived"]


def start(db, user, mode="standard", **overrides):
    return Case.start(db, user, "coercion_substitute", "supervision_investigate1", {**PARTY, "mode": mode, **overrides})


def through_legal_review(case):
    case.do("reinspect_compliance", "supervision_investigate1", REINSPECT, group="supervision.investigate")
    case.do("issue_demand_notice", "supervision_notify1", DEMAND, group="supervision.notify")
    case.do("hear_statement_defense", "supervision_notify1", DEFENSE, group="supervision.notify")
    case.do("check_after_demand", "supervision_investigate2", CHECKED, group="supervision.investigate")
    case.do("draft_substitute_plan", "supervision_decide1", DRAFT, group="supervision.decide")
    case.do("UserTask_legal_review", "legal_review1", LEGAL_OK, group="legal.review")


def through_execution(case):
    case.do("select_substitute_unit", "supervision_execute1", UNIT, group="supervision.execute")
    case.do("issue_substitute_decision", "supervision_decide1", DECISION, group="supervision.decide")
    case.do("serve_substitute_decision", "supervision_deliver1", SERVE, group="supervision.deliver")
    case.do("substitute_reminder", "supervision_notify1", REMINDER, group="supervision.notify")
    case.do("carry_out_substitute", "supervision_execute1", EXECUTE, group="supervision.execute")
    case.do("sign_execution_document", "supervision_execute1", SIGN, group="supervision.execute")


def test_substitute_performance_after_legal_review_and_approval_is_paid(db, deployed, user):
    case = start(db, user)
    through_legal_review(case)
    data = case.data()
    # every coercive decision is reviewed (重大执法决定法制审核目录清单第2项)
    assert data["enforcement_category"] == "coercion" and data["legal_review_required"] is True
    case.do("leader_approval", "leadership_chief", {"leader_decision": "approve", "leader_opinion": "同意"}, group=LEADERS)
    through_execution(case)
    assert case.data()["scheduled_date_lawful"] is True
    case.do("issue_cost_notice", "supervision_execute1", COST, group="supervision.execute")
    case.do("confirm_cost_payment", "supervision_execute1", {"cost_paid": "paid", "cost_paid_on": "2026-04-03"},
            group="supervision.execute")
    close_and_archive(case, "completed")


def test_legal_review_sends_back_then_collective_discussion_and_court_enforcement(db, deployed, user):
    case = start(db, user)
    through_legal_review_values = dict(LEGAL_OK)
    case.do("reinspect_compliance", "supervision_investigate1", REINSPECT)
    case.do("issue_demand_notice", "supervision_notify1", DEMAND)
    case.do("hear_statement_defense", "supervision_notify1", DEFENSE)
    case.do("check_after_demand", "supervision_investigate2", CHECKED)
    case.do("draft_substitute_plan", "supervision_decide1", DRAFT)
    # 退回补充调查 → 逾期复查 again
    case.do("UserTask_legal_review", "legal_review1", {**through_legal_review_values,
                                                       "legal_review_outcome": "reinvestigate"})
    assert case.ready_ids() == ["reinspect_compliance"]
    case.do("reinspect_compliance", "supervision_investigate2", REINSPECT)
    case.do("issue_demand_notice", "supervision_notify1", DEMAND)
    case.do("hear_statement_defense", "supervision_notify1", DEFENSE)
    case.do("check_after_demand", "supervision_investigate2", CHECKED)
    case.do("draft_substitute_plan", "supervision_decide1", DRAFT)
    # 退回修改 → 拟定代履行意见 again
    case.do("UserTask_legal_review", "legal_review1", {**through_legal_review_values, "legal_review_outcome": "revise"})
    assert case.ready_ids() == ["draft_substitute_plan"]
    case.do("draft_substitute_plan", "supervision_decide1", DRAFT)
    case.do("UserTask_legal_review", "legal_review1", LEGAL_OK)
    case.do("leader_approval", "leadership_deputy", {"leader_decision": "collective", "leader_opinion": "案情重大"})
    case.do("collective_discussion", "leadership_chief", {
        "discussion_on": "2026-03-11", "discussion_conclusion": "approve"}, group=LEADERS)
    case.do("select_substitute_unit", "supervision_execute1", UNIT)
    case.do("issue_substitute_decision", "supervision_decide1", DECISION)
    case.do("serve_substitute_decision", "supervision_deliver1", SERVE)
    # 2026-03-28 is a Saturday: 代履行 only on working days (行政强制法第43条) → refused with the rule
    assert "2026-03-28，星期六）不是工作日" in refused(case, "substitute_reminder", "supervision_notify1",
                                                   {**REMINDER, "scheduled_date": "2026-03-28"})["scheduled_date"]
    # at night: refused likewise
    assert "夜间" in refused(case, "substitute_reminder", "supervision_notify1",
                           {**REMINDER, "scheduled_time": "22:30"})["scheduled_time"]
    # 2026-03-25 is only two working days after the reminder (3 required) → 重新安排
    case.do("substitute_reminder", "supervision_notify1", {**REMINDER, "scheduled_date": "2026-03-25"})
    assert case.ready_ids() == ["substitute_reminder"]
    case.do("substitute_reminder", "supervision_notify1", {**REMINDER, "scheduled_date": "2026-03-26"})
    case.do("carry_out_substitute", "supervision_execute1", {**EXECUTE, "executed_on": "2026-03-26"})
    case.do("sign_execution_document", "supervision_execute1", {**SIGN, "party_or_witness": "witness",
                                                                "witness_name": "村委会主任"})
    case.do("issue_cost_notice", "supervision_execute1", COST)
    case.do("confirm_cost_payment", "supervision_execute1", {"cost_paid": "unpaid"})
    case.do("court_demand", "supervision_notify1", {"court_demand_service_method": "direct",
        "court_demand_no": "鲁环催字〔2026〕第009号", "court_demand_served_on": "2026-10-12"}, group="supervision.notify")
    case.do("check_after_court_demand", "supervision_execute1", {"paid_after_demand": False, "remedy_filed": False},
            group="supervision.execute")
    task = case.task("apply_court_enforcement")
    assert task.candidate_groups == "supervision.execute" and task.due_at is not None
    case.do("apply_court_enforcement", "supervision_execute1", {
        "court_application_no": "鲁环强申字〔2026〕第001号", "court_name": "鲁山县人民法院",
        "court_applied_on": "2026-10-28", "application_signed_by_chief": True, "court_application_materials": [8]})
    close_and_archive(case, "court")


def test_obligation_performed_at_reinspection_ends_the_case(db, deployed, user):
    case = start(db, user)
    case.do("reinspect_compliance", "supervision_investigate1", {**REINSPECT, "obligation_status": "performed"})
    close_and_archive(case, "performed")


def test_no_harm_to_the_environment_means_no_substitute_performance(db, deployed, user):
    case = start(db, user)
    case.do("reinspect_compliance", "supervision_investigate1", {**REINSPECT, "harms_environment": False})
    assert case.ready_ids() == ["coercion_close_case"]


def test_a_well_founded_defense_is_adopted(db, deployed, user):
    case = start(db, user)
    case.do("reinspect_compliance", "supervision_investigate1", REINSPECT)
    case.do("issue_demand_notice", "supervision_notify1", DEMAND)
    case.do("hear_statement_defense", "supervision_notify1", {**DEFENSE, "defense_outcome": "adopted",
                                                              "defense_review": "已委托治理，理由成立"})
    close_and_archive(case, "not_needed")


def test_the_leader_refuses(db, deployed, user):
    case = start(db, user)
    through_legal_review(case)
    case.do("leader_approval", "leadership_chief", {"leader_decision": "reject", "leader_opinion": "改为申请法院执行"})
    close_and_archive(case, "not_approved")


def test_collective_discussion_decides_against(db, deployed, user):
    case = start(db, user)
    through_legal_review(case)
    case.do("leader_approval", "leadership_chief", {"leader_decision": "collective", "leader_opinion": "提请集体讨论"})
    case.do("collective_discussion", "leadership_chief", {
        "discussion_on": "2026-03-11", "discussion_conclusion": "reject"})
    assert case.ready_ids() == ["coercion_close_case"]


def test_party_performs_after_the_three_day_reminder(db, deployed, user):
    case = start(db, user)
    through_legal_review(case)
    case.do("leader_approval", "leadership_chief", {"leader_decision": "approve", "leader_opinion": "同意"})
    case.do("select_substitute_unit", "supervision_execute1", UNIT)
    case.do("issue_substitute_decision", "supervision_decide1", DECISION)
    case.do("serve_substitute_decision", "supervision_deliver1", SERVE)
    case.do("substitute_reminder", "supervision_notify1", {**REMINDER, "party_performed": True})
    assert case.ready_ids() == ["coercion_close_case"]


def test_cost_paid_after_the_demand_before_court(db, deployed, user):
    case = start(db, user)
    through_legal_review(case)
    case.do("leader_approval", "leadership_chief", {"leader_decision": "approve", "leader_opinion": "同意"})
    through_execution(case)
    case.do("issue_cost_notice", "supervision_execute1", COST)
    case.do("confirm_cost_payment", "supervision_execute1", {"cost_paid": "unpaid"})
    case.do("court_demand", "supervision_notify1", {"court_demand_service_method": "direct",
        "court_demand_no": "鲁环催字〔2026〕第010号", "court_demand_served_on": "2026-10-12"})
    case.do("check_after_court_demand", "supervision_execute1", {"paid_after_demand": True, "remedy_filed": False})
    close_and_archive(case, "completed")


def test_immediate_substitute_with_the_party_absent_notifies_afterwards(db, deployed, user):
    case = Case.start(db, user, "coercion_substitute", "supervision_execute1", {**PARTY, "mode": "immediate"})
    immediate = {"immediate_reason": "运输车辆遗洒的废酸流入县道边沟，需立即清除", "immediate_executed_on": "2026-04-05",
                 "immediate_executors": ["supervision_investigate1", "supervision_execute1"], "immediate_certificates_shown": True,
                 "immediate_record": "中和并清运废酸约2吨", "immediate_audio_video": [9],
                 "party_present": False, "leader_informed": True}
    # 2026-04-05 is 清明: an emergency is not bound by the working-day rule (行政强制法第43条)
    case.do("immediate_substitute", "supervision_execute1", immediate, group="supervision.execute")
    notice = case.task("notify_party_after")
    assert notice.candidate_groups == "supervision.execute" and notice.due_at is not None
    case.do("notify_party_after", "supervision_execute1", {"after_notice_service_method": "direct",
        "after_notice_no": "鲁环代通字〔2026〕第001号", "after_notice_served_on": "2026-04-07",
        "after_notice_content": "已立即代履行，费用由你单位承担"})
    # acted first (第52条); the 法制审核 of this coercive decision comes after, then the head confirms
    review = case.task("UserTask_legal_review")
    assert review.candidate_groups == "legal.review"
    case.do("UserTask_legal_review", "legal_review1", {**LEGAL_OK, "legal_review_opinion": "紧急情形属实，程序合法"})
    case.do("immediate_leader_confirm", "leadership_deputy", {
        "immediate_confirmed": True, "immediate_confirm_opinion": "同意，补办批准手续", "immediate_confirmed_on": "2026-04-07"},
        group=LEADERS)
    case.do("issue_cost_notice", "supervision_execute1", {**COST, "cost_amount": "8000.00"})
    case.do("confirm_cost_payment", "supervision_execute1", {"cost_paid": "paid"})
    data = case.data()
    assert data["legal_review_outcome"] == "approved" and data["immediate_confirmed"] is True
    close_and_archive(case, "completed")


def test_immediate_substitute_with_the_party_present(db, deployed, user):
    case = Case.start(db, user, "coercion_substitute", "supervision_execute1", {**PARTY, "mode": "immediate"})
    case.do("immediate_substitute", "supervision_execute1", {
        "immediate_reason": "河道漂浮油污", "immediate_executed_on": "2026-04-08", "immediate_executors": ["supervision_investigate1", "supervision_execute1"],
        "immediate_certificates_shown": True, "immediate_record": "围油栏吸附清除",
        "immediate_audio_video": [9], "party_present": True, "leader_informed": True})
    case.do("UserTask_legal_review", "legal_review1", {**LEGAL_OK, "legal_review_outcome": "revise",
                                                       "legal_review_opinion": "不属于需要立即清除的情形"})
    # the head does not confirm: no cost is recovered, the case is closed and archived with the record
    case.do("immediate_leader_confirm", "leadership_chief", {
        "immediate_confirmed": False, "immediate_confirm_opinion": "不予确认", "immediate_confirmed_on": "2026-04-09"})
    close_and_archive(case, "unconfirmed")


def test_statement_defense_period_reminds_the_notify_post(db, deployed, user):
    case = start(db, user)
    case.do("reinspect_compliance", "supervision_investigate1", REINSPECT)
    case.do("issue_demand_notice", "supervision_notify1", DEMAND)  # served 2026-03-03: 5 working days long past
    assert case.ready_ids() == ["hear_statement_defense"]
    assert case.ended(reminders=True) == ["hear_statement_defense_overdue_end"]
    [(recipient, text)] = case.notifications()
    assert recipient == "supervision.notify" and PARTY["party_name"] in text


def test_the_underlying_order_is_required_and_its_deadline_must_have_passed(db, deployed, user):
    case = start(db, user, original_decision_no=None, original_decision_served_on=None, compliance_deadline=None)
    # 复查 on the last day of the period: not yet 逾期 (行政强制法第50条) → back to 复查 with the reason
    case.do("reinspect_compliance", "supervision_investigate1", {**REINSPECT, "reinspected_on": "2026-02-27"})
    assert case.ready_ids() == ["reinspect_compliance"]
    assert "尚未届满" in case.data()["underlying_order_problem"]
    # a deadline before the order was served cannot be right: refused, naming both dates
    assert "不能早于该决定书送达日期（2026-02-02）" in refused(
        case, "reinspect_compliance", "supervision_investigate1", {**REINSPECT, "compliance_deadline": "2026-01-30"}
    )["compliance_deadline"]
    case.do("reinspect_compliance", "supervision_investigate1", REINSPECT)
    assert case.ready_ids() == ["issue_demand_notice"]
    assert case.data()["original_decision_no"] == "鲁环责改字〔2026〕第003号"


def test_a_demand_shorter_than_the_bureaus_period_is_made_again(db, deployed, user):
    case = start(db, user)
    case.do("reinspect_compliance", "supervision_investigate1", REINSPECT)
    case.do("issue_demand_notice", "supervision_notify1", {**DEMAND, "performance_deadline": "2026-03-16"})
    assert case.ready_ids() == ["issue_demand_notice"]                   # 9 working days: too short
    assert case.data()["demand_period_min"] == calendar.add_working_days(date(2026, 3, 3), 10)
    case.do("issue_demand_notice", "supervision_notify1", DEMAND)
    assert case.ready_ids() == ["hear_statement_defense"]


def test_nothing_is_decided_before_the_demand_period_ends(db, deployed, user, clock):
    move_to(clock, date(2026, 3, 4))
    case = start(db, user)
    case.do("reinspect_compliance", "supervision_investigate1", REINSPECT)
    case.do("issue_demand_notice", "supervision_notify1", DEMAND)
    case.do("hear_statement_defense", "supervision_notify1", DEFENSE)
    # 行政强制法第37条: the 代履行 decision needs the period of the 催告 to be over — no task exists
    # through which anyone could draft, review or approve it until then
    assert case.ready_ids() == []
    fire_after(db, clock, date(2026, 3, 16), case)
    assert case.ready_ids() == []
    fire_after(db, clock, date(2026, 3, 17), case)                       # the last day of the period is over
    assert case.ready_ids() == ["check_after_demand"]
    case.do("check_after_demand", "supervision_investigate2", {**CHECKED, "after_demand_status": "performed"})
    close_and_archive(case, "performed")


def test_the_court_application_waits_for_article_54_and_article_53(db, deployed, user, clock):
    move_to(clock, date(2026, 10, 12))
    case = start(db, user)
    through_legal_review(case)
    case.do("leader_approval", "leadership_chief", {"leader_decision": "approve", "leader_opinion": "同意"})
    through_execution(case)
    # the cost notice served on 1 June: its 6-month litigation period runs to 1 December
    case.do("issue_cost_notice", "supervision_execute1", {**COST, "cost_notice_served_on": "2026-06-01"})
    case.do("confirm_cost_payment", "supervision_execute1", {"cost_paid": "unpaid"})
    case.do("court_demand", "supervision_notify1", {"court_demand_service_method": "direct","court_demand_no": "鲁环催字〔2026〕第011号",
                                                     "court_demand_served_on": "2026-10-12"})
    data = case.data()
    demand_lapse = calendar.add_working_days(date(2026, 10, 12), 10)     # 第54条, 第69条: working days
    assert data["court_demand_lapse_on"] == demand_lapse
    assert data["remedies_lapse_on"] == calendar.add_months(date(2026, 6, 1), 6)   # 行政诉讼法第46条
    assert data["court_apply_from"] == data["remedies_lapse_on"]
    # 3 months after that (行诉解释第156条); 2027's holidays are not published yet, so the date is provisional
    assert data["court_apply_until"] >= date(2027, 3, 1)
    assert case.ready_ids() == []
    fire_after(db, clock, demand_lapse, case)                            # 10 working days over …
    assert case.ready_ids() == []                                        # … but not the litigation period
    fire_after(db, clock, data["remedies_lapse_on"], case)
    assert case.ready_ids() == ["check_after_court_demand"]
    # a challenge filed in time stops the application: the case is closed, not enforced
    case.do("check_after_court_demand", "supervision_execute1", {"paid_after_demand": False, "remedy_filed": True})
    assert case.ready_ids() == ["coercion_close_case"]
