"""行政执法公示: a penalty decision published by its process step, masked, withdrawn after 撤销; a
不予许可 decision published like a grant; the publication deadlines on the working-day calendar;
the public site crawled end to end."""
from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urljoin, urlparse

import pytest

from disclosure import annual, catalog, masking, publications
from disclosure.models import Publication
from spot_checks import plans
from tests import test_process_permit as permit
from tests.test_process_penalty import (
    LEAD, NOTICE, TODAY, investigate_and_review, iso, payment, recheck, start_case,
)
from tests.test_process_inspection import onsite, start_drawn
from webui.public import create_public_app
from workdays import calendar

CITIZEN = {"party_name": "李建国", "party_type": "citizen", "credit_code": "", "id_number": "410423198203150417",
           "legal_rep": "", "party_address": "鲁山县琴台街道向阳路18号"}
HIDDEN = ("李建国", "410423198203150417", "13937512345", "鲁山县琴台街道向阳路18号", "6222021702001234567")
REVIEWED_TEXT = ("当事人李建国（身份证号410423198203150417，住鲁山县琴台街道向阳路18号，电话13937512345）"
                 "在自家院内焚烧废旧轮胎，罚款缴入6222021702001234567以外的指定账户。")


def _penalise_citizen(db, user, fine=3000):
    """A citizen fined 3,000 yuan (below 法制审核 and the hearing right): decided on TODAY, served, its publication drafted for 法制股."""
    case = start_case(db, user, CITIZEN)
    investigate_and_review(case, "citizen", fine)
    case.do("UserTask_prior_notice", "supervision_notify1", NOTICE, group="supervision.notify")
    case.do("UserTask_recheck", "supervision_review1", recheck(fine), group="supervision.review")
    case.do("UserTask_draft_decision", "supervision_decide1",
            {"decision_type": "penalty", "penalty_kind": "fine", "fine_amount": str(fine), "confiscation_amount": "0",
             "decision_text": REVIEWED_TEXT, "decision_draft": []}, group="supervision.decide")
    case.do("UserTask_decide", "leadership_deputy",
            {"decide_outcome": "approve", "decision_date": iso(TODAY), "head_opinion": "同意"}, group=LEAD)
    case.do("UserTask_deliver_decision", "supervision_deliver1",
            {"decision_delivery_method": "direct", "decision_served_on": iso(TODAY), "decision_receipt": []},
            group="supervision.deliver")
    return case


def _publication(db, case) -> Publication:
    with db.reading() as session:
        [found] = publications.for_instance(session, case.id)
        return found


def test_names_ids_phones_addresses_and_accounts_are_hidden():
    assert masking.mask_name("李建国") == "李某某" and masking.mask_name("欧阳修") == "欧阳某某"
    text = masking.mask_text(REVIEWED_TEXT, ["李建国"], ["鲁山县琴台街道向阳路18号"])
    assert not any(h in text for h in HIDDEN)
    assert "李某某" in text and masking.ID_HIDDEN in text and masking.PHONE_HIDDEN in text
    assert masking.BANK_HIDDEN in text and masking.ADDRESS_HIDDEN in text
    assert masking.leaks(text, ["李建国"], ["鲁山县琴台街道向阳路18号"]) == []
    # an organisation's 统一社会信用代码 is published, and is not taken for an ID number
    assert masking.mask_text("91410423MA00000001") == "91410423MA00000001"
    assert masking.leaks("电话 0375-5099940", phones_allowed=["0375-5099940"]) == []
    assert masking.leaks(REVIEWED_TEXT, ["李建国"]) == ["身份证号码", "电话号码", "银行账号", "自然人姓名“李建国”"]


def test_a_penalty_decision_is_published_masked_by_its_step_and_withdrawn_after_revocation(db, deployed, user):
    case = _penalise_citizen(db, user)
    review = case.task("UserTask_review_publication")
    assert review.candidate_groups == "legal.review"
    draft = _publication(db, case)
    assert draft.state == "draft" and draft.decided_on == TODAY
    # 行政处罚法第48条 / 国办发〔2018〕118号: within 7 working days of the decision
    assert draft.due_on == calendar.add_working_days(TODAY, 7) == review.due_at.date()
    shown = case.data()["publication_draft"]
    assert "李某某" in shown and "李建国" not in shown and "410423198203150417" not in shown
    assert "3,000.00 元" in shown

    case.do("UserTask_review_publication", "legal_review1", {"publication_text": REVIEWED_TEXT}, group="legal.review")
    published = _publication(db, case)
    assert published.state == "published" and published.reviewed_by == "legal_review1"
    body = published.title + published.content
    assert not any(h in body for h in HIDDEN) and "李某某" in body

    client = create_public_app(db=db).test_client()
    page = client.get(f"/records/{published.id}").get_data(as_text=True)
    assert "李某某" in page and "3,000.00 元" in page and not any(h in page for h in HIDDEN)

    case.do("UserTask_monitor_payment", "supervision_execute1", payment("challenged"), group="supervision.execute")
    revoked_on = TODAY + timedelta(days=40)
    case.do("UserTask_await_remedy_result", "supervision_execute1",
            {"remedy_kind": "reconsideration", "remedy_filed_on": iso(TODAY), "remedy_decided_on": iso(revoked_on),
             "remedy_result": "revoked", "fine_amount": "3000", "remedy_documents": []}, group="supervision.execute")
    withdrawn = _publication(db, case)
    assert withdrawn.state == "withdrawn" and withdrawn.withdrawal_kind == "撤销"
    # 行政处罚法第48条第2款: 三日内撤回 (working days); the registration withdraws it at once
    assert withdrawn.withdraw_due_on == calendar.add_working_days(revoked_on, 3)
    assert withdrawn.withdrawn_at is not None and withdrawn.withdrawal_basis_on == revoked_on
    page = client.get(f"/records/{published.id}").get_data(as_text=True)
    assert "撤回公告" in page and "行政复议机关" in page and "3,000.00 元" not in page
    assert published.title in client.get("/").get_data(as_text=True)  # the notice is on the front page


def test_a_denied_permit_is_published_masked_within_7_working_days(db, deployed, user):
    """国办发〔2018〕118号: 行政许可 decisions are published, 准予 and 不予 alike (here a citizen's)."""
    case = permit.start(db, user, "eia_table", "dev_accept1", **CITIZEN)
    case.do("check_application", "dev_accept1", permit.ACCEPT, group="dev.accept")
    case.do("approve_acceptance", "leadership_chief", permit.APPROVE_ACCEPTANCE, group=permit.LEADERS)
    case.do("substantive_review", "dev_review1", permit.REVIEW_PLAIN, group="dev.review")
    case.do("notify_hearing_right", "dev_review1", permit.NO_HEARING_RIGHT)
    case.do("record_hearing_request", "dev_review1", permit.NO_HEARING)
    reason = "李建国（电话13937512345）申报的养殖场选址位于饮用水水源二级保护区内，不符合环境功能区划。"
    case.do("decide_permit", "dev_decide1", permit.decide("deny", decision_reason=reason), group="dev.decide")
    case.do("approve_decision", "leadership_deputy", permit.APPROVE_DECISION, group=permit.LEADERS)
    case.do("deliver_decision", "dev_deliver1", permit.DELIVER, group="dev.deliver")

    draft = _publication(db, case)
    review = case.task("publish_decision")
    assert draft.kind == "permit_decision" and draft.state == "draft" and draft.decided_on == date(2026, 5, 18)
    assert draft.due_on == calendar.add_working_days(date(2026, 5, 18), 7) == review.due_at.date()
    shown = case.data()["publication_draft"]
    assert "不予许可" in shown and "李某某" in shown and not any(h in shown for h in HIDDEN)

    case.do("publish_decision", "legal_review1", {"publication_text": reason}, group="legal.review")
    permit.archived(case, "不予许可", "dev_accept1")
    published = _publication(db, case)
    assert published.state == "published"
    client = create_public_app(db=db).test_client()
    page = client.get(f"/records/{published.id}").get_data(as_text=True)
    assert "不予许可" in page and "饮用水水源二级保护区" in page and "李某某" in page
    assert not any(h in page for h in HIDDEN)
    assert published.title in client.get("/decisions/permit_decision").get_data(as_text=True)


def test_publication_periods_on_the_calendar():
    """7 working days from a decision on 2026-09-30 skip 国庆 (10-01…10-07) and count the 调休 Saturday
    10-10; 20 working days from an inspection ending 2026-04-01 skip 清明 (04-04…04-06)."""
    assert calendar.add_working_days(date(2026, 9, 30), 7) == date(2026, 10, 15)
    assert calendar.add_working_days(date(2026, 4, 1), 20) == date(2026, 4, 30)


def test_an_inspection_result_is_due_20_working_days_after_the_inspection(db, deployed, user):
    case = start_drawn(db, user)
    case.do("onsite_inspection", "supervision_investigate1", onsite(case, "compliant"), group="supervision.investigate")
    task = case.task("publish_results")
    draft = _publication(db, case)
    assert draft.due_on == date(2026, 4, 30) == task.due_at.date()  # 2026-04-01 + 20 working days (清明 skipped)
    assert "鲁山县甲化工有限公司" in case.data()["publication_draft"]  # an organisation is named in full
    case.do("publish_results", "legal_review1", {"publication_text": "未发现环境违法行为。"}, group="legal.review")
    published = _publication(db, case)
    assert published.state == "published" and published.kind == "inspection_result"
    assert "未发现环境违法行为" in published.content and case.ready_ids() == ["inspection_close_case"]


def test_publishing_refuses_personal_data_the_masking_could_not_know(db, deployed, user):
    with db.transaction() as session:
        draft = publications.draft(session, "penalty_decision", {"party_name": "鲁山县某厂", "party_type": "organization",
                                                                  "case_reason": "超标排放"}, TODAY, TODAY, None)
        draft.content = draft.content.replace("超标排放", "超标排放（联系人手机13937512345）")
        with pytest.raises(publications.PublicationError, match="电话号码"):
            publications.publish(session, draft, "legal_review1")
    with db.reading() as session:
        assert session.get(Publication, draft.id).state == "draft"


# --- the public site ---------------------------------------------------------------------------------

INTERNAL = ("/inbox", "/cases", "/dashboard", "/admin", "/engine-rest", "/evidence", "/login", "/disclosure/",
            "/spot-checks/", "csrf_token")


def _links(html: str) -> list[str]:
    return re.findall(r'(?:href|src|data-xml)="([^"#]+)"', html)


def publish_lists(db) -> None:
    """Everything 法制股 publishes besides decisions: lists, flowcharts, the year's figures."""
    with db.transaction() as session:
        catalog.publish_powers(session, "legal_head")
        catalog.publish_officers(session, "legal_head", TODAY)
        catalog.publish_diagrams(session, "legal_head")
        plans.seed_items(session)
        plans.publish_items(session, "legal_head")
        annual.publish(session, 2026, "legal_head")


def crawl(client, start="/") -> dict[str, str]:
    seen, queue = {}, [start]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = response.get_data(as_text=True)
        seen[url] = body
        if response.mimetype == "text/html":
            for link in _links(body):
                target = urlparse(urljoin("http://public" + url, link))
                assert target.netloc == "public", f"{url} links off-site: {link}"
                if not target.path.startswith("/vendor/"):
                    queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return seen


def test_the_public_site_serves_every_page_without_login_and_leaks_nothing(db, deployed, user, org):
    published_case = _penalise_citizen(db, user)
    published_case.do("UserTask_review_publication", "legal_review1", {"publication_text": REVIEWED_TEXT})
    unpublished = start_case(db, user, {**CITIZEN, "party_name": "赵未公开", "id_number": "410423199001010038"})
    pending = _penalise_citizen(db, user)  # drafted, awaiting 法制股: not public yet
    publish_lists(db)
    pages = crawl(create_public_app(db=db).test_client())
    every = "\n".join(pages.values())
    assert {"/", "/powers", "/officers", "/spot-items", "/diagrams", "/diagrams/penalty", "/diagrams/penalty.bpmn",
            "/annual", "/decisions/penalty_decision"} <= set(pages)
    assert any(p.startswith("/guides/") for p in pages) and any(p.startswith("/records/") for p in pages)
    for secret in (*HIDDEN, "赵未公开", "410423199001010038", unpublished.business_key, pending.business_key,
                   published_case.business_key, "zhifa2026"):
        assert secret not in every, secret
    for internal in INTERNAL:
        assert internal not in every, internal
    assert "豫环执" in pages["/officers"] and "0375-5099940" in every  # what is published is there
    assert "<script" not in pages["/diagrams/penalty.bpmn"] and "camunda:formData" not in pages["/diagrams/penalty.bpmn"]
    assert pages["/"].count("李某某") >= 1


def test_the_public_app_has_no_internal_pages(db):
    client = create_public_app(db=db).test_client()
    for path in ("/inbox", "/login", "/cases/1", "/dashboard", "/admin/deploy", "/engine-rest/version", "/records/1"):
        response = client.get(path)
        assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True), path
    assert client.post("/").status_code == 405
