"""Issue #11 in headless Chromium at 1366×768: files chosen in a refused submit are kept, a
loop-back explains itself to the submitter and on the returned task, officers are chosen
from the 执法证 registry, 回避 on the case page, the certificate page and a DRD on the
decision tester. Screenshots: test-artifacts/<test>/."""
from __future__ import annotations

import json
from datetime import timedelta

from engine.access import identity
from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from engine.sandbox.scripting import today
from engine.store.models import HumanTask
from tests.conftest import FIXTURES
from tests.e2e.test_penalty_inbox import VIDEO, open_as
from tests.test_rules import investigation


def deploy(db, folder):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / folder]), source="cli")


def start(db, key, username):
    with db.transaction() as session:
        instance = runtime.start(session, key, identity.user_by_name(session, username), {})
        return instance.id, tasks.ready_tasks(session, instance.id)[0].id


def test_files_chosen_in_a_refused_submit_are_kept(chromium, live_server, db, org, screenshots, tmp_path):
    deploy(db, "inbox")
    _, task_id = start(db, "review_flow", "supervision_investigate1")
    video = tmp_path / "现场执法记录.mp4"
    video.write_bytes(VIDEO)
    page = open_as(chromium, live_server, "supervision_investigate1")
    page.goto(f"{live_server}/tasks/{task_id}")
    page.select_option("#f_party_type", "organization")
    page.fill("#f_witness_count", "2")
    page.set_input_files("#up_evidence_files", str(video))
    page.click("#task-form button.primary")
    page.wait_for_selector(".has-error")
    assert "已暂存本次选择的文件：现场执法记录.mp4" in page.content()
    box = page.locator("#f_evidence_files input[type=checkbox]")
    assert box.count() == 1 and box.is_checked()
    screenshots(page, "refused-file-kept")
    page.fill("#f_party_name", "鲁山县某化工有限公司")
    page.click("#task-form button.primary")
    page.wait_for_url(f"{live_server}/inbox**")
    assert "已办理：调查取证" in page.content()
    with db.reading() as session:
        assert len(json.loads(session.get(HumanTask, task_id).submitted)["evidence_files"]) == 1


def test_a_loop_back_explains_itself_and_officers_come_from_the_registry(chromium, live_server, db, org, screenshots):
    deploy(db, "rules")
    instance_id, task_id = start(db, "rules_flow", "supervision_investigate1")
    base = live_server
    investigator = open_as(chromium, base, "supervision_investigate1")
    investigator.goto(f"{base}/tasks/{task_id}")
    offered = investigator.locator("#f_investigators li").all_inner_texts()
    assert any("程调查1" in t and "豫环执41042300130" in t for t in offered)
    assert not any("沈送达1" in t for t in offered)  # not of the posts
    screenshots(investigator, "officers-field")
    investigator.fill("#f_party_name", "鲁山县某化工有限公司")
    investigator.locator("#f_investigators input[type=checkbox]").first.check()
    investigator.fill("#f_inspected_on", (today() + timedelta(days=1)).isoformat())
    investigator.fill("#f_fine_amount", "3000")
    investigator.click("#task-form button.primary")
    investigator.wait_for_selector(".has-error")
    text = investigator.content()
    assert "调查人员：至少选择 2 名人员" in text and "已出示执法证件：必须确认（勾选）后才能提交" in text
    assert "已经发生的事项不能填写将来的日期" in text
    assert investigator.input_value("#f_party_name") == "鲁山县某化工有限公司"  # nothing typed is lost
    screenshots(investigator, "rules-refused")
    investigator.click("#save-draft")
    investigator.wait_for_selector("#draft-note")
    screenshots(investigator, "draft")
    with db.transaction() as session:  # the investigation itself through the engine
        tasks.complete(session, task_id, identity.user_by_name(session, "supervision_investigate1"),
                       investigation(db, "supervision_investigate1", "supervision_review1"))
        review = tasks.ready_tasks(session, instance_id)[0]
    reviewer = open_as(chromium, base, "supervision_review2")
    reviewer.goto(f"{base}/tasks/{review.id}")
    reviewer.check("#f_review_outcome_reinvestigate")  # the decision is an explicit choice
    reviewer.fill("#f_review_opinion", "询问笔录缺当事人签名")
    reviewer.check("#f_points_checked")
    reviewer.click("#task-form button.primary")
    reviewer.wait_for_url(f"{base}/inbox**")
    flash = reviewer.locator(".flash").first.inner_text()
    assert "已退回：法制审核退回补充调查：询问笔录缺当事人签名" in flash and "已办理" not in flash
    screenshots(reviewer, "submitter-told-why")
    with db.reading() as session:
        again = tasks.ready_tasks(session, instance_id)[0]
    investigator.goto(f"{base}/tasks/{again.id}")
    banner = investigator.locator("#return-reason").inner_text()
    assert "法制审核退回补充调查：询问笔录缺当事人签名" in banner and "邓审查2" in banner
    assert investigator.locator("#f_investigators input[type=checkbox]:checked").count() == 2  # the case's choice
    screenshots(investigator, "returned-task")
    # the investigator cannot be offered the review of this case; 回避 on the case page
    investigator.goto(f"{base}/cases/{instance_id}")
    investigator.select_option("#recusal_officer", "supervision_review2")
    investigator.fill("#recusal_reason", "当事人申请：系其近亲属")
    investigator.click("#recuse")
    investigator.wait_for_selector(".flash-info")
    assert "已记录 邓审查2 回避" in investigator.content()
    screenshots(investigator, "recusal")


def test_certificates_page_and_the_drd_tester(chromium, live_server, db, org, screenshots):
    deploy(db, "drd")
    admin = open_as(chromium, live_server, "legal_head")
    admin.goto(f"{live_server}/org/")
    admin.locator("table.org-users tr", has=admin.locator("td", has_text="supervision_deliver1")).locator("a").click()
    admin.fill("#c_until", "2023-01-01")
    admin.click("#cert-form button[type=submit]")
    admin.wait_for_selector(".flash-error")
    assert "执法证有效期截止日（2023-01-01）不能早于起始日（2024-01-01）" in admin.content()
    screenshots(admin, "certificates", raw_ok=True)  # 组织机构 names each login account
    admin.goto(f"{live_server}/admin/decisions/beverages")
    admin.wait_for_selector("#drd-viewer[data-ready=true]")
    admin.wait_for_selector("#dmn-viewer[data-ready=true]")
    assert "本决策依赖“菜品”" in admin.locator("#drd-note").inner_text()
    assert admin.locator("#in-dish").count() == 0  # the required decision provides it
    admin.fill("#in-season", "秋")
    admin.fill("#in-guestCount", "4")
    admin.select_option("#in-guestsWithChildren", "false")
    admin.click("#trial-form button.primary")
    admin.wait_for_selector("#trial-result")
    result = admin.locator("#trial-result").inner_text()
    assert "黄酒" in result and "矿泉水" in result
    screenshots(admin, "drd-tester")
