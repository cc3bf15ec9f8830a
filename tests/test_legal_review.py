"""重大执法决定法制审核: the decision table (目录清单, inclusive boundaries), the legal_review
process on its own, and the penalty case following the table."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.execution import decide, runtime
from tests.casework import Case
from tests.test_process_penalty import CITIZEN, ORGANIZATION, investigate_and_review, move_to, start_case
from workdays import calendar

TODAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def timer_clock(clock):
    move_to(clock, TODAY)
    return clock


def scope(db, **inputs):
    with db.reading() as session:
        return decide.evaluate_latest(session, "legal_review_scope", inputs).outputs


@pytest.mark.parametrize("category, party_type, fine, required", [
    ("penalty", "citizen", "4999.99", False),
    ("penalty", "citizen", "5000", True),
    ("penalty", "citizen", "5000.01", True),
    ("penalty", "citizen", "0", False),
    ("penalty", "organization", "49999.99", False),
    ("penalty", "organization", "50000", True),
    ("penalty", "organization", "1000000", True),
    ("coercion", "organization", "0", True),
    ("coercion", "citizen", "0", True),
])
def test_the_catalogue_decides_with_inclusive_boundaries(db, deployed, category, party_type, fine, required):
    out = scope(db, enforcement_category=category, party_type=party_type, fine_amount=Decimal(fine))
    assert out["legal_review_required"] is required
    assert "目录清单" in out["legal_review_reason"]
    if required:
        assert ("第2项" if category == "coercion" else "第1项") in out["legal_review_reason"]


def test_every_coercive_decision_is_reviewed_whatever_the_party(db, deployed):
    assert scope(db, enforcement_category="coercion", party_type=None, fine_amount=None)["legal_review_required"] is True


def test_an_unknown_category_is_reviewed_to_be_safe(db, deployed):
    assert scope(db, enforcement_category="other", party_type="citizen", fine_amount=Decimal("1"))["legal_review_required"] is True


@pytest.mark.parametrize("party, fine, reviewed", [
    (CITIZEN, "4999.99", False), (CITIZEN, "5000", True),
    (ORGANIZATION, "49999.99", False), (ORGANIZATION, "50000", True),
])
def test_the_penalty_case_follows_the_table(db, deployed, user, party, fine, reviewed):
    case = start_case(db, user, party)
    investigate_and_review(case, party["party_type"], fine)
    if reviewed:
        task = case.task("UserTask_legal_review")
        assert task.candidate_groups == "legal.review"
        assert task.due_at is not None                                   # 5 working days (legal.review)
        assert case.data()["legal_review_required"] is True
    else:
        assert case.ready_ids() == ["UserTask_prior_notice"]
        data = case.data()
        assert data["legal_review_required"] is False and data["legal_review_outcome"] == "not_required"


def test_coercion_calling_the_legal_review_process_is_always_reviewed(db, deployed, user):
    # what coercion_substitute does through its call activity: only the category is certain
    case = Case.start(db, user, "legal_review", "legal_review1", {"enforcement_category": "coercion",
                                                                    "party_name": "鲁山县某化工有限公司"})
    task = case.task("UserTask_legal_review")
    assert task.candidate_groups == "legal.review"
    data = case.data()
    assert data["fine_amount"] == Decimal("0") and data["party_type"] is None
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
