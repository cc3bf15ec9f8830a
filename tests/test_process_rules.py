"""The walk of issue #11 replayed on the bundled models: what the law forbids is refused with
the rule's Chinese message (nothing saved, the task stays ready), and a case sent back says why.
The engine's rule mechanisms are tested on small fixtures in test_rules.py; these tests show
that bpmn/ uses them where the statutes need them."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.access import identity
from engine.access.identity import NotPermitted
from engine.inbox import tasks
from organisation import directory
from engine.sandbox.scripting import today
from tests import test_process_coercion as coe
from tests import test_process_penalty as pen
from tests import test_process_permit as per
from tests.test_process_penalty import INVESTIGATE, NOTICE, iso, refused

TOMORROW = iso(today() + timedelta(days=1))


@pytest.fixture
def case_day(clock):
    """SpiffWorkflow's timer clock on the penalty tests' first case day (no period runs out meanwhile)."""
    pen.move_to(clock, pen.TODAY)


def test_penalty_dates_must_follow_the_case_and_cannot_be_in_the_future(db, deployed, user, case_day):
    case = pen.start_case(db, user, pen.CITIZEN)
    errors = refused(case, "UserTask_investigate", "supervision_investigate1",
                     {**INVESTIGATE, "testing_from": iso(pen.TODAY), "testing_to": iso(pen.TODAY - timedelta(days=1))})
    assert "检测、检验、鉴定结束日期（2026-03-01）不能早于检测、检验、鉴定开始日期（不计入办案期限）（2026-03-02）" in errors["testing_to"]
    pen.investigate_and_review(case, "citizen", 8000)
    errors = refused(case, "UserTask_prior_notice", "supervision_notify1", {**NOTICE, "notice_served_on": TOMORROW})
    assert "不能晚于今天" in errors["notice_served_on"]
    errors = refused(case, "UserTask_prior_notice", "supervision_notify1", {**NOTICE, "notice_served_on": "2026-02-27"})
    assert "不能早于立案日期" in errors["notice_served_on"] and "（2026-03-02）" in errors["notice_served_on"]


def test_two_different_certified_investigators_are_required(db, deployed, user, case_day):
    case = pen.start_case(db, user, pen.CITIZEN)
    one = refused(case, "UserTask_investigate", "supervision_investigate1",
                  {**INVESTIGATE, "investigators": ["supervision_investigate1"]})
    assert "至少" in one["investigators"] and "2" in one["investigators"]
    twice = refused(case, "UserTask_investigate", "supervision_investigate1",
                    {**INVESTIGATE, "investigators": ["supervision_investigate1", "supervision_investigate1"]})
    assert "同一人" in twice["investigators"] or "重复" in twice["investigators"]
    uncertified = refused(case, "UserTask_investigate", "supervision_investigate1",
                          {**INVESTIGATE, "investigators": ["supervision_investigate1", "leadership_chief"]})
    assert "不是持有" in uncertified["investigators"] and "有效执法证" in uncertified["investigators"]
    unshown = refused(case, "UserTask_investigate", "supervision_investigate1", {**INVESTIGATE, "certificates_shown": False})
    assert "必须" in unshown["certificates_shown"]


def test_an_investigator_cannot_review_the_case_they_investigated(db, deployed, user, case_day):
    with db.transaction() as session:  # a reviewer who also investigates (one officer, several posts)
        officer = identity.user_by_name(session, "supervision_investigate2")
        directory.set_posts(session, None, officer, sorted(identity.group_codes(officer) | {"supervision.review"}))
    case = pen.start_case(db, user, pen.CITIZEN)
    case.do("UserTask_investigate", "supervision_investigate1", INVESTIGATE)
    case.do("UserTask_investigation_report", "supervision_investigate1", pen.report(8000))
    review = case.task("UserTask_review")
    with db.reading() as session:
        assert review.id not in {t.id for t in tasks.inbox(session, user("supervision_investigate2"))}
        assert review.id in {t.id for t in tasks.inbox(session, user("supervision_review1"))}
    with pytest.raises(NotPermitted, match="查处分离：您是本案的调查人员"):
        with db.transaction() as session:
            tasks.claim(session, review.id, user("supervision_investigate2"))


def test_no_hearing_cannot_be_recorded_before_the_party_s_period_ends_unless_waived_in_writing(db, deployed, user, case_day):
    case = pen.start_case(db, user, pen.CITIZEN)
    pen.investigate_and_review(case, "citizen", 8000)           # a citizen fined 8,000: hearing right
    case.do("UserTask_prior_notice", "supervision_notify1", {**NOTICE, "notice_served_on": iso(today())})
    silent = {"statement_made": False, "statement_record": "", "statement_files": [], "hearing_requested": False,
              "hearing_requested_on": ""}
    case.do("UserTask_statement", "supervision_notify1", silent)  # day 0 of the 5 days: sent back, with the reason
    back = case.task("UserTask_statement")
    assert "期限届满前不能以“未要求听证”办结" in back.return_reason and "第64条" in back.return_reason
    case.do("UserTask_statement", "supervision_notify1", {**silent, "rights_waived": True, "waiver_file": ["放弃声明"]})
    assert case.ready_ids() == ["UserTask_recheck"]


def test_a_hearing_is_not_held_before_its_date_nor_on_a_weekend(db, deployed, user, case_day):
    case = pen.start_case(db, user, pen.CITIZEN)
    pen.investigate_and_review(case, "citizen", 8000)
    case.do("UserTask_prior_notice", "supervision_notify1", NOTICE)
    case.do("UserTask_statement", "supervision_notify1", pen.statement(hearing=True))
    case.do("UserTask_hearing_notice", "supervision_notify1", pen.hearing_notice(8))
    hearing_date = case.data()["hearing_date"]
    early = refused(case, "UserTask_hold_hearing", "supervision_notify1", {**pen.HOLD, "hearing_held_on": iso(pen.TODAY)})
    assert f"不能早于听证日期（{hearing_date}）" in early["hearing_held_on"]
    saturday = refused(case, "UserTask_hold_hearing", "supervision_notify1", {**pen.HOLD, "hearing_held_on": "2026-03-21"})
    assert "星期六）不是工作日" in saturday["hearing_held_on"]


def test_the_hearing_host_is_chosen_from_certified_legal_staff(db, deployed, user, case_day):
    case = pen.start_case(db, user, pen.CITIZEN)
    pen.investigate_and_review(case, "citizen", 8000)
    case.do("UserTask_prior_notice", "supervision_notify1", NOTICE)
    case.do("UserTask_statement", "supervision_notify1", pen.statement(hearing=True))
    investigator = refused(case, "UserTask_hearing_notice", "supervision_notify1",
                           {**pen.hearing_notice(8), "hearing_host": ["supervision_investigate1"]})
    assert "指定岗位人员" in investigator["hearing_host"]


def test_mail_service_needs_the_postal_receipt_instead_of_a_recording(db, deployed, user, case_day):
    from recording.evidence import ProofMissing
    case = pen.start_case(db, user, pen.CITIZEN)
    pen.investigate_and_review(case, "citizen", 3000)
    with pytest.raises(ProofMissing, match="邮寄送达.*不需要音像记录，但须上传：送达回证"):
        case.do("UserTask_prior_notice", "supervision_notify1", {**NOTICE, "notice_delivery_method": "mail",
                                                                  "notice_receipt": []})
    case.do("UserTask_prior_notice", "supervision_notify1", {**NOTICE, "notice_delivery_method": "mail",
                                                              "notice_receipt": ["邮寄回执"]})
    assert case.ready_ids() == ["UserTask_statement"]


def test_coercion_dates_ticks_and_officers(db, deployed, user):
    case = coe.start(db, user)
    case.do("reinspect_compliance", "supervision_investigate1", coe.REINSPECT)
    before = refused(case, "issue_demand_notice", "supervision_notify1",
                     {**coe.DEMAND, "performance_deadline": "2026-03-02"})   # 履行期限 before the demand was served
    assert "不能早于送达日期" in before["performance_deadline"]
    future = refused(case, "issue_demand_notice", "supervision_notify1", {**coe.DEMAND, "demand_served_on": TOMORROW})
    assert "不能晚于今天" in future["demand_served_on"]
    case.do("issue_demand_notice", "supervision_notify1", coe.DEMAND)
    case.do("hear_statement_defense", "supervision_notify1", coe.DEFENSE)
    case.do("check_after_demand", "supervision_investigate2", coe.CHECKED)
    case.do("draft_substitute_plan", "supervision_decide1", coe.DRAFT)
    case.do("UserTask_legal_review", "legal_review1", coe.LEGAL_OK)
    case.do("leader_approval", "leadership_chief", {"leader_decision": "approve", "leader_opinion": "同意"})
    related = refused(case, "select_substitute_unit", "supervision_execute1", {**coe.UNIT, "no_conflict_of_interest": False})
    assert "必须" in related["no_conflict_of_interest"]
    case.do("select_substitute_unit", "supervision_execute1", coe.UNIT)
    case.do("issue_substitute_decision", "supervision_decide1", coe.DECISION)
    case.do("serve_substitute_decision", "supervision_deliver1", coe.SERVE)
    case.do("substitute_reminder", "supervision_notify1", coe.REMINDER)
    future = refused(case, "carry_out_substitute", "supervision_execute1", {**coe.EXECUTE, "executed_on": TOMORROW})
    assert "不能晚于今天" in future["executed_on"]
    night = refused(case, "carry_out_substitute", "supervision_execute1", {**coe.EXECUTE, "execution_end_time": "22:30"})
    assert "不得在夜间实施" in night["execution_end_time"]


def test_permit_publicity_cannot_end_before_it_starts_and_the_host_box_must_be_ticked(db, deployed, user):
    case = per.start(db, user, "eia_report", "dev_accept1")
    case.do("check_application", "dev_accept1", per.ACCEPT)
    case.do("approve_acceptance", "leadership_chief", per.APPROVE_ACCEPTANCE)
    case.do("substantive_review", "dev_review1", per.REVIEW_PLAIN)
    assert case.ready_ids() == ["notify_hearing_right"]
    publicity = {**per.NO_HEARING_RIGHT, "publicity_required": True, "publicity_start": "2026-03-10",
                 "publicity_end": "2026-03-05", "publicity_url": "鲁山县人民政府网"}
    errors = refused(case, "notify_hearing_right", "dev_review1", publicity)
    assert "公示结束日期（2026-03-05）不能早于公示开始日期（2026-03-10）" in errors["publicity_end"]


def test_every_service_step_decides_its_proof_by_the_service_method():
    """送达 of every served document: the method is asked for, and each method names what proves it
    (直接/留置/委托: the recording; 邮寄/电子/公告: the file field holding the receipt or notice)."""
    from pathlib import Path

    from lxml import etree
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "camunda": "http://camunda.org/schema/1.0/bpmn"}
    checked = 0
    for path in sorted((Path(__file__).resolve().parents[1] / "bpmn").glob("*.bpmn")):
        for task in etree.parse(str(path)).xpath("//bpmn:userTask[.//camunda:property[@name='recordItem'][@value='送达']]",
                                                  namespaces=ns):
            props = {p.get("name"): p.get("value") for p in task.xpath(".//camunda:property", namespaces=ns)}
            fields = {f.get("id"): f for f in task.xpath(".//camunda:formField", namespaces=ns)}
            where = f"{path.name}:{task.get('id')}"
            method = fields.get(props.get("recordBy"))
            assert method is not None and method.get("type") == "enum", where
            assert method.xpath(".//camunda:constraint[@name='required']", namespaces=ns), where
            values = {v.get("id") for v in method.xpath("camunda:value", namespaces=ns)}
            assert {"direct", "mail", "electronic", "announcement"} <= values, where
            assert set(props["recordFor"].split(",")) <= values and "direct" in props["recordFor"], where
            for value in values - set(props["recordFor"].split(",")):
                proof = props.get(f"proof.{value}")
                assert proof and all(fields[f].get("type") == "file" for f in proof.split(",")), (where, value)
            checked += 1
    assert checked >= 15


def test_a_service_method_left_empty_still_needs_the_recording():
    from types import SimpleNamespace

    from recording import evidence
    step = SimpleNamespace(extensions={"recordBy": "method", "recordFor": "direct", "proof.mail": "receipt"})
    assert evidence.proof_rule(step, {"method": "mail"}) == ("method", "mail", ["receipt"])
    assert evidence.proof_rule(step, {"method": "direct"}) is None
    for unsaid in ({"method": None}, {"method": ""}, {}):
        assert evidence.proof_rule(step, unsaid) is None, unsaid   # None: audio/video is required
