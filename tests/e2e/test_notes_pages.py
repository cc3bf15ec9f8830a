"""笔录 in the browser: at 调查取证 the investigator fills a 调查询问笔录 from its own form,
is told what is missing, previews it, issues it, and finds it listed with its PDF; the
page at 1366×768 and 390×844. Screenshots: test-artifacts/<test>/."""
from __future__ import annotations

import io
from urllib.parse import urlencode

import docx as python_docx

from paperwork import library, templates
from tests.conftest import ROOT
from tests.documentwork import pdf_text
from tests.e2e.test_penalty_inbox import open_as
from tests.test_documents_notes import OFFICERS, at_investigation
from tests.test_documents_cases import officer_label
from tests.test_process_penalty import TODAY
from tests.test_process_penalty import timer_clock  # noqa: F401


def test_the_investigator_fills_previews_and_issues_an_inquiry_record(  # noqa: F811
        chromium, live_server, db, deployed, org, user, timer_clock, screenshots):
    base = live_server
    with db.transaction() as session:
        library.deploy(session, templates.read_paths([ROOT / "documents"]), user=None)
    case = at_investigation(db, user)
    task = case.task("UserTask_investigate")

    page = open_as(chromium, base, "supervision_investigate1")
    page.goto(f"{base}/tasks/{task.id}")
    section = page.locator("#note-penalty-inquiry")
    assert "调查询问笔录" in section.inner_text() and "本案已制作 0 份" in section.inner_text()
    assert page.locator("#note-penalty-site_inspection").is_visible()
    section.locator("summary").click()
    page.fill("#f_interviewee_name", "李某")
    page.click("#note-issue-penalty-inquiry")  # the rest missing: told so, nothing issued
    page.wait_for_selector("#note-penalty-inquiry .flash-error")
    assert "请修改标红的内容后再签发" in section.inner_text() and "本案已制作 0 份" in section.inner_text()
    assert page.input_value("#f_interviewee_name") == "李某"  # what was typed is shown again

    page.fill("#f_inquiry_date", TODAY.isoformat())
    page.fill("#f_inquiry_time", "09:30至10:40")
    page.fill("#f_inquiry_place", "本局第二询问室")
    page.fill("#f_interviewee_relation", "当事人员工")
    for username in OFFICERS:
        page.check(f"#f_inquiry_officers input[value='{user(username).id}']")
    page.fill("#f_inquiry_record", "问：你单位废水排向何处？\n答：经厂区东侧暗管排入河道。")
    assert not page.locator("#note-preview-penalty-inquiry").is_visible()  # no room taken before a preview
    with page.expect_response(lambda r: r.url.endswith("/notes/penalty.inquiry/preview")) as shown:
        page.click("#note-preview-button-penalty-inquiry")
    assert shown.value.ok and shown.value.headers["content-type"] == "application/pdf"
    assert page.locator("#note-preview-penalty-inquiry").is_visible()
    entered = page.evaluate("() => [...new FormData(document.getElementById('note-form-penalty-inquiry'))]")
    again = page.context.request.post(f"{base}/tasks/{task.id}/notes/penalty.inquiry/preview", data=urlencode([tuple(p) for p in entered]),
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    previewed = pdf_text(again.body())  # what the frame shows: the PDF of the note form as typed
    assert "李某" in previewed and "经厂区东侧暗管排入河道" in previewed and officer_label(user, OFFICERS[1]) in previewed
    page.wait_for_timeout(500)  # the frame draws the PDF
    section.scroll_into_view_if_needed()
    screenshots(page, "inquiry-preview")

    page.click("#note-issue-penalty-inquiry")
    page.wait_for_selector("#note-penalty-inquiry .notes-made")
    assert "本案已制作 1 份" in section.inner_text() and "调查询问笔录（李某）" in section.inner_text()
    assert "已签发调查询问笔录（李某）" in page.inner_text(".flash-info, .flash")
    with page.expect_download() as printed:
        section.locator(".notes-made a", has_text="PDF").click()
    issued = pdf_text(open(printed.value.path(), "rb").read())
    for part in ("李某", "问：你单位废水排向何处？", "答：经厂区东侧暗管排入河道", case.business_key,
                 f"{TODAY.year}年{TODAY.month}月{TODAY.day}日09:30至10:40",
                 officer_label(user, OFFICERS[0]), officer_label(user, OFFICERS[1])):
        assert part in issued, part
    section.scroll_into_view_if_needed()
    screenshots(page, "inquiry-issued")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/tasks/{task.id}#note-penalty-inquiry")
    page.locator("#note-penalty-inquiry summary").click()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    screenshots(page, "inquiry-phone")

    page.goto(f"{base}/cases/{case.id}")
    assert "调查询问笔录（李某）" in page.inner_text("#document-list")


def test_the_investigator_types_the_answers_in_word_and_issues_the_edited_record(  # noqa: F811
        chromium, live_server, db, deployed, org, user, timer_clock, screenshots):
    base = live_server
    with db.transaction() as session:
        library.deploy(session, templates.read_paths([ROOT / "documents"]), user=None)
    case = at_investigation(db, user)
    task = case.task("UserTask_investigate")
    page = open_as(chromium, base, "supervision_investigate1")
    page.goto(f"{base}/tasks/{task.id}")
    section = page.locator("#note-penalty-inquiry")
    section.locator("summary").click()
    page.fill("#f_interviewee_name", "赵某")
    page.click("#note-draft-upload-penalty-inquiry")  # no file chosen: told so, what was typed kept
    page.wait_for_selector("#note-penalty-inquiry .flash-error")
    assert "请选择修改后的 Word 文档" in section.inner_text() and page.input_value("#f_interviewee_name") == "赵某"

    with page.expect_download() as downloaded:
        section.get_by_role("button", name="下载 Word", exact=True).click()
    word = python_docx.Document(downloaded.value.path())
    word.add_paragraph("问：排污口设在何处？")
    word.add_paragraph("答：厂区东侧，已于上月封堵。")
    edited = io.BytesIO()
    word.save(edited)
    page.set_input_files("#note-draft-penalty-inquiry", files=[{
        "name": "询问笔录（赵某）.docx", "buffer": edited.getvalue(),
        "mimeType": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}])
    page.click("#note-draft-upload-penalty-inquiry")
    page.wait_for_selector("#note-draft-current-penalty-inquiry")
    assert "询问笔录（赵某）.docx" in section.inner_text() and page.input_value("#f_interviewee_name") == "赵某"
    section.scroll_into_view_if_needed()
    screenshots(page, "inquiry-draft-uploaded")

    page.fill("#f_inquiry_date", TODAY.isoformat())
    page.fill("#f_inquiry_time", "09:30至10:40")
    page.fill("#f_inquiry_place", "本局第二询问室")
    page.fill("#f_interviewee_relation", "当事人员工")
    for username in OFFICERS:
        page.check(f"#f_inquiry_officers input[value='{user(username).id}']")
    assert "已写在上传的修改稿中，可不填" in section.inner_text()  # the answers are in the Word file
    page.click("#note-issue-penalty-inquiry")
    page.wait_for_selector("#note-penalty-inquiry .notes-made")
    assert "调查询问笔录（赵某）" in section.inner_text()
    assert page.locator("#note-draft-current-penalty-inquiry").count() == 0  # used by this note
    with page.expect_download() as printed:
        section.locator(".notes-made a", has_text="PDF").click()
    issued = pdf_text(open(printed.value.path(), "rb").read())
    assert "答：厂区东侧，已于上月封堵。" in issued and "赵某" in issued

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/tasks/{task.id}#note-penalty-inquiry")
    page.locator("#note-penalty-inquiry summary").click()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshots(page, "inquiry-draft-phone")
