"""The public site and the 双随机 draw pages in Chromium, with screenshots (test-artifacts/)."""
from __future__ import annotations

import json
from datetime import date

from engine.access import identity
from spot_checks import directory, plans
from tests.test_disclosure import REVIEWED_TEXT, _penalise_citizen, publish_lists
from tests.test_spot_checks import rows

VALID = (date(2024, 1, 1), date(2030, 12, 31))  # 执法证 validity of the extra inspectors

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def test_the_public_site_in_the_browser(db, deployed, user, chromium, public_server, screenshots):
    case = _penalise_citizen(db, user)
    case.do("UserTask_review_publication", "legal_review1", {"publication_text": REVIEWED_TEXT})
    publish_lists(db)
    page = chromium.new_page(viewport=DESKTOP, locale="zh-CN")
    page.goto(public_server + "/")
    assert page.locator("h1").inner_text() == "行政执法公示"
    screenshots(page, "home")
    page.get_by_role("link", name="权责清单").first.click()
    assert page.locator("table.grid").count() >= 3
    screenshots(page, "powers")
    page.get_by_role("link", name="排污许可证核发").click()
    assert "鲁山县行政服务中心环保窗口" in page.content() and "0375-5099940" in page.content()
    screenshots(page, "guide")
    page.goto(public_server + "/diagrams/penalty")
    page.wait_for_selector("#diagram[data-rendered=true]")
    assert page.locator("#diagram .djs-element").count() > 50
    screenshots(page, "diagram")
    page.goto(public_server + "/decisions/penalty_decision")
    page.locator("table.grid a").first.click()
    body = page.locator("main").inner_text()
    assert "李某某" in body and "李建国" not in body and "13937512345" not in body
    screenshots(page, "decision")
    page.goto(public_server + "/annual")
    page.wait_for_selector("#annual-chart[data-rendered=true]")
    assert "行政处罚案件（件）" in page.locator("#annual-table").inner_text()
    screenshots(page, "annual")
    phone = chromium.new_page(viewport=PHONE, locale="zh-CN")
    phone.goto(public_server + "/officers")
    assert "豫环执" in phone.locator("table").inner_text()
    screenshots(phone, "officers-phone")
    phone.close()
    page.close()


def test_legal_staff_review_a_publication_in_the_inbox(db, deployed, user, chromium, live_server, public_server,
                                                      screenshots):
    case = _penalise_citizen(db, user)
    task = case.task("UserTask_review_publication")
    page = chromium.new_page(viewport=DESKTOP, locale="zh-CN")
    page.goto(live_server + "/login")
    page.fill("#username", "legal_review1")
    page.fill("#password", "zhifa2026")
    page.click("button[type=submit]")
    page.goto(f"{live_server}/tasks/{task.id}")
    page.click("#claim")
    draft = page.locator("#f_publication_draft").input_value()
    assert "李某某" in draft and "李建国" not in draft and "410423198203150417" not in draft
    page.fill("#f_publication_text", REVIEWED_TEXT)
    screenshots(page, "review-task")
    page.click("#task-form button.primary")
    page.get_by_role("link", name="执法公示").click()
    row = page.locator("#decisions tbody tr").first
    assert "已公示" in row.inner_text() and "李某某" in row.inner_text()
    screenshots(page, "disclosure-admin")
    page.goto(public_server + "/decisions/penalty_decision")
    page.locator("table.grid a").first.click()
    body = page.locator("main").inner_text()
    assert "[电话号码已隐去]" in body and "13937512345" not in body
    page.close()


def test_a_draw_from_plan_to_public_record_in_the_browser(db, deployed, org, chromium, live_server, public_server,
                                                           screenshots):
    with db.transaction() as session:
        for n in range(3, 7):
            identity.add_user(session, f"supervision_investigate{n}", "zhifa2026", f"检查员{n}",
                              ["supervision.investigate"], cert_no=f"豫环执4104230090{n}", cert_valid=VALID)
        directory.import_rows(session, rows(4, 10, 1), "supervision_file1")
        plans.seed_items(session)
    page = chromium.new_page(viewport=DESKTOP, locale="zh-CN")
    page.goto(live_server + "/login")
    page.fill("input[name=username]", "supervision_file1")
    page.fill("input[name=password]", "zhifa2026")
    page.click("button[type=submit]")
    page.get_by_role("link", name="双随机").click()
    assert page.locator("#entities tbody tr").count() == 15
    screenshots(page, "directory")
    page.get_by_role("link", name="抽查计划与抽取").click()
    page.fill("#p-name", "2026年第二季度污染源日常监管随机抽查")
    page.fill("#p-start", "2026-04-01")
    page.fill("input[name=period_end]", "2026-06-30")
    page.fill("input[name=ratio_key]", "50")
    page.fill("input[name=frequency_key]", "每季度1次")
    page.fill("input[name=ratio_general]", "20")
    page.fill("input[name=frequency_general]", "每季度1次")
    page.fill("input[name=ratio_special]", "100")
    page.fill("input[name=frequency_special]", "每月1次")
    page.get_by_role("button", name="保存计划").click()
    assert "已制定抽查计划" in page.content()
    screenshots(page, "plan")
    page.get_by_role("button", name="批次抽取").click()
    rows_drawn = page.locator("#teams tbody tr")
    assert rows_drawn.count() == 2 + 2 + 1  # ceil(4×50%) + ceil(10×20%) + 1×100%
    screenshots(page, "draw")
    first = rows_drawn.first
    first.locator("input[name=reason]").fill("系该企业负责人的近亲属")
    first.get_by_role("button", name="回避并重抽").click()
    assert "已回避并重新抽取" in page.content() and page.locator("#redraws tbody tr").count() == 1
    page.get_by_role("button", name="重新计算复核").click()
    assert "复核一致" in page.content()
    screenshots(page, "recusal")
    page.get_by_role("button", name="确认抽取结果").click()
    assert "发起检查案件 5 件" in page.content()
    assert page.locator("#teams tbody a").count() == 5
    screenshots(page, "confirmed")

    page.goto(public_server + "/draws")
    page.locator("table.grid a").first.click()
    text = page.locator("main").inner_text()
    assert "系该企业负责人的近亲属" in text and "zhifa-draw-v1" in text and "回避后重新抽取" in text
    screenshots(page, "public-draw")
    snapshot = page.request.get(public_server + page.locator("a", has_text="下载快照").first.get_attribute("href"))
    assert len(json.loads(snapshot.text())) == 15
    page.close()
