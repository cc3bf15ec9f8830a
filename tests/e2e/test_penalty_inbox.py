"""End to end in headless Chromium, as the bureau's demo officers: a penalty case started, filed,
investigated and reviewed through the web inbox, then notified, heard, rechecked and drafted
(through the engine), reaches 法制审核 (a 60,000-yuan fine on an organisation) and is then in the
legal reviewers' inbox and nobody else's; the case page draws
the deployed diagram with the current step highlighted. Screenshots: test-artifacts/<test>/."""
from __future__ import annotations

import io
from datetime import date

from sqlalchemy import select

from engine.access import identity
from engine.inbox import tasks
from engine.store.models import ProcessInstance
from recording import evidence
from tests import test_process_penalty as pen
from tests.casework import Case
from tests.e2e.conftest import open_as

TODAY = date.today().isoformat()
VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4096  # an MP4 header: the store sniffs it as video


def pick_officers(db, page, field: str, *usernames: str) -> None:
    """Tick people in an ``officers`` field (the registry's certified officers, listed by name)."""
    with db.reading() as session:
        for username in usernames:
            page.check(f"#f_{field} input[value='{identity.user_by_name(session, username).id}']")


def open_task(page, base, business_key, tab="group"):
    page.goto(f"{base}/inbox?tab={tab}")
    page.locator("tr", has_text=business_key).locator("a.button").click()
    page.wait_for_selector("#task-form")


def submit(page):
    page.click("#task-form button.primary")
    page.wait_for_load_state()


def visible_to(base_page, base, business_key):
    """Is the case in this user's 我的待办 or 岗位待办?"""
    found = False
    for tab in ("mine", "group"):
        base_page.goto(f"{base}/inbox?tab={tab}&q={business_key}")
        found = found or base_page.locator("table.tasks tr", has_text=business_key).count() > 0
    return found


def test_a_penalty_case_reaches_legal_review_in_the_reviewers_inbox_only(chromium, live_server, deployed, db, org,
                                                                          user, screenshots):
    base = live_server
    # 案源登记 (立案岗): start the case, see Chinese errors with the values kept, then register it.
    filer = open_as(chromium, base, "supervision_file1")
    filer.goto(f"{base}/start")
    screenshots(filer, "start-list")
    filer.click("text=行政处罚（一般程序）")
    screenshots(filer, "start-form")
    filer.click("button.primary")
    filer.wait_for_selector("#task-form")
    with db.reading() as session:
        instance = session.scalars(select(ProcessInstance).order_by(ProcessInstance.id.desc())).first()
    key = instance.business_key
    second_tab = filer.context.new_page()  # the same task open in another tab
    second_tab.goto(filer.url)
    filer.select_option("#f_case_source", "complaint")
    filer.fill("#f_violation_facts", "未经批准擅自排放含油废水")
    filer.fill("#f_clue_received_on", TODAY)
    submit(filer)
    assert "当事人名称（姓名）：必填" in filer.inner_text("#err_party_name")
    assert "当事人类型：必填" in filer.inner_text("#err_party_type")
    assert filer.input_value("#f_violation_facts") == "未经批准擅自排放含油废水"
    screenshots(filer, "register-errors")
    filer.fill("#f_party_name", "鲁山县某化工有限公司")
    filer.select_option("#f_party_type", "organization")
    filer.fill("#f_credit_code", "91410423MA00000001")
    filer.fill("#f_registration_opinion", "有涉嫌违法行为，属本机关管辖，建议立案")
    submit(filer)
    assert "已办理：案源登记与初步审查" in filer.inner_text("main")
    second_tab.fill("#f_party_name", "另一个标签页")
    second_tab.select_option("#f_case_source", "other")
    second_tab.select_option("#f_party_type", "citizen")
    second_tab.fill("#f_clue_received_on", TODAY)
    second_tab.fill("#f_violation_facts", "重复提交")
    second_tab.fill("#f_registration_opinion", "重复提交")
    second_tab.click("#task-form button.primary")
    second_tab.wait_for_load_state()
    assert "该任务已由 萧立案1 于" in second_tab.inner_text("main")
    screenshots(second_tab, "second-tab-told")

    # 立案审批 (局领导): claim, approve filing.
    deputy = open_as(chromium, base, "leadership_deputy")
    screenshots(deputy, "deputy-inbox")
    open_task(deputy, base, key)
    deputy.click("#claim")
    deputy.wait_for_selector("#unclaim")
    assert deputy.inner_text("#assignee") == "李副局长"
    # The approver decides with the case in view: the registered facts and the filer's opinion.
    summary = deputy.inner_text("#case-summary")
    for fact in ("鲁山县某化工有限公司", "未经批准擅自排放含油废水", "举报投诉", "案源登记与初步审查",
                 "有涉嫌违法行为，属本机关管辖，建议立案", "萧立案1"):
        assert fact in summary, fact
    assert "立案审批 办理期限" in summary
    deputy.check("#f_filing_decision_file")  # an explicit choice, not a drop-down
    deputy.fill("#f_case_reason", "擅自排放水污染物案")
    deputy.fill("#f_filed_on", TODAY)
    deputy.fill("#f_filing_opinion", "同意立案")
    screenshots(deputy, "approve-filing")
    submit(deputy)
    assert "已办理：立案审批" in deputy.inner_text("main")

    # 调查取证 (调查岗): claim, upload the body-camera video (执法全过程记录), complete.
    investigator = open_as(chromium, base, "supervision_investigate1")
    open_task(investigator, base, key)
    investigator.click("#claim")
    investigator.wait_for_selector("#unclaim")
    task_url = investigator.url
    pick_officers(db, investigator, "investigators", "supervision_investigate1", "supervision_investigate2")
    investigator.check("#f_certificates_shown")
    investigator.fill("#f_evidence_list", "现场检查笔录、询问笔录、照片")
    investigator.set_input_files("#up_evidence_files", files=[
        {"name": "现场照片.txt", "mimeType": "text/plain", "buffer": "排污口照片说明".encode()}])
    investigator.click("button[name=_upload][value=evidence_files]")
    investigator.wait_for_selector("text=已上传：现场照片.txt")
    assert investigator.locator("#f_investigators input:checked").count() == 2  # what was chosen survives the upload
    submit(investigator)  # no recording yet: refused with the evidence rule's message, nothing lost
    assert "执法音像记录事项" in investigator.inner_text("main")
    if investigator.locator("#record-item a").count():
        investigator.click("#record-item a")
        investigator.set_input_files("#evidence-file", files=[
            {"name": "执法记录仪.mp4", "mimeType": "video/mp4", "buffer": VIDEO}])
        investigator.click("#evidence-upload button.primary")
        investigator.wait_for_selector("text=已上传“执法记录仪.mp4”")
    else:  # the recordings page is not mounted in this build: record through the engine
        with db.transaction() as session:
            step = tasks.ready_tasks(session, instance.id)[0]
            evidence.upload(session, step.id, identity.user_by_name(session, "supervision_investigate1"),
                            io.BytesIO(VIDEO), "执法记录仪.mp4", "video/mp4")
    investigator.goto(task_url)
    pick_officers(db, investigator, "investigators", "supervision_investigate1", "supervision_investigate2")
    investigator.check("#f_certificates_shown")
    investigator.fill("#f_evidence_list", "现场检查笔录、询问笔录、照片、执法记录仪视频")
    screenshots(investigator, "investigate")
    submit(investigator)
    assert "已办理：调查取证" in investigator.inner_text("main"), investigator.inner_text("main")[:1500]

    # 调查终结 (调查岗, claimed on submit): a 60,000-yuan fine proposed.
    open_task(investigator, base, key)
    investigator.fill("#f_violation_facts", "经查，当事人擅自排放含油废水")
    investigator.fill("#f_legal_basis", "《水污染防治法》第八十三条第三项")
    investigator.select_option("#f_investigation_conclusion", "penalty")
    investigator.select_option("#f_penalty_kind", "fine")
    investigator.fill("#f_fine_amount", "六万")
    submit(investigator)
    assert "请输入金额" in investigator.inner_text("#err_fine_amount")
    investigator.fill("#f_fine_amount", "60000")
    screenshots(investigator, "investigation-report")
    submit(investigator)
    assert "已办理：调查终结" in investigator.inner_text("main")

    # 案件审查 (审查岗): proceed; the organisation's 60,000-yuan fine needs 法制审核.
    reviewer = open_as(chromium, base, "supervision_review1")
    open_task(reviewer, base, key)
    assert reviewer.is_checked("#f_proposed_action_penalty")  # the case's earlier value
    summary = reviewer.inner_text("#case-summary")
    for fact in ("经查，当事人擅自排放含油废水", "《水污染防治法》第八十三条第三项", "60000.00 元", "同意立案",
                 "擅自排放水污染物案", "现场照片.txt", "执法记录仪.mp4", "作出处罚决定期限"):
        assert fact in summary, fact
    reviewer.check("#f_review_outcome_proceed")
    reviewer.select_option("#f_party_type", "organization")
    reviewer.select_option("#f_penalty_kind", "fine")
    reviewer.fill("#f_fine_amount", "60000")
    reviewer.fill("#f_review_opinion", "事实清楚，证据确凿，程序合法")
    screenshots(reviewer, "review")
    submit(reviewer)
    assert "已办理：案件审查" in reviewer.inner_text("main")

    # 法制审核 sees the case as it will be decided (行政处罚法第58条): after 告知, 陈述申辩, 复核 and the draft
    case = Case(db, user, instance)
    case.do("UserTask_prior_notice", "supervision_notify1", {**pen.NOTICE, "notice_served_on": TODAY})
    case.do("UserTask_statement", "supervision_notify1", pen.statement(waived=True))  # served today
    case.do("UserTask_recheck", "supervision_review2", pen.recheck(60000))
    case.do("UserTask_draft_decision", "supervision_decide1", pen.draft(60000))

    # 法制审核: in the legal reviewers' inbox, in nobody else's.
    legal = open_as(chromium, base, "legal_review1")
    legal.goto(f"{base}/inbox?tab=group")
    row = legal.locator("table.tasks tr", has_text=key)
    assert row.count() == 1 and "法制审核" in row.inner_text()
    screenshots(legal, "legal-inbox")
    for page in (filer, deputy, investigator, reviewer):
        assert not visible_to(page, base, key), page.url
    with db.reading() as session:
        [task] = tasks.ready_tasks(session, instance.id)
        assert task.name == "法制审核" and task.candidate_groups == "legal.review"
        for username in org:
            u = identity.user_by_name(session, username)
            sees = any(r.id == task.id for tab in ("mine", "group")
                       for r in tasks.task_page(session, u, tasks.TaskQuery(tab=tab, per_page=100)).rows)
            assert sees == ("legal.review" in identity.group_codes(u)), username

    # 法制审核 sees the reviewer's opinion and the amounts on its own page.
    legal.locator("table.tasks tr", has_text=key).locator("a.button").click()
    legal.wait_for_selector("#case-summary")
    summary = legal.inner_text("#case-summary")
    for fact in ("事实清楚，证据确凿，程序合法", "案件审查", "袁审查1", "60000.00 元", "法人或者其他组织", "同意立案"):
        assert fact in summary, fact
    screenshots(legal, "legal-review-task")

    # The case page: diagram drawn by bpmn-js, the 法制审核 call highlighted as current.
    legal.goto(f"{base}/cases/{instance.id}")
    legal.wait_for_selector("#diagram[data-rendered]")
    assert legal.get_attribute("#diagram", "data-rendered") == "true"
    current = legal.locator('.djs-element.hl-current[data-element-id="CallActivity_legal_review"]')
    assert current.count() == 1
    assert legal.locator('.djs-element.hl-done[data-element-id="UserTask_investigate"]').count() == 1
    assert legal.locator('.djs-element.hl-current[data-element-id="UserTask_review"]').count() == 0
    text = legal.inner_text("main")
    assert "鲁山县某化工有限公司" in text and "行政处罚（一般程序）" in text and "现场照片.txt" in text
    submitted = legal.locator("ol.timeline li", has_text="案件审查").locator("details")
    submitted.locator("summary").click()
    assert "拟罚款金额（元）\n60000.00" in submitted.inner_text() and "法人或者其他组织" in submitted.inner_text()
    page_shot = screenshots(legal, "case-page")
    legal.locator("#diagram").screenshot(path=str(page_shot.with_name(page_shot.stem + "-diagram.png")))
