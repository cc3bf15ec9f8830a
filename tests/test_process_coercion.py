"""bpmn/coercion_substitute.bpmn (行政强制·代履行): every path through the engine.

代履行: 逾期复查 → 催告书 → 陈述申辩 → 法制审核 (always, legal_review call) → 负责人审批 / 集体讨论
→ 选定代履行人 → 代履行决定书 → 送达 → 代履行前催告 (3 working days, a working day) → 实施 (监督)
→ 签名 → 费用 → (催告 → 申请法院强制执行). 立即代履行: 实施 → 事后通知 → 负责人补办批准 → 费用.
"""
from __future__ import annotations

from tests.casework import Case

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
REINSPECT = {"reinspected_on": "2026-03-02", "reinspectors": "李某（410423001）、王某（410423002）",
             "reinspector_count": 2, "reinspect_certificates_shown": True, "reinspection_findings": "废液仍在外排",
             "obligation_status": "not_performed", "harms_environment": True, "reinspection_record": [1]}
DEMAND = {"demand_notice_no": "鲁环催字〔2026〕第001号", "demand_content": "限于2026年3月9日前完成治理，可陈述申辩",
          "performance_deadline": "2026-03-09", "demand_service_method": "direct", "demand_recipient": "王某",
          "demand_served_on": "2026-03-03", "demand_service_receipt": [2]}
DEFENSE = {"defense_submitted": True, "defense_summary": "资金困难", "defense_review": "理由不成立",
           "defense_outcome": "proceed"}
DRAFT = {"substitute_object": "清除废液约30吨，修复收集池", "substitute_manner": "委托有资质单位抽运处置",
         "draft_reasons": "逾期不治理，废液持续污染水体", "review_materials": [3]}
LEGAL_OK = {"materials_complete": True, "check_subject": True, "check_facts": True, "check_basis": True,
            "check_discretion": True, "check_procedure": True, "legal_review_opinion": "同意",
            "legal_review_outcome": "approved"}
UNIT = {"substitute_unit_name": "平顶山某环保工程有限公司", "substitute_unit_credit_code": "91410400MA22222222",
        "unit_capability": "具有危险废物和工业废水治理资质", "no_conflict_of_interest": True,
        "cost_budget": "48000.00", "budget_basis": "按抽运、处置和修复成本测算"}
DECISION = {"substitute_decision_no": "鲁环代履字〔2026〕第001号", "substitute_decision_date": "2026-03-12",
            "substitute_time_plan": "2026年3月23日白天", "substitute_decision_content": "理由、依据、方式、标的、预算、代履行人",
            "remedy_notice": True}
SERVE = {"decision_service_method": "direct", "decision_recipient": "王某", "decision_served_on": "2026-03-13",
         "decision_service_receipt": [4]}
REMINDER = {"reminder_served_on": "2026-03-16", "scheduled_date": "2026-03-23", "scheduled_time": "09:00—17:00",
            "party_performed": False}
EXECUTE = {"executed_on": "2026-03-23", "execution_start_time": "09:00", "execution_end_time": "16:30",
           "supervisors": "李某（410423001）、王某（410423002）", "supervisor_count": 2,
           "supervisor_certificates_shown": True, "execution_record": "抽运废液30吨，修复收集池",
           "no_unlawful_means": True, "execution_audio_video": [5], "actual_cost": "46500.00"}
SIGN = {"supervisor_signed": True, "unit_signed": True, "party_or_witness": "party", "execution_document": [6]}
COST = {"cost_amount": "46500.00", "cost_basis": "按实际成本", "cost_notice_no": "鲁环代费字〔2026〕第001号",
        "cost_notice_served_on": "2026-03-25"}


def start(db, user, mode="standard", **overrides):
    return Case.start(db, user, "coercion_substitute", "supervision_investigate1", {**PARTY, "mode": mode, **overrides})


def through_legal_review(case):
    case.do("reinspect_compliance", "supervision_investigate1", REINSPECT, group="supervision.investigate")
    case.do("issue_demand_notice", "supervision_notify1", DEMAND, group="supervision.notify")
    case.do("hear_statement_defense", "supervision_notify1", DEFENSE, group="supervision.notify")
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
    assert case.status == "completed"
    assert case.ended() == ["EndEvent_reviewed", "coercion_completed"]


def test_legal_review_sends_back_then_collective_discussion_and_court_enforcement(db, deployed, user):
    case = start(db, user)
    through_legal_review_values = dict(LEGAL_OK)
    case.do("reinspect_compliance", "supervision_investigate1", REINSPECT)
    case.do("issue_demand_notice", "supervision_notify1", DEMAND)
    case.do("hear_statement_defense", "supervision_notify1", DEFENSE)
    case.do("draft_substitute_plan", "supervision_decide1", DRAFT)
    # 退回补充调查 → 逾期复查 again
    case.do("UserTask_legal_review", "legal_review1", {**through_legal_review_values,
                                                       "legal_review_outcome": "reinvestigate"})
    assert case.ready_ids() == ["reinspect_compliance"]
    case.do("reinspect_compliance", "supervision_investigate2", REINSPECT)
    case.do("issue_demand_notice", "supervision_notify1", DEMAND)
    case.do("hear_statement_defense", "supervision_notify1", DEFENSE)
    case.do("draft_substitute_plan", "supervision_decide1", DRAFT)
    # 退回修改 → 拟定代履行意见 again
    case.do("UserTask_legal_review", "legal_review1", {**through_legal_review_values, "legal_review_outcome": "revise"})
    assert case.ready_ids() == ["draft_substitute_plan"]
    case.do("draft_substitute_plan", "supervision_decide1", DRAFT)
    case.do("UserTask_legal_review", "legal_review1", LEGAL_OK)
    case.do("leader_approval", "leadership_deputy", {"leader_decision": "collective", "leader_opinion": "案情重大"})
    case.do("collective_discussion", "leadership_chief", {
        "discussion_on": "2026-03-11", "discussion_participants": "主持：局长；出席：副局长等", "discussion_opinions": "一致同意",
        "discussion_conclusion": "approve", "discussion_record": [7]}, group=LEADERS)
    case.do("select_substitute_unit", "supervision_execute1", UNIT)
    case.do("issue_substitute_decision", "supervision_decide1", DECISION)
    case.do("serve_substitute_decision", "supervision_deliver1", SERVE)
    # 2026-03-21 is a Saturday: 代履行 only on working days → 重新安排
    case.do("substitute_reminder", "supervision_notify1", {**REMINDER, "scheduled_date": "2026-03-21"})
    assert case.ready_ids() == ["substitute_reminder"] and case.data()["scheduled_date_lawful"] is False
    # 2026-03-18 is only two working days after the reminder (3 required) → 重新安排
    case.do("substitute_reminder", "supervision_notify1", {**REMINDER, "scheduled_date": "2026-03-18"})
    assert case.ready_ids() == ["substitute_reminder"]
    case.do("substitute_reminder", "supervision_notify1", {**REMINDER, "scheduled_date": "2026-03-19"})
    case.do("carry_out_substitute", "supervision_execute1", {**EXECUTE, "executed_on": "2026-03-19"})
    case.do("sign_execution_document", "supervision_execute1", {**SIGN, "party_or_witness": "witness",
                                                                "witness_name": "村委会主任"})
    case.do("issue_cost_notice", "supervision_execute1", COST)
    case.do("confirm_cost_payment", "supervision_execute1", {"cost_paid": "unpaid"})
    case.do("court_demand", "supervision_notify1", {
        "court_demand_no": "鲁环催字〔2026〕第009号", "court_demand_served_on": "2026-10-12", "paid_after_demand": False},
        group="supervision.notify")
    task = case.task("apply_court_enforcement")
    assert task.candidate_groups == "supervision.execute" and task.due_at is not None
    case.do("apply_court_enforcement", "supervision_execute1", {
        "court_application_no": "鲁环强申字〔2026〕第001号", "court_name": "鲁山县人民法院",
        "court_applied_on": "2026-10-28", "application_signed_by_chief": True, "court_application_materials": [8]})
    assert case.status == "completed"
    assert case.ended()[-1] == "court_enforcement_applied"


def test_obligation_performed_at_reinspection_ends_the_case(db, deployed, user):
    case = start(db, user)
    case.do("reinspect_compliance", "supervision_investigate1", {**REINSPECT, "obligation_status": "performed"})
    assert case.ended() == ["obligation_performed"]


def test_no_harm_to_the_environment_means_no_substitute_performance(db, deployed, user):
    case = start(db, user)
    case.do("reinspect_compliance", "supervision_investigate1", {**REINSPECT, "harms_environment": False})
    assert case.ended() == ["obligation_performed"]


def test_a_well_founded_defense_is_adopted(db, deployed, user):
    case = start(db, user)
    case.do("reinspect_compliance", "supervision_investigate1", REINSPECT)
    case.do("issue_demand_notice", "supervision_notify1", DEMAND)
    case.do("hear_statement_defense", "supervision_notify1", {**DEFENSE, "defense_outcome": "adopted",
                                                              "defense_review": "已委托治理，理由成立"})
    assert case.ended() == ["coercion_not_needed"]


def test_the_leader_refuses(db, deployed, user):
    case = start(db, user)
    through_legal_review(case)
    case.do("leader_approval", "leadership_chief", {"leader_decision": "reject", "leader_opinion": "改为申请法院执行"})
    assert case.ended()[-1] == "coercion_not_approved" and case.status == "completed"


def test_collective_discussion_decides_against(db, deployed, user):
    case = start(db, user)
    through_legal_review(case)
    case.do("leader_approval", "leadership_chief", {"leader_decision": "collective", "leader_opinion": "提请集体讨论"})
    case.do("collective_discussion", "leadership_chief", {
        "discussion_on": "2026-03-11", "discussion_participants": "全体班子成员", "discussion_opinions": "暂缓",
        "discussion_conclusion": "reject", "discussion_record": [7]})
    assert case.ended()[-1] == "collective_not_approved"


def test_party_performs_after_the_three_day_reminder(db, deployed, user):
    case = start(db, user)
    through_legal_review(case)
    case.do("leader_approval", "leadership_chief", {"leader_decision": "approve", "leader_opinion": "同意"})
    case.do("select_substitute_unit", "supervision_execute1", UNIT)
    case.do("issue_substitute_decision", "supervision_decide1", DECISION)
    case.do("serve_substitute_decision", "supervision_deliver1", SERVE)
    case.do("substitute_reminder", "supervision_notify1", {**REMINDER, "party_performed": True})
    assert case.ended()[-1] == "performed_after_reminder"


def test_cost_paid_after_the_demand_before_court(db, deployed, user):
    case = start(db, user)
    through_legal_review(case)
    case.do("leader_approval", "leadership_chief", {"leader_decision": "approve", "leader_opinion": "同意"})
    through_execution(case)
    case.do("issue_cost_notice", "supervision_execute1", COST)
    case.do("confirm_cost_payment", "supervision_execute1", {"cost_paid": "unpaid"})
    case.do("court_demand", "supervision_notify1", {
        "court_demand_no": "鲁环催字〔2026〕第010号", "court_demand_served_on": "2026-10-12", "paid_after_demand": True})
    assert case.ended()[-1] == "paid_after_demand_end"


def test_immediate_substitute_with_the_party_absent_notifies_afterwards(db, deployed, user):
    case = Case.start(db, user, "coercion_substitute", "supervision_execute1", {**PARTY, "mode": "immediate"})
    immediate = {"immediate_reason": "运输车辆遗洒的废酸流入县道边沟，需立即清除", "immediate_executed_on": "2026-04-05",
                 "immediate_executors": "赵某、钱某", "immediate_executor_count": 2, "immediate_certificates_shown": True,
                 "immediate_record": "中和并清运废酸约2吨", "immediate_audio_video": [9],
                 "party_present": False, "leader_informed": True}
    # 2026-04-05 is 清明: an emergency is not bound by the working-day rule (行政强制法第43条)
    case.do("immediate_substitute", "supervision_execute1", immediate, group="supervision.execute")
    notice = case.task("notify_party_after")
    assert notice.candidate_groups == "supervision.execute" and notice.due_at is not None
    case.do("notify_party_after", "supervision_execute1", {
        "after_notice_no": "鲁环代通字〔2026〕第001号", "after_notice_served_on": "2026-04-07",
        "after_notice_content": "已立即代履行，费用由你单位承担"})
    case.do("immediate_leader_confirm", "leadership_deputy", {
        "immediate_confirm_opinion": "同意，补办批准手续", "immediate_confirmed_on": "2026-04-07"}, group=LEADERS)
    case.do("issue_cost_notice", "supervision_execute1", {**COST, "cost_amount": "8000.00"})
    case.do("confirm_cost_payment", "supervision_execute1", {"cost_paid": "paid"})
    assert case.ended() == ["coercion_completed"]
    assert "legal_review_outcome" not in case.data()  # 立即代履行: no prior 法制审核 (第52条), leader approves after


def test_immediate_substitute_with_the_party_present(db, deployed, user):
    case = Case.start(db, user, "coercion_substitute", "supervision_execute1", {**PARTY, "mode": "immediate"})
    case.do("immediate_substitute", "supervision_execute1", {
        "immediate_reason": "河道漂浮油污", "immediate_executed_on": "2026-04-08", "immediate_executors": "赵某、钱某",
        "immediate_executor_count": 2, "immediate_certificates_shown": True, "immediate_record": "围油栏吸附清除",
        "immediate_audio_video": [9], "party_present": True, "leader_informed": True})
    assert case.ready_ids() == ["immediate_leader_confirm"]


def test_statement_defense_period_reminds_the_notify_post(db, deployed, user):
    case = start(db, user)
    case.do("reinspect_compliance", "supervision_investigate1", REINSPECT)
    case.do("issue_demand_notice", "supervision_notify1", DEMAND)  # served 2026-03-03: 5 working days long past
    assert case.ready_ids() == ["hear_statement_defense"]
    assert case.ended(reminders=True) == ["hear_statement_defense_overdue_end"]
    [(recipient, text)] = case.notifications()
    assert recipient == "supervision.notify" and PARTY["party_name"] in text
