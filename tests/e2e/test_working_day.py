"""An officer's day on a phone (390×844) and a leader's at the office, in Chromium: the inbox
as cards, 领取 from the list, the task page with the case on it, a recording taken with the
phone's camera, the case page — one column, no sideways scrolling, large targets; the chief
finds a 无法记录 approval in 待办, presses an overdue step (督办), and the officer answers it
from 待办. The administrator's 组织机构 page. Screenshots: test-artifacts/<test>/."""
from __future__ import annotations

from datetime import timedelta

from engine.inbox import tasks
from tests.e2e.conftest import open_as
from tests.test_organisation import start_investigation

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4096


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_an_officer_works_a_case_on_a_phone(chromium, live_server, deployed, db, user, screenshots):
    base = live_server
    case = start_investigation(db, user)
    phone = open_as(chromium, base, "supervision_investigate1", **PHONE)
    phone.goto(f"{base}/inbox?tab=group")
    assert fits_the_screen(phone)
    card = phone.locator("table.tasks tr", has_text=case.business_key)
    assert card.locator("button.claim").bounding_box()["height"] >= 44
    screenshots(phone, "phone-inbox")
    card.locator("button.claim").click()
    phone.wait_for_selector("text=已领取任务")
    assert "调查取证" in phone.inner_text("table.tasks") and "程调查1" in phone.inner_text("table.tasks")

    phone.locator("table.tasks tr", has_text=case.business_key).locator("a.button").click()
    phone.wait_for_selector("#case-summary")
    assert fits_the_screen(phone)
    summary = phone.inner_text("#case-summary")
    assert "鲁山县某化工有限公司" in summary and "同意立案" in summary
    screenshots(phone, "phone-task")

    phone.click("#record-item a")
    camera = phone.locator("#evidence-camera")
    assert camera.get_attribute("capture") == "environment" and "video/*" in camera.get_attribute("accept")
    assert fits_the_screen(phone)
    camera.set_input_files(files=[{"name": "现场录像.mp4", "mimeType": "video/mp4", "buffer": VIDEO}])
    phone.click("#evidence-upload button.primary")
    phone.wait_for_selector("text=已上传“现场录像.mp4”")
    screenshots(phone, "phone-recording-uploaded")

    phone.goto(f"{base}/cases/{case.id}")
    phone.wait_for_selector("#diagram[data-rendered]")
    assert fits_the_screen(phone)
    screenshots(phone, "phone-case")


def test_the_chief_approves_from_the_inbox_and_presses_an_overdue_step(chromium, live_server, deployed, db, user,
                                                                       screenshots):
    from recording import evidence
    base = live_server
    case = start_investigation(db, user)
    step = case.task("UserTask_investigate")
    with db.transaction() as session:
        evidence.request_exception(session, step.id, user("supervision_investigate1"), "device",
                                   "执法记录仪电池故障无法开机，已用手机拍照补充")
        tasks.claim(session, step.id, user("supervision_investigate1"))
        tasks.get(session, step.id).due_at = tasks.utcnow() - timedelta(days=2)

    chief = open_as(chromium, base, "leadership_chief")
    other = chief.locator("#other-work")
    assert "无法记录情况说明" in other.inner_text() and "设备故障" in other.inner_text()
    screenshots(chief, "chief-inbox")
    other.locator("a.button", has_text="审批").click()
    chief.locator("#pending tr", has_text=case.business_key).locator("button[value=approve]").click()
    chief.wait_for_selector("text=已批准情况说明")

    chief.goto(f"{base}/dashboard/overdue")
    row = chief.locator("#deadline-tasks tr", has_text=case.business_key)
    row.locator("details.press summary").click()
    row.locator("textarea[name=text]").fill("请于三日内办结调查取证")
    screenshots(chief, "overdue-press")
    row.locator("button.primary").click()
    chief.wait_for_selector("text=已督办“调查取证”")
    assert "已督办 1 次，待答复" in chief.locator("#deadline-tasks tr", has_text=case.business_key).inner_text()
    screenshots(chief, "overdue-pressed")

    officer = open_as(chromium, base, "supervision_investigate1", **PHONE)
    work = officer.locator("#other-work")
    assert "请于三日内办结调查取证" in work.inner_text() and "张局长" in work.inner_text()
    screenshots(officer, "officer-pressed-in-inbox")
    work.locator("input[name=text]").fill("已补充询问笔录，明日办结")
    work.locator("button", has_text="答复").click()
    officer.wait_for_selector("text=已答复督办")
    officer.goto(f"{base}/notifications")
    assert "审批了您提交的“调查取证”无法记录情况说明" in officer.inner_text("main")
    screenshots(officer, "officer-notices")

    chief.goto(f"{base}/cases/{case.id}")
    assert "已补充询问笔录，明日办结" in chief.inner_text("#oversight ~ ul")
    screenshots(chief, "case-with-oversight")


def test_the_administrator_runs_the_organisation(chromium, live_server, db, org, screenshots):
    base = live_server
    admin = open_as(chromium, base, "leadership_chief")
    admin.click("text=组织机构")
    admin.wait_for_selector("h1:has-text('组织机构')")
    screenshots(admin, "org", raw_ok=True)  # 登录名 and 岗位代码 are what this page is about
    admin.click("summary:has-text('添加用户')")
    admin.fill("#u_username", "zhou_new")
    admin.fill("#u_name", "周新")
    admin.fill("#u_password", "Zhou#20260101")
    admin.check("input[name=posts][value='supervision.investigate']")
    admin.check("input[name=posts][value='supervision.notify']")
    admin.fill("#u_cert", "豫环执41042300999")
    admin.fill("#u_from", "2026-01-01")
    admin.fill("#u_until", "2030-12-31")
    admin.click("text=添加用户 >> xpath=ancestor::details//button[contains(@class,'primary')]")
    admin.wait_for_selector("text=已添加用户：周新")
    admin.click("a:has-text('周新')")
    admin.wait_for_selector("#posts-form")
    assert admin.is_checked("input[name=posts][value='supervision.notify']")
    assert admin.input_value("#c_until") == "2030-12-31"
    screenshots(admin, "org-user", raw_ok=True)
    admin.click("#disable")
    admin.wait_for_selector("text=已停用账号")
    assert admin.locator("#enable").count() == 1


def test_the_head_decides_and_approves_closure_with_every_earlier_opinion_on_the_page(chromium, live_server, deployed,
                                                                                       db, user, screenshots):
    from datetime import date

    from tests.test_process_penalty import (INVESTIGATE, NOTICE, discussion, draft, legal, recheck, report, review,
                                            statement)
    today = date.today().isoformat()
    base = live_server
    case = start_investigation(db, user)  # registered and filed by the browser-free helpers, dated today
    case.do("UserTask_investigate", "supervision_investigate1", INVESTIGATE)
    case.do("UserTask_investigation_report", "supervision_investigate1", report(60000))
    case.do("UserTask_review", "supervision_review1", {**review("organization", 60000),
                                                       "review_opinion": "事实清楚，证据确凿，建议罚款六万元"})
    case.do("UserTask_prior_notice", "supervision_notify1", {**NOTICE, "notice_served_on": today})
    case.do("UserTask_statement", "supervision_notify1", statement(waived=True))  # served today
    case.do("UserTask_recheck", "supervision_review1", recheck(60000))
    case.do("UserTask_draft_decision", "supervision_decide1", draft(60000))
    case.do("UserTask_legal_review", "legal_review1", {**legal(), "legal_review_opinion": "主体适格，裁量适当，同意"})
    case.do("UserTask_collective_discussion", "leadership_chief", {**discussion(), "discussion_held_on": today})
    assert case.ready_ids() == ["UserTask_decide"]

    # 负责人决定: the 法制审核 opinion, the discussion, the amounts, without leaving the page.
    deputy = open_as(chromium, base, "leadership_deputy")
    deputy.goto(f"{base}/inbox?tab=group")
    deputy.locator("table.tasks tr", has_text="负责人决定").locator("a.button").click()
    deputy.wait_for_selector("#case-summary")
    summary = deputy.inner_text("#case-summary")
    for seen in ("主体适格，裁量适当，同意", "法制审核", "事实清楚，证据确凿，建议罚款六万元", "一致同意拟定的处理决定",
                 "60000.00 元", "当事人称已停止排放", "行政处罚事先（听证）告知书文号", "鲁环罚告字"):
        assert seen in summary, seen
    assert deputy.locator("#f_decide_outcome_approve").get_attribute("type") == "radio"
    screenshots(deputy, "head-decides")
    deputy.check("#f_decide_outcome_approve")
    deputy.fill("#f_decision_date", today)
    deputy.fill("#f_head_opinion", "同意")
    deputy.click("#task-form button.primary")
    deputy.wait_for_selector("text=已办理：负责人决定")

    case.do("UserTask_deliver_decision", "supervision_deliver1", {"decision_delivery_method": "direct",
                                                                  "decision_served_on": today, "decision_receipt": []})
    if "UserTask_review_publication" in case.ready_ids():  # 行政执法公示 of the decision (#15)
        case.do("UserTask_review_publication", "legal_review1", {"publication_text": "鲁山县某化工有限公司擅自排放含油废水，罚款六万元。"})
    case.do("UserTask_monitor_payment", "supervision_execute1", {"payment_status": "paid", "paid_on": today,
            "paid_amount": "60000", "payment_receipt": [], "deferral_request": ""})
    case.do("UserTask_close_case", "supervision_execute1", {"closure_reason": "performed", "performance_note": "罚款已缴清"})

    # 结案审批: an explicit 同意 / 不同意 with reasons; 不同意 sends the case back to 结案.
    chief = open_as(chromium, base, "leadership_chief")
    chief.goto(f"{base}/inbox?tab=group")
    chief.locator("table.tasks tr", has_text="结案审批").locator("a.button").click()
    chief.wait_for_selector("#case-summary")
    summary = chief.inner_text("#case-summary")
    for seen in ("罚款已缴清", "决定书文号", "鲁环罚决字", "同意", "送达决定书"):
        assert seen in summary, seen
    assert chief.inner_text("#f_closure_decision").count("同意结案") == 1
    screenshots(chief, "closure-approval")
    chief.check("#f_closure_decision_reject")
    chief.fill("#f_closure_opinion", "缺少缴款凭证，请补充")
    chief.click("#task-form button.primary")
    chief.wait_for_selector("text=已办理：结案审批")
    assert case.ready_ids() == ["UserTask_close_case"]
