"""文书 in the browser: the 负责人 previews the 行政处罚决定书 beside the form, downloads it
as Word and PDF, issues it (number, frozen text) and completes the step; the records
office downloads the 案卷 of the finished case. Screenshots: test-artifacts/<test>/."""
from __future__ import annotations

import zipfile

from engine.store import files
from engine.store.models import Attachment
from paperwork import case_file, library, templates
from tests.conftest import ROOT
from tests.documentwork import docx_text, pdf_text
from tests.e2e.test_penalty_inbox import open_as
from tests.test_documents_cases import FINE, heard_case
from tests.test_process_penalty import APPROVE_CLOSURE, ARCHIVE, CLOSE, DELIVER, ORGANIZATION, payment
from tests.test_process_penalty import timer_clock  # noqa: F401


def test_the_head_previews_downloads_and_issues_the_decision_then_the_case_file(  # noqa: F811
        chromium, live_server, db, deployed, org, user, timer_clock, screenshots):
    base = live_server
    with db.transaction() as session:
        library.deploy(session, templates.read_paths([ROOT / "documents"]), user=None)
    case = heard_case(db, user)
    task = case.task("UserTask_decide")

    head = open_as(chromium, base, "leadership_deputy")
    head.goto(f"{base}/tasks/{task.id}")
    head.wait_for_selector("#document")
    assert "行政处罚决定书" in head.inner_text("#document-title")
    assert head.inner_text("#document-status") == "草稿"
    head.check("#f_decide_outcome input[value='approve']")  # the decision, set apart as choices
    head.fill("#f_head_opinion", "同意，签发")
    with head.expect_response(lambda r: r.url.endswith("/document/preview")) as live:
        head.fill("#f_decision_date", "2026-03-02")  # the live preview follows the typing
    assert live.value.ok and live.value.headers["content-type"] == "application/pdf"
    head.wait_for_selector("#document-preview[data-status=ok]")
    head.wait_for_selector("#document-missing", state="hidden")  # the date was the last thing missing
    entered = head.evaluate("""() => Object.fromEntries([...new FormData(document.getElementById('task-form'))]
                                   .filter(([k, v]) => typeof v === 'string'))""")
    preview = head.context.request.post(f"{base}/tasks/{task.id}/document/preview", form=entered)
    assert preview.ok
    text = pdf_text(preview.body())  # what the frame shows: the PDF of the values in the browser's form
    assert ORGANIZATION["party_name"] in text and "（大写：贰拾万元整）" in text and "签发时编号" in text
    assert "2026年3月2日" in text and "六十日内向鲁山县人民政府申请行政复议" in text
    screenshots(head, "decision-preview")

    with head.expect_download() as word:
        head.click("#document-docx")
    assert "{{doc_no}}" in docx_text(open(word.value.path(), "rb").read())
    with head.expect_download() as printed:
        head.click("#document-pdf")
    assert "贰拾万元整" in pdf_text(open(printed.value.path(), "rb").read())

    head.click("#document-issue")
    head.wait_for_selector("#document-number")
    number = head.inner_text("#document-number")
    assert number.startswith("鲁环罚决字〔") and head.inner_text("#document-status") == "已签发"
    assert head.input_value("#f_head_opinion") == "同意，签发"  # nothing typed is lost
    screenshots(head, "decision-issued")
    head.click("#task-form button.primary")
    head.wait_for_url(f"{base}/inbox**")
    assert case.data()["decision_no"] == number

    # the decision on the case page: number, status, and its frozen PDF with the number in it
    head.goto(f"{base}/cases/{case.id}")
    assert head.inner_text("#decision-number") == number
    row = head.locator("#document-list tr", has_text="行政处罚决定书")
    assert "已签发" in row.inner_text() and number in row.inner_text()
    with head.expect_download() as frozen:
        row.locator("a", has_text="PDF").click()
    assert number in pdf_text(open(frozen.value.path(), "rb").read())
    screenshots(head, "case-documents")

    for element, username, values in (
            ("UserTask_deliver_decision", "supervision_deliver1", DELIVER),
            ("UserTask_review_publication", "legal_review1", {}),
            ("UserTask_monitor_payment", "supervision_execute1", payment("paid", FINE)),
            ("UserTask_close_case", "supervision_execute1", CLOSE),
            ("UserTask_approve_closure", "leadership_chief", APPROVE_CLOSURE),
            ("UserTask_archive", "supervision_records1", ARCHIVE)):
        case.do(element, username, values)
    assert case.status == "completed"

    records = open_as(chromium, base, "supervision_records1")
    records.goto(f"{base}/cases/{case.id}")
    records.click("#case-file-build")
    records.wait_for_selector("#case-file-progress")
    screenshots(records, "case-file-progress")
    with db.reading() as session:
        build = case_file.latest(session, case.id)
    case_file.build(db, build.id)  # what the worker does
    records.reload()
    records.wait_for_selector("#case-file-ready")
    with records.expect_download() as bundle:
        records.click("#case-file-pdf")
    text = pdf_text(open(bundle.value.path(), "rb").read())
    assert "卷内目录" in text and number in text and "备考表" in text
    with records.expect_download() as originals:
        records.click("#case-file-zip")
    with zipfile.ZipFile(originals.value.path()) as z:
        assert "manifest.json" in z.namelist()
    screenshots(records, "case-file-ready")
    with db.reading() as session:
        stored = session.get(Attachment, case_file.latest(session, case.id).pdf_id)
        assert files.hash_file(files.path_of(stored)) == stored.sha256
