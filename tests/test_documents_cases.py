"""文书 generated from cases run through the engine: every document of a 行政处罚 case,
read back with python-docx and, as PDF, with pdftotext; 签发 rules; the 案卷."""
from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from datetime import date, datetime
from zoneinfo import ZoneInfo

import docx as python_docx
import pytest

from engine.access import identity
from engine.execution import runtime
from engine.inbox import tasks
from engine.store import files
from engine.store.models import Attachment, AuditEvent
from paperwork import case_file, issuing, library, templates
from paperwork.models import CaseDocument
from tests.casework import Case
from tests.conftest import ROOT
from tests.documentwork import docx_text, pdf_layout, pdf_pages, pdf_text
from tests.test_process_penalty import timer_clock  # noqa: F401  (the cases' dates need the clock)
from tests.test_process_penalty import (APPROVE_CLOSURE, ARCHIVE, CLOSE, DELIVER, HOLD, LEAD, NOTICE, ORGANIZATION,
                                        TODAY, decide, discussion, draft, fire_after, hearing_notice,
                                        investigate_and_review, legal, payment, recheck, register, statement)

YEAR = datetime.now(ZoneInfo("Asia/Shanghai")).year


@pytest.fixture
def documents(db, deployed, org):
    with db.transaction() as session:
        return library.deploy(session, templates.read_paths([ROOT / "documents"]), user=None)


def officer_label(user, username: str) -> str:
    """How a document names an officer chosen from the registry (as read back: no whitespace)."""
    return identity.certificate_label(user(username)).replace(" ", "")


class DocCase(Case):
    """A case whose steps 签发 the document they produce before completing, as officers do."""

    def do(self, element_id, username, values, group=None):
        task = self.task(element_id)
        values = self.with_officer_ids(task, values)
        with self.db.reading() as session:
            found = issuing.draft(session, task.id, self.user(username), values)
        if found is not None:
            assert found.error is None, found.error
            with self.db.transaction() as session:
                issuing.issue(session, task.id, self.user(username), values)
        return super().do(element_id, username, values, group)

    def documents(self) -> dict[str, CaseDocument]:
        with self.db.reading() as session:
            return {d.key: d for d in issuing.of_case(session, self.id)}

    def read(self, attachment_id: int) -> bytes:
        with self.db.reading() as session:
            with files.open_file(session.get(Attachment, attachment_id)) as f:
                return f.read()


FINE = "200000"


def heard_case(db, user, discussed: bool = True) -> DocCase:
    """An organisation fined 200,000 yuan: 法制审核, hearing, 集体讨论, up to the 负责人决定
    (``discussed=False``: up to the 集体讨论)."""
    case = DocCase.start(db, user, "penalty", "supervision_file1")
    case.do("UserTask_register_source", "supervision_file1", register(ORGANIZATION), group="supervision.file")
    case.do("UserTask_approve_filing", "leadership_chief", {"filing_decision": "file", "case_reason": "擅自排放水污染物案",
            "filed_on": TODAY.isoformat(), "filing_opinion": "同意立案"}, group=LEAD)
    investigate_and_review(case, "organization", FINE)
    case.do("UserTask_prior_notice", "supervision_notify1", {**NOTICE, "notice_receipt": [1]},  # signed 送达回证
            group="supervision.notify")
    case.do("UserTask_statement", "supervision_notify1", statement(hearing=True), group="supervision.notify")
    case.do("UserTask_hearing_notice", "supervision_notify1", hearing_notice(7), group="supervision.notify")
    case.do("UserTask_hold_hearing", "supervision_notify1", HOLD, group="supervision.notify")
    case.do("UserTask_recheck", "supervision_review2", recheck(FINE), group="supervision.review")
    case.do("UserTask_draft_decision", "supervision_decide1", draft(FINE), group="supervision.decide")
    case.do("UserTask_legal_review", "legal_review1", legal(), group="legal.review")  # before the decision (第58条)
    if discussed:
        case.do("UserTask_collective_discussion", "leadership_chief", discussion(), group="leadership.chief")
    return case


def test_the_issued_discussion_record_is_the_discussion_s_written_record(db, documents, user, timer_clock):  # noqa: F811
    """集体讨论 needs a 文字记录 (执法全过程记录): the 集体讨论记录 issued from the form is that record,
    so nobody uploads the same text again on the recordings page."""
    from recording.evidence import RecordingMissing
    case = heard_case(db, user, discussed=False)
    step = case.task("UserTask_collective_discussion")
    chief = user("leadership_chief")
    with pytest.raises(RecordingMissing, match="文字记录"), db.transaction() as session:
        tasks.complete(session, step.id, chief, discussion())
    with db.transaction() as session:
        issuing.issue(session, step.id, chief, discussion())
    with db.transaction() as session:
        tasks.complete(session, step.id, chief, discussion())
    assert case.ready_ids() == ["UserTask_decide"]


def test_every_document_of_a_penalty_case_states_the_case(db, documents, user, timer_clock):  # noqa: F811
    case = heard_case(db, user)
    case.do("UserTask_decide", "leadership_deputy", decide(), group=LEAD)
    case.do("UserTask_deliver_decision", "supervision_deliver1", {**DELIVER, "decision_receipt": [1]},
            group="supervision.deliver")
    case.do("UserTask_review_publication", "legal_review1", {}, group="legal.review")  # 行政处罚决定公示
    case.do("UserTask_monitor_payment", "supervision_execute1", payment("paid", FINE), group="supervision.execute")
    case.do("UserTask_close_case", "supervision_execute1", CLOSE, group="supervision.execute")
    case.do("UserTask_approve_closure", "leadership_chief", APPROVE_CLOSURE, group=LEAD)
    case.do("UserTask_archive", "supervision_records1", ARCHIVE, group="supervision.records")
    assert case.status == "completed"

    found = case.documents()
    assert set(found) == {"penalty.filing", "penalty.report", "legal_review.opinion", "penalty.notice",
                          "penalty.statement", "penalty.hearing", "penalty.hearing_record", "penalty.discussion",
                          "penalty.decision", "penalty.closure"}
    data = case.data()
    assert data["notice_no"] == found["penalty.notice"].number == f"鲁环罚告字〔{YEAR}〕第001号"
    assert data["decision_no"] == found["penalty.decision"].number == f"鲁环罚决字〔{YEAR}〕第001号"
    assert data["hearing_notice_no"] == found["penalty.hearing"].number
    served = {"penalty.notice", "penalty.decision"}  # their 送达 steps completed with the signed 送达回证
    for key, document in found.items():
        assert document.status == ("served" if key in served else "issued") and len(document.sha256) == 64, key
        assert bool(document.served_id) == (key in served), key
        word, printed = docx_text(case.read(document.docx_id)), pdf_text(case.read(document.pdf_id))
        for text in (word, printed):
            assert "鲁山县环境保护局" in text and document.title in text, key
            assert ORGANIZATION["party_name"] in text, key
            assert "＿＿" not in text, (key, "a placeholder left blank")
            if document.number:
                assert document.number in text, key

    decision = pdf_text(case.read(found["penalty.decision"].pdf_id))
    for part in ("鲁山县产业集聚区", "91410423MA00000001", "经查，当事人擅自排放含油废水",  # party, facts
                 "现场检查笔录、询问笔录、监测报告、照片", "水污染防治法第83条第3项",          # evidence, basis
                 "罚款人民币200,000.00元（大写：贰拾万元整）", "十五日内",                       # amount, performance
                 "六十日内向鲁山县人民政府申请行政复议", "六个月内向鲁山县人民法院提起行政诉讼",  # 复议, 诉讼
                 f"{TODAY.year}年{TODAY.month}月{TODAY.day}日"):                             # date
        assert part in decision, part
    notice = pdf_text(case.read(found["penalty.notice"].pdf_id))
    assert "贰拾万元整" in notice and "要求听证" in notice and "陈述和申辩" in notice
    hearing = docx_text(case.read(found["penalty.hearing"].docx_id))
    assert "局三楼会议室" in hearing and "周股长" in hearing
    transcript = pdf_text(case.read(found["penalty.hearing_record"].pdf_id))
    assert "当事人（代理人）出席" in transcript and "当事人对事实无异议，请求从轻" in transcript
    assert "当事人称已停止排放" in pdf_text(case.read(found["penalty.statement"].pdf_id))
    opinion = pdf_text(case.read(found["legal_review.opinion"].pdf_id))
    assert "200,000.00元（贰拾万元整）" in opinion and "审核意见" in opinion

    with db.reading() as session:
        issued = [json.loads(e.details) for e in session.query(AuditEvent).filter_by(
            instance_id=case.id, action="document_issue")]
    assert {d["sha256"] for d in issued} == {d.sha256 for d in found.values()}


def test_the_decision_cannot_be_issued_without_what_article_59_requires(db, documents, user, timer_clock,  # noqa: F811
                                                                        monkeypatch):
    case = heard_case(db, user)
    task = case.task("UserTask_decide")
    monkeypatch.setenv("ZHIFA_REVIEW_BODY", "")
    with db.transaction() as session, pytest.raises(issuing.DocumentError) as refused:
        issuing.issue(session, task.id, user("leadership_deputy"), decide())
    assert "申请行政复议的途径" in str(refused.value) and "行政处罚法第五十九条" in str(refused.value)
    monkeypatch.delenv("ZHIFA_REVIEW_BODY")
    # nor completed without being issued: the number would be given to a text nobody signed
    with db.transaction() as session, pytest.raises(issuing.DocumentError, match="请先签发行政处罚决定书"):
        tasks.complete(session, task.id, user("leadership_deputy"), decide())
    assert "penalty.decision" not in case.documents() or case.documents()["penalty.decision"].status == "draft"
    assert "decision_no" not in case.data()


def test_a_fine_of_nothing_is_not_a_decision(db, documents, user, timer_clock):  # noqa: F811
    case = heard_case(db, user)
    # the 负责人 decides on the drafted fine; a fine of 0 states no amount (第五十九条第一款第（三）项)
    with db.transaction() as session:
        instance = runtime.lock_instance(session, case.id)
        action = runtime.load(session, instance, None)
        runtime.spiff_task(action, case.task("UserTask_decide").id).data["fine_amount"] = 0
        runtime.save(action)
    with db.transaction() as session, pytest.raises(issuing.DocumentError, match="罚款的，数额"):
        issuing.issue(session, case.task("UserTask_decide").id, user("leadership_deputy"), decide())


def test_an_issued_text_is_frozen(db, documents, user, timer_clock):  # noqa: F811
    case = heard_case(db, user)
    task = case.task("UserTask_decide")
    with db.transaction() as session:
        first = issuing.issue(session, task.id, user("leadership_deputy"), decide())
    with db.transaction() as session, pytest.raises(issuing.DocumentError, match="已于.*签发"):
        issuing.issue(session, task.id, user("leadership_deputy"), decide())
    changed = {**decide(), "decision_date": "2026-03-09"}
    with db.transaction() as session, pytest.raises(issuing.DocumentError, match="签发后修改了：决定日期"):
        tasks.complete(session, task.id, user("leadership_deputy"), changed)
    with db.transaction() as session:
        tasks.complete(session, task.id, user("leadership_deputy"), decide())
    assert case.data()["decision_no"] == first.number


def test_an_edited_word_file_is_issued_with_its_number(db, documents, user, timer_clock):  # noqa: F811
    case = heard_case(db, user)
    task = case.task("UserTask_decide")
    with db.reading() as session:
        word = issuing.draft(session, task.id, user("leadership_deputy"), decide()).docx
    assert "{{doc_no}}" in docx_text(word)  # the number is printed at 签发, into the edited file too
    edited = python_docx.Document(io.BytesIO(word))
    edited.add_paragraph("（本决定书经集体讨论决定）")
    out = io.BytesIO()
    edited.save(out)
    with db.transaction() as session:
        issuing.upload_draft(session, task.id, user("leadership_deputy"), decide(), io.BytesIO(out.getvalue()),
                             "决定书修改.docx")
    with db.transaction() as session:
        issued = issuing.issue(session, task.id, user("leadership_deputy"), decide())
    text = pdf_text(case.read(issued.pdf_id))
    assert "（本决定书经集体讨论决定）" in text and issued.number in text


def test_a_case_keeps_the_template_version_it_used(db, documents, user, timer_clock):  # noqa: F811
    case = heard_case(db, user)
    with db.reading() as session:
        used = {d.key: d.template.version for d in issuing.of_case(session, case.id)}
    source = (ROOT / "documents" / "penalty.notice.docx").read_bytes()
    changed = python_docx.Document(io.BytesIO(source))
    changed.add_paragraph("新版本增加的一段")
    out = io.BytesIO()
    changed.save(out)
    with db.transaction() as session:
        created = library.deploy(session, [templates.from_file("penalty.notice.docx", out.getvalue())], user=None)
    assert [t.version for t in created] == [2]
    with db.transaction() as session:  # the same content again makes no version
        assert library.deploy(session, [templates.from_file("penalty.notice.docx", out.getvalue())], user=None) == []
    with db.reading() as session:
        assert issuing.of_case(session, case.id)[0].template.version == used["penalty.filing"] == 1
        notice = [d for d in issuing.of_case(session, case.id) if d.key == "penalty.notice"][0]
    assert notice.template.version == 1 and "新版本增加的一段" not in pdf_text(case.read(notice.pdf_id))


def test_a_template_with_an_unknown_placeholder_is_refused_at_deploy(db, deployed, org):
    document = python_docx.Document(io.BytesIO((ROOT / "documents" / "penalty.decision.docx").read_bytes()))
    document.add_paragraph("违法所得：{{ illegal_income }}；{{ fine_amount|yuan }}")
    out = io.BytesIO()
    document.save(out)
    bad = templates.from_file("penalty.decision.docx", out.getvalue())
    with db.transaction() as session, pytest.raises(library.TemplatesInvalid) as refused:
        library.deploy(session, [bad, *templates.read_paths([ROOT / "documents"])], user=None)
    assert refused.value.lines[0].startswith("penalty.decision.docx: illegal_income: 流程“penalty”中没有此数据")
    with db.reading() as session:
        assert library.versions(session) == []  # nothing deployed


def test_a_decision_template_must_keep_the_appeal_channels(db, deployed, org):
    document = python_docx.Document(io.BytesIO((ROOT / "documents" / "penalty.decision.docx").read_bytes()))
    for paragraph in document.paragraphs:
        if "review_body" in paragraph.text:
            paragraph.text = ""
    out = io.BytesIO()
    document.save(out)
    with db.transaction() as session:
        problems = library.check(session, [templates.from_file("penalty.decision.docx", out.getvalue())])
    assert ("penalty.decision.docx", "review_body",
            "申请行政复议的途径（复议机关）是必须载明的事项（行政处罚法第五十九条第一款第（五）项），模板中缺少该占位符") in problems
    assert any(p[1] == "六十日" for p in problems)


def test_decisions_are_issued_at_the_same_time_with_distinct_numbers(db, documents, user, timer_clock):  # noqa: F811
    cases = [heard_case(db, user) for _ in range(3)]
    results, errors = {}, []

    def issue(case):
        try:
            with db.transaction() as session:
                results[case.id] = issuing.issue(session, case.task("UserTask_decide").id,
                                                 user("leadership_deputy"), decide()).number
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=issue, args=(c,)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results.values()) == [f"鲁环罚决字〔{YEAR}〕第00{n}号" for n in (1, 2, 3)]
    for case in cases:
        document = case.documents()["penalty.decision"]
        assert results[case.id] in pdf_text(case.read(document.pdf_id))


def test_the_case_file_of_a_finished_case(db, documents, user, timer_clock):  # noqa: F811
    case = heard_case(db, user)
    case.do("UserTask_decide", "leadership_deputy", decide(), group=LEAD)
    decision = case.documents()["penalty.decision"]
    with db.transaction() as session:
        issuing.mark_served(session, decision.id, user("supervision_deliver1"),
                            io.BytesIO(b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"),
                            "送达回证签收件.pdf", "application/pdf")
    assert case.documents()["penalty.decision"].status == "served"
    with db.transaction() as session:
        build = case_file.request(session, case.id, user("supervision_records1"))
    case_file.build(db, build.id)
    with db.reading() as session:
        done = case_file.latest(session, case.id)
        assert done.status == "done" and done.progress == 100, done.error
        pdf_attachment, zip_attachment = session.get(Attachment, done.pdf_id), session.get(Attachment, done.zip_id)
        audit = [json.loads(e.details) for e in session.query(AuditEvent).filter_by(instance_id=case.id,
                                                                                    action="case_file")]
    assert audit[0]["pdf_sha256"] == pdf_attachment.sha256
    combined = case.read(pdf_attachment.id)
    text = pdf_text(combined)
    pages = pdf_pages(combined)
    assert "卷内目录" in pages[0] and pages[-1].startswith(f"{case.business_key}") and "备考表" in pages[-1]
    contents = [line.split() for line in pdf_layout(combined, page=1).splitlines() if line.strip()[:1].isdigit() and len(line.split()) >= 3]
    listed = {row[-3] if row[-2][:4].isdigit() else row[-2]: int(row[-1]) for row in contents}
    order = ["立案审批表", "案件调查终结报告", "行政处罚事先（听证）告知书", "行政处罚听证通知书", "案件集体讨论记录",
             "行政处罚决定书", "证据材料清单"]
    assert [listed[title] for title in order] == sorted(listed[title] for title in order)
    for title in order:  # each listed page is where that part begins
        assert title in pages[listed[title] - 1][:60], (title, listed[title])
    assert decision.number in text and "送达回证" in text
    assert "未能并入本卷PDF" in pages[-1]  # the test's one-line "scan" of the served notice is no PDF poppler reads
    served = {d.served_id for d in case.documents().values()}
    evidence = [a for a in case_file_attachments(db, case.id) if a.id not in served
                and not (a.field_id or "").startswith(("document:", "served:", "case_file"))]
    assert evidence and all(a.sha256 in text for a in evidence)
    with zipfile.ZipFile(io.BytesIO(case.read(zip_attachment.id))) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert any(name.startswith("文书/行政处罚决定书") for name in z.namelist())
        served_id = case.documents()["penalty.decision"].served_id
        served_name = next(n for n in z.namelist() if n.startswith(f"送达/{served_id}_"))
        with db.reading() as session:
            assert manifest["files"][served_name] == session.get(Attachment, served_id).sha256
            assert hashlib.sha256(z.read(served_name)).hexdigest() == manifest["files"][served_name]


def case_file_attachments(db, instance_id):
    with db.reading() as session:
        return list(session.query(Attachment).filter_by(instance_id=instance_id))


def test_zhifa_deploy_takes_the_documents_folder_and_names_a_bad_placeholder(db, org, cli_env, tmp_path):
    from tests.test_cli import zhifa
    first = zhifa(cli_env, "deploy", ROOT / "dmn", ROOT / "bpmn", ROOT / "documents")
    assert first.returncode == 0, first.stderr
    assert "文书模板 penalty.decision 版本 1（行政处罚决定书）" in first.stdout
    assert "没有变化" in zhifa(cli_env, "deploy", ROOT / "documents").stdout
    document = python_docx.Document(io.BytesIO((ROOT / "documents" / "permit.approval.docx").read_bytes()))
    document.add_paragraph("有效期：{{ valid_years }}年")
    document.save(tmp_path / "permit.approval.docx")
    bad = zhifa(cli_env, "deploy", tmp_path / "permit.approval.docx")
    assert bad.returncode == 1
    assert bad.stderr.startswith("permit.approval.docx: valid_years: 流程“permit”中没有此数据")


def test_the_service_receipt_names_the_document_it_proves(db, documents, user, timer_clock):  # noqa: F811
    case = heard_case(db, user)
    notice = case.documents()["penalty.notice"]
    with db.reading() as session:
        proved, word = issuing.receipt(session, notice.id, user("supervision_notify1"))
    text = docx_text(word)
    assert proved.id == notice.id
    assert "送达回证" in text and "行政处罚事先（听证）告知书" in text and notice.number in text
    assert ORGANIZATION["party_name"] in text and ORGANIZATION["party_address"] in text


def test_permit_documents_state_the_application_and_the_remedies(db, documents, user):
    from tests import test_process_permit as permit
    case = DocCase(db, user, permit.start(db, user, "discharge_permit", "total_accept1",
                                          discharge_management="simplified").instance)
    case.do("check_application", "total_accept1", {"acceptance_result": "supplement", "check_opinion": "缺少自行监测方案",
            "correction_items": "1. 自行监测方案；2. 排污口规范化设置说明"})
    case.do("issue_correction_notice", "total_accept1", {"correction_notice_on": "2026-03-03",
            "correction_items": "1. 自行监测方案；2. 排污口规范化设置说明"})
    case.do("receive_supplement", "total_accept1", {"supplement_result": "supplemented",
                                                    "supplement_received_on": "2026-03-10"})
    case.do("check_application", "total_accept1", {**permit.ACCEPT, "accepted_on": "2026-03-10"})
    case.do("approve_acceptance", "leadership_chief", permit.APPROVE_ACCEPTANCE)
    case.do("substantive_review", "total_review1", permit.REVIEW_PLAIN)
    case.do("notify_hearing_right", "total_review1", permit.NO_HEARING_RIGHT)
    case.do("record_hearing_request", "total_review1", permit.NO_HEARING)
    case.do("decide_permit", "total_decide1", permit.decide("deny", decision_reason="排放浓度不能稳定达标。"))
    found = case.documents()
    assert set(found) == {"permit.supplement", "permit.acceptance", "permit.hearing_right", "permit.denial"}
    acceptance = pdf_text(case.read(found["permit.acceptance"].pdf_id))
    assert found["permit.acceptance"].number is None  # its 文号 is the case's 受理 number (numbering "permit")
    for part in (case.business_key, "鲁山县某建材有限公司", "2026年3月10日", "第三十二条第一款第（五）项", "予以受理",
                 "二十个工作日内"):
        assert part in acceptance, part
    hearing_right = pdf_text(case.read(found["permit.hearing_right"].pdf_id))
    for part in ("鲁山县某建材有限公司年产10万吨石灰项目", "第四十七条第一款", "申请人、利害关系人（申请人）享有要求听证的权利",
                 "五日内", "2026年3月10日"):
        assert part in hearing_right, part
    supplement = pdf_text(case.read(found["permit.supplement"].pdf_id))
    assert found["permit.supplement"].number == f"鲁环审补字〔{YEAR}〕第001号" and found["permit.supplement"].number in supplement
    assert "鲁山县某建材有限公司" in supplement and "1.自行监测方案；" in supplement and "2.排污口规范化设置说明" in supplement
    denial = pdf_text(case.read(found["permit.denial"].pdf_id))
    assert found["permit.denial"].number == case.data()["decision_no"] and found["permit.denial"].number in denial
    for part in ("鲁山县某建材有限公司", "排放浓度不能稳定达标", "2026年3月10日", "2026年5月18日", "第三十八条第二款",
                 "六十日内向鲁山县人民政府申请行政复议", "六个月内向鲁山县人民法院提起行政诉讼"):
        assert part in denial, part


def test_an_extended_permit_is_granted_with_its_documents(db, documents, user):
    from tests import test_process_permit as permit
    case = DocCase(db, user, permit.start(db, user, "hazwaste_collection", "hwr_accept1").instance)
    case.do("check_application", "hwr_accept1", permit.ACCEPT)
    case.do("approve_acceptance", "leadership_chief", permit.APPROVE_ACCEPTANCE)
    case.do("substantive_review", "hwr_review1", permit.REVIEW_PLAIN)
    case.do("notify_hearing_right", "hwr_review1", permit.NO_HEARING_RIGHT)
    case.do("record_hearing_request", "hwr_review1", permit.NO_HEARING)
    case.do("decide_permit", "hwr_decide1", permit.decide("extend", extension_reason="需征求卫生部门意见"))
    case.do("approve_extension", "leadership_deputy", {"extension_approved": True, "extension_opinion": "同意延长十日",
                                                       "extension_notice_on": "2026-03-25"})
    case.do("decide_permit", "hwr_decide1", permit.decide("grant", permit_content="准予从事废矿物油收集经营",
                                                          licence_no="豫危废收鲁〔2026〕1号"))
    case.do("approve_decision", "leadership_deputy", permit.APPROVE_DECISION)
    case.do("deliver_decision", "hwr_deliver1", permit.DELIVER)
    found = case.documents()
    assert set(found) == {"permit.acceptance", "permit.hearing_right", "permit.extension", "permit.approval"}
    assert found["permit.approval"].status == "served"
    extension = pdf_text(case.read(found["permit.extension"].pdf_id))
    for part in ("鲁山县某建材有限公司年产10万吨石灰项目", "因需征求卫生部门意见", "延长十个工作日", "2026年3月25日"):
        assert part in extension, part
    approval = pdf_text(case.read(found["permit.approval"].pdf_id))
    for part in (found["permit.approval"].number, "准予从事废矿物油收集经营", "豫危废收鲁〔2026〕1号", "2026年5月18日",
                 "第三十八条第一款"):
        assert part in approval, part


def test_substitute_performance_documents_state_the_obligation_and_the_budget(db, documents, user,
                                                                             timer_clock):  # noqa: F811
    from tests import test_process_coercion as coercion
    case = DocCase(db, user, coercion.start(db, user).instance)
    case.do("reinspect_compliance", "supervision_investigate1", coercion.REINSPECT)
    case.do("issue_demand_notice", "supervision_notify1", coercion.DEMAND)
    case.do("hear_statement_defense", "supervision_notify1", coercion.DEFENSE)
    # this module's clock stands at 2026-03-02: the case waits until the 催告 period (to 3月17日) is over
    assert case.ready_ids() == []
    fire_after(db, timer_clock, date(2026, 3, 17), case)
    case.do("check_after_demand", "supervision_investigate2", coercion.CHECKED)
    case.do("draft_substitute_plan", "supervision_decide1", coercion.DRAFT)
    case.do("UserTask_legal_review", "legal_review1", coercion.LEGAL_OK)
    case.do("leader_approval", "leadership_chief", {"leader_decision": "approve", "leader_opinion": "同意"})
    case.do("select_substitute_unit", "supervision_execute1", coercion.UNIT)
    case.do("issue_substitute_decision", "supervision_decide1", coercion.DECISION)
    found = case.documents()
    demand = pdf_text(case.read(found["coercion.demand"].pdf_id))
    assert found["coercion.demand"].number == case.data()["demand_notice_no"] and found["coercion.demand"].number in demand
    for part in ("鲁山县某造纸有限公司", "清除排入沙河支流的造纸废液", "鲁环责改字〔2026〕第003号", "2026年2月27日",
                 "2026年3月17日前履行", "陈述和申辩"):
        assert part in demand, part
    decision = pdf_text(case.read(found["coercion.substitute"].pdf_id))
    for part in (found["coercion.substitute"].number, "平顶山某环保工程有限公司", "清除废液约30吨，修复收集池",
                 "人民币48,000.00元（大写：肆万捌仟元整）", "2026年3月19日", "六十日内向鲁山县人民政府申请行政复议"):
        assert part in decision, part


def test_evidence_preserved_before_a_penalty_has_its_notice_and_list(db, documents, user, timer_clock):  # noqa: F811
    from tests import test_process_penalty as penalty
    case = DocCase.start(db, user, "penalty", "supervision_file1")
    case.do("UserTask_register_source", "supervision_file1", register(ORGANIZATION))
    case.do("UserTask_approve_filing", "leadership_chief", {"filing_decision": "file", "case_reason": "擅自排放水污染物案",
            "filed_on": TODAY.isoformat(), "filing_opinion": "同意立案"})
    case.do("UserTask_investigate", "supervision_investigate1", {**penalty.INVESTIGATE, "preservation_requested": True})
    case.do("UserTask_approve_preservation", "leadership_chief", {"preservation_approved": True,
                                                                  "preservation_opinion": "同意"})
    case.do("UserTask_preserve_evidence", "supervision_investigate1", {
        "preserved_on": TODAY.isoformat(), "preservation_officers": ["supervision_investigate1", "supervision_execute1"],
        "preservation_notice_no": "", "preserved_items": "含油废水采样桶2只，存放于本局证物室",
        "preservation_party_confirmed": True, "preservation_files": []})
    notice = case.documents()["penalty.preservation"]
    assert notice.number == case.data()["preservation_notice_no"] == f"鲁环先保字〔{YEAR}〕第001号"
    for text in (pdf_text(case.read(notice.pdf_id)), docx_text(case.read(notice.docx_id))):
        for part in (notice.number, "先行登记保存证据通知书", ORGANIZATION["party_name"], "擅自排放水污染物案",
                     "第五十六条", "2026年3月2日", "七个工作日内", officer_label(user, "supervision_execute1"),
                     "先行登记保存证据清单", "含油废水采样桶2只，存放于本局证物室"):
            assert part in text, part


def test_seizure_and_release_decisions_state_the_measure_the_list_and_the_period(db, documents, user):
    from tests import test_process_seizure as seizure
    case = DocCase.start(db, user, "coercion_seizure", "supervision_investigate1", seizure.PARTY)
    case.do("seizure_request", "supervision_investigate1", seizure.REQUEST)
    case.do("UserTask_legal_review", "legal_review1", seizure.LEGAL_OK)
    case.do("approve_seizure", "leadership_chief", {"seizure_approval": "approve", "approval_opinion": "同意"})
    case.do("execute_seizure", "supervision_execute1", seizure.EXECUTE)
    found = case.documents()
    decision = found["coercion.seizure"]
    assert decision.number == case.data()["seizure_decision_no"] == f"鲁环查扣决字〔{YEAR}〕第001号"
    text = pdf_text(case.read(decision.pdf_id))
    for part in (decision.number, "查封（扣押）决定书", "鲁山县某电镀有限公司", "91410423MA33333333", "鲁山县产业集聚区",
                 "通过暗管排放含铬废水", "《环境保护法》第25条；办法第4条第1项", "予以查封", "期限为30日，自2026年6月1日起算",
                 "六十日内向鲁山县人民政府申请行政复议", "六个月内向鲁山县人民法院提起行政诉讼",
                 "查封、扣押清单", "电镀生产线一条、废水排放泵二台，封条4张", officer_label(user, "supervision_execute1")):
        assert part in text, part
    seizure.manage(case, "release", release_reason="decided")
    case.do("release_seizure", "supervision_execute2", {"release_reason": "decided", "released_on": "2026-06-21",
            "release_record": "当场启封，当事人签字确认"})
    release = case.documents()["coercion.release"]
    assert release.number == case.data()["release_decision_no"] == f"鲁环解查扣字〔{YEAR}〕第001号"
    for text in (pdf_text(case.read(release.pdf_id)), docx_text(case.read(release.docx_id))):
        for part in (release.number, "解除查封（扣押）决定书", "鲁山县某电镀有限公司", decision.number, "2026年6月1日",
                     "已作出处理决定，不再需要查封、扣押", "第二十八条", "2026年6月21日起解除", "当场启封，当事人签字确认"):
            assert part in text, part


def test_the_records_access_approval_form_names_the_case_the_requester_and_the_approval(db, documents, user):
    from tests import test_process_records_access as records
    penalty = Case.start(db, user, "penalty", "supervision_file1")
    access = DocCase(db, user, records.request(db, user, "supervision_review1", penalty.business_key, "staff").instance)
    access.do("approve_chief", "leadership_chief", {"chief_approved": True, "chief_opinion": "同意查阅"})
    form = access.documents()["records_access.approval"]
    assert form.number is None
    for text in (pdf_text(access.read(form.pdf_id)), docx_text(access.read(form.docx_id))):
        for part in ("调阅审批表", access.business_key, penalty.business_key, "本局", "案卷", "查阅", "办理相关案件需要",
                     "第五条", "同意查阅"):
            assert part in text, part


def test_inspection_documents_state_what_was_found_and_the_order(db, documents, user):
    from tests import test_process_inspection as inspection
    case = DocCase(db, user, Case.start(db, user, "inspection", "supervision_file1", inspection.COMPLAINT_START).instance)
    case.do("register_inspection_task", "supervision_file1", inspection.COMPLAINT_TARGET)
    case.do("onsite_inspection", "supervision_investigate2", inspection.onsite(case, "violation",
            inspection_record="活性炭吸附装置停运，VOCs直排"))
    case.do("propose_violation_handling", "supervision_investigate1", {
        **inspection.VIOLATION, "order_correction": True, "correction_requirements": "立即恢复活性炭吸附装置正常运行",
        "correction_deadline": "2026-04-15", "transfer_to_penalty": False})
    case.do("approve_correction_order", "supervision_decide1", {
        "correction_order_date": "2026-04-02", "correction_requirements": "立即恢复活性炭吸附装置正常运行",
        "correction_deadline": "2026-04-15", "correction_remedy_notice": True})
    found = case.documents()
    record = docx_text(case.read(found["inspection.record"].docx_id))
    for part in ("鲁山县丁塑料制品厂", "2026年4月1日09:30至11:00", officer_label(user, "supervision_investigate1"),
                 "活性炭吸附装置停运，VOCs直排"):
        assert part in record, part
    order = pdf_text(case.read(found["correction"].pdf_id))
    assert found["correction"].number == case.data()["correction_order_no"] == f"鲁环责改字〔{YEAR}〕第001号"
    for part in (found["correction"].number, "鲁山县丁塑料制品厂", "VOCs未经处理直接排放", "《大气污染防治法》第20条第2款",
                 "2026年4月15日前改正", "2026年4月2日", "六个月内向鲁山县人民法院提起行政诉讼"):
        assert part in order, part


def test_a_malformed_document_declaration_is_refused_at_deploy(db, org):
    from engine.deploy import repository
    from engine.spec.problems import ModelInvalid
    text = (ROOT / "bpmn" / "inspection.bpmn").read_text(encoding="utf-8")
    broken = text.replace('name="document" value="correction"', 'name="document" value="责令 改正"')
    with db.transaction() as session, pytest.raises(ModelInvalid) as refused:
        repository.deploy(session, [repository.Source("inspection.bpmn", broken.encode())], source="cli")
    assert any("文书模板标识“责令 改正”只能由字母、数字、点和下划线组成" in p.message for p in refused.value.problems)
