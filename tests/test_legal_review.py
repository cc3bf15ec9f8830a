"""重大执法决定法制审核: the decision table (目录清单, inclusive boundaries), the legal_review
process on its own, and the penalty case following the table."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.execution import decide, runtime
from tests.casework import Case
from tests.test_process_penalty import (
    CITIZEN, INVESTIGATE, ORGANIZATION, draft, investigate_and_review, move_to, notify_and_recheck, report, review,
    start_case,
)
from workdays import calendar

TODAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def timer_clock(clock):
    move_to(clock, TODAY)
    return clock


def scope(db, **inputs):
    with db.reading() as session:
        return decide.evaluate_latest(session, "legal_review_scope", inputs).outputs


NO_GROUNDS = {"major_public_interest": False, "hearing_held": False, "complex_case": False,
              "other_statutory_review": False}


@pytest.mark.parametrize("category, party_type, fine, required, source", [
    ("penalty", "citizen", "4999.99", False, "目录清单"),
    ("penalty", "citizen", "5000", True, "第1项"),
    ("penalty", "citizen", "5000.01", True, "第1项"),
    ("penalty", "citizen", "0", False, "目录清单"),
    ("penalty", "organization", "49999.99", False, "目录清单"),
    ("penalty", "organization", "50000", True, "第1项"),
    ("penalty", "organization", "1000000", True, "第1项"),
    ("coercion", "organization", "0", True, "第2项"),
    ("coercion", "citizen", "0", True, "第2项"),
    ("penalty", None, "100", True, "当事人类型未识别"),          # unknown party type: reviewed
    ("penalty", "individual_business", "100", True, "当事人类型未识别"),
    ("penalty", "citizen", None, True, "金额未确定"),            # missing amount: reviewed
    ("penalty", "organization", None, True, "金额未确定"),
])
def test_the_catalogue_decides_with_inclusive_boundaries(db, deployed, category, party_type, fine, required, source):
    out = scope(db, enforcement_category=category, party_type=party_type,
                fine_amount=None if fine is None else Decimal(fine), **NO_GROUNDS)
    assert out["legal_review_required"] is required
    assert source in out["legal_review_reason"]


@pytest.mark.parametrize("ground, item", [
    ("major_public_interest", "第58条第1款第1项"), ("hearing_held", "第58条第1款第2项"),
    ("complex_case", "第58条第1款第3项"), ("other_statutory_review", "第58条第1款第4项"),
])
@pytest.mark.parametrize("party_type, fine", [("citizen", "100"), ("organization", "49999.99")])
def test_article_58_grounds_require_review_below_the_catalogue_amounts(db, deployed, ground, item, party_type, fine):
    out = scope(db, enforcement_category="penalty", party_type=party_type, fine_amount=Decimal(fine),
                **{**NO_GROUNDS, ground: True})
    assert out["legal_review_required"] is True
    assert "行政处罚法" + item in out["legal_review_reason"]


def test_every_rule_of_the_review_table_cites_its_source():
    from lxml import etree
    from tests.test_modeler_compat import ROOT
    ns = {"d": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
    for name in ("legal_review.dmn", "hearing_right.dmn"):
        rules = etree.parse(str(ROOT / "dmn" / name)).getroot().findall(".//d:rule", ns)
        assert rules
        for rule in rules:
            note = rule.findtext("d:description", namespaces=ns) or ""
            assert any(src in note for src in ("目录清单", "行政处罚法", "听证办法")), (name, rule.get("id"))


def hearing(db, **inputs):
    with db.reading() as session:
        return decide.evaluate_latest(session, "hearing_right", inputs).outputs


@pytest.mark.parametrize("kind, party_type, fine, confiscation, right, cites", [
    ("fine", "citizen", "4999.99", "0", False, "第44条"),
    ("fine", "citizen", "5000", "0", True, "第1项"),
    ("fine", "organization", "49999.99", "0", False, "第44条"),
    ("fine", "organization", "50000", "0", True, "204号"),          # Henan: 5万元, not 20万元
    ("fine", "organization", "80000", "0", True, "5万元以上"),
    ("fine_confiscation", "organization", "30000", "20000", True, "罚没合计"),   # confiscation added
    ("fine_confiscation", "organization", "30000", "19999.99", False, "第44条"),
    ("fine_confiscation", "citizen", "3000", "2000", True, "第2项"),
    ("confiscation", "citizen", "0", "5000", True, "第2项"),
    ("fine", None, "100", "0", True, "当事人类型未识别"),              # unknown party type grants it
    ("fine", "citizen", None, None, True, "金额未确定"),
    ("license", "citizen", "0", "0", True, "第63条第1款第3项"),
    ("production", "organization", "0", "0", True, "第63条第1款第4项"),
    ("other_heavy", "organization", "0", "0", True, "第63条第1款第5项"),
    ("warning", "citizen", "0", "0", False, "第44条"),
])
def test_hearing_right_uses_the_henan_amounts_with_confiscation_added(db, deployed, kind, party_type, fine,
                                                                      confiscation, right, cites):
    out = hearing(db, penalty_kind=kind, party_type=party_type,
                  fine_amount=None if fine is None else Decimal(fine),
                  confiscation_amount=None if confiscation is None else Decimal(confiscation))
    assert out["hearing_right"] is right
    assert cites in out["hearing_basis"]


@pytest.mark.parametrize("party, fine, reviewed", [
    (CITIZEN, "4999.99", False), (CITIZEN, "5000", True),
    (ORGANIZATION, "49999.99", False), (ORGANIZATION, "50000", True),
])
def test_the_penalty_case_follows_the_table(db, deployed, user, party, fine, reviewed):
    case = start_case(db, user, party)
    investigate_and_review(case, party["party_type"], fine)
    notify_and_recheck(case, fine)
    case.do("UserTask_draft_decision", "supervision_decide1", draft(fine), group="supervision.decide")
    if reviewed:
        task = case.task("UserTask_legal_review")
        assert task.candidate_groups == "legal.review"
        assert task.due_at is not None                                   # 5 working days (legal.review)
        assert case.data()["legal_review_required"] is True
    else:
        assert case.ready_ids() == ["UserTask_decide"]
        data = case.data()
        assert data["legal_review_required"] is False and data["legal_review_outcome"] == "not_required"


def test_an_article_58_ground_found_at_case_review_sends_a_small_fine_to_review(db, deployed, user):
    case = start_case(db, user, ORGANIZATION)
    case.do("UserTask_investigate", "supervision_investigate1", INVESTIGATE, group="supervision.investigate")
    case.do("UserTask_investigation_report", "supervision_investigate1", report(1000), group="supervision.investigate")
    case.do("UserTask_review", "supervision_review1", {**review("organization", 1000), "complex_case": True},
            group="supervision.review")
    notify_and_recheck(case, 1000)
    case.do("UserTask_draft_decision", "supervision_decide1", draft(1000), group="supervision.decide")
    assert case.ready_ids() == ["UserTask_legal_review"]                 # 1,000 yuan, but 疑难复杂
    assert "第58条第1款第3项" in case.data()["legal_review_reason"]


def test_coercion_calling_the_legal_review_process_is_always_reviewed(db, deployed, user):
    # what coercion_substitute does through its call activity: only the category is certain
    case = Case.start(db, user, "legal_review", "legal_review1", {"enforcement_category": "coercion",
                                                                    "party_name": "鲁山县某化工有限公司"})
    task = case.task("UserTask_legal_review")
    assert task.candidate_groups == "legal.review"
    data = case.data()
    assert data["fine_amount"] is None and data["party_type"] is None        # unknown, not 0
    checklist = {"materials_complete": True, "check_subject": True, "check_facts": True, "check_basis": True,
                 "check_discretion": True, "check_procedure": False, "legal_review_opinion": "程序存在瑕疵",
                 "legal_review_outcome": "approved"}
    case.do("UserTask_legal_review", "legal_review1", checklist, group="legal.review")
    assert case.ready_ids() == ["UserTask_legal_review"]                 # 通过 needs every point met
    case.do("UserTask_legal_review", "legal_review2", {**checklist, "legal_review_outcome": "revise"}, group="legal.review")
    assert case.status == "completed" and case.ended() == ["EndEvent_reviewed"]
    assert case.data()["legal_review_outcome"] == "revise"


def test_the_review_deadline_reminds_the_head_of_the_legal_unit(db, deployed, user, timer_clock):
    case = Case.start(db, user, "legal_review", "legal_review1", {"enforcement_category": "coercion",
                                                                    "party_name": "鲁山县某化工有限公司"})
    submitted = case.data()["legal_review_submitted_on"]
    due = calendar.add_working_days(submitted, 5)
    move_to(timer_clock, date.fromordinal(due.toordinal() + 1), 4)   # the day after the period
    with db.transaction() as session:
        runtime.fire_timers(session, case.id)
    assert case.ready_ids() == ["UserTask_legal_review"]                 # the review still has to be done
    assert any(r == "legal.head" and "法制审核超期" in t for r, t in case.notifications())
