"""笔录 made on demand during 调查取证 (paperwork/notes.py): a penalty case run through the
engine, two 调查询问笔录 and a 现场检查（勘察）笔录 issued at UserTask_investigate, read
back with python-docx and as PDF text, listed with the case's 文书 and bound into the 案卷."""
from __future__ import annotations

import io
import json

import docx as python_docx
import pytest

from engine.deploy import repository
from engine.spec import forms
from engine.spec.problems import ModelInvalid
from engine.access.identity import NotPermitted
from engine.store.models import Attachment, AuditEvent
from paperwork import case_file, issuing, notes
from tests.conftest import ROOT
from tests.documentwork import docx_text, pdf_layout, pdf_pages, pdf_text
from tests.test_documents_cases import DocCase, documents, officer_label  # noqa: F401  (fixture)
from tests.test_process_penalty import timer_clock  # noqa: F401  (the cases' dates need the clock)
from tests.test_process_penalty import INVESTIGATE, LEAD, ORGANIZATION, TODAY, register

INVESTIGATOR = "supervision_investigate1"
OFFICERS = ["supervision_investigate1", "supervision_investigate2"]


def inquiry(user, name: str, answers: str) -> dict:
    return {"inquiry_date": TODAY.isoformat(), "inquiry_time": "09:30至10:40", "inquiry_place": "本局第二询问室",
            "interviewee_name": name, "interviewee_id_number": "410423198001010011",
            "interviewee_position": "鲁山县某化工有限公司 环保负责人", "interviewee_phone": "13800000000",
            "interviewee_relation": "当事人员工", "inquiry_officers": [user(u).id for u in OFFICERS],
            "inquiry_record": f"问：你单位废水排向何处？\n答：{answers}",
            "interviewee_note": "以上笔录我已看过，与我所说相符。"}


def site(user) -> dict:
    return {"site_date": TODAY.isoformat(), "site_time": "14:00至15:30", "site_place": "鲁山县产业集聚区纬二路厂区东侧排放口",
            "site_unit": ORGANIZATION["party_name"], "site_present": "张某（法定代表人）",
            "site_officers": [user(u).id for u in OFFICERS],
            "site_record": "排放口有黑色含油废水外排，现场采样两瓶并拍照六张。", "site_party_note": "以上记录属实。"}


def at_investigation(db, user) -> DocCase:
    case = DocCase.start(db, user, "penalty", "supervision_file1")
    case.do("UserTask_register_source", "supervision_file1", register(ORGANIZATION), group="supervision.file")
    case.do("UserTask_approve_filing", "leadership_chief", {"filing_decision": "file", "case_reason": "擅自排放水污染物案",
            "filed_on": TODAY.isoformat(), "filing_opinion": "同意立案"}, group=LEAD)
    return case


def issue(db, user, case, key, values):
    with db.transaction() as session:
        return notes.issue(session, case.task("UserTask_investigate").id, user(INVESTIGATOR), key, values)


def test_notes_are_issued_read_back_listed_and_bound_into_the_case_file(db, documents, user, timer_clock):  # noqa: F811
    case = at_investigation(db, user)
    task = case.task("UserTask_investigate")
    with db.reading() as session:
        offered = notes.offers(session, task.id, user(INVESTIGATOR))
    assert [(o.key, o.title, o.made, o.error) for o in offered] == [
        ("penalty.site_inspection", "现场检查（勘察）笔录", [], None), ("penalty.inquiry", "调查询问笔录", [], None)]
    assert offered[0].values["site_unit"] == ORGANIZATION["party_name"]  # the case's party, to be corrected if need be
    assert {u.username for u in offered[1].officers["inquiry_officers"]} >= set(OFFICERS)

    first = issue(db, user, case, "penalty.inquiry", inquiry(user, "李某", "经厂区东侧暗管排入河道"))
    second = issue(db, user, case, "penalty.inquiry", inquiry(user, "王某", "不清楚，由环保负责人管理"))
    visit = issue(db, user, case, "penalty.site_inspection", site(user))
    assert (first.serial, second.serial, visit.serial) == (1, 2, 1)
    assert first.title == "调查询问笔录（李某）" and second.title == "调查询问笔录（王某）"
    assert {first.status, second.status} == {"issued"} and len({first.sha256, second.sha256}) == 2

    for document, person, answer in ((first, "李某", "经厂区东侧暗管排入河道"), (second, "王某", "不清楚，由环保负责人管理")):
        for text in (docx_text(case.read(document.docx_id)), pdf_text(case.read(document.pdf_id))):
            for part in ("鲁山县环境保护局", "调查询问笔录", case.business_key, "擅自排放水污染物案",
                         ORGANIZATION["party_name"], person, "问：你单位废水排向何处？", f"答：{answer}",
                         f"{TODAY.year}年{TODAY.month}月{TODAY.day}日09:30至10:40", "本局第二询问室",
                         officer_label(user, OFFICERS[0]), officer_label(user, OFFICERS[1]), "申请回避"):
                assert part in text, (document.title, part)
            assert "＿＿" not in text, document.title
    record = pdf_text(case.read(visit.pdf_id))
    for part in ("现场检查（勘察）笔录", case.business_key, "纬二路厂区东侧排放口", "张某（法定代表人）",
                 "现场采样两瓶并拍照六张", f"{TODAY.year}年{TODAY.month}月{TODAY.day}日14:00至15:30",
                 officer_label(user, OFFICERS[0]), officer_label(user, OFFICERS[1]), "以上记录属实"):
        assert part in record, part

    with db.reading() as session:
        listed = [d.title for d in issuing.of_case(session, case.id)]
        audit = [json.loads(e.details) for e in session.query(AuditEvent).filter_by(instance_id=case.id,
                                                                                    action="document_issue")]
    assert ["调查询问笔录（李某）", "调查询问笔录（王某）", "现场检查（勘察）笔录（鲁山县产业集聚区纬二路厂区东侧排放口）"] == \
        [t for t in listed if "笔录" in t]
    assert {a["sha256"] for a in audit} >= {first.sha256, second.sha256, visit.sha256}

    # the step is completed as usual: the notes asked for nothing of it
    case.do("UserTask_investigate", INVESTIGATOR, INVESTIGATE, group="supervision.investigate")
    with db.transaction() as session:
        build = case_file.request(session, case.id, user("supervision_records1"))
    case_file.build(db, build.id)
    with db.reading() as session:
        done = case_file.latest(session, case.id)
        assert done.status == "done", done.error
        combined = case.read(done.pdf_id)
    pages = pdf_pages(combined)
    rows = [line.split() for line in pdf_layout(combined, page=1).splitlines()
            if line.strip()[:1].isdigit() and len(line.split()) >= 3]
    titles = [next(cell for cell in row if "笔录" in cell or "审批表" in cell) for row in rows
              if any("笔录" in cell or "审批表" in cell for cell in row)]
    expected = ["立案审批表", "现场检查（勘察）笔录（鲁山县产业集聚区", "调查询问笔录（李某）", "调查询问笔录（王某）"]
    assert len(titles) == 4 and all(t.startswith(e) for t, e in zip(titles, expected)), titles  # long titles wrap
    for row, person in ((r, p) for r in rows for p in ("李某", "王某") if f"调查询问笔录（{p}）" in r):
        assert person in pages[int(row[-1]) - 1], person  # the listed page is where that note begins


def test_a_note_needs_its_fields_and_two_certified_officers(db, documents, user, timer_clock):  # noqa: F811
    case = at_investigation(db, user)
    incomplete = {**inquiry(user, "", ""), "inquiry_officers": [user(INVESTIGATOR).id]}
    with pytest.raises(forms.FormInvalid) as refused:
        issue(db, user, case, "penalty.inquiry", incomplete)
    assert set(refused.value.errors) >= {"interviewee_name", "inquiry_officers"}
    assert "至少" in refused.value.errors["inquiry_officers"]
    outside = {**inquiry(user, "李某", "是"), "inquiry_officers": [user(INVESTIGATOR).id, user("supervision_file1").id]}
    with pytest.raises(forms.FormInvalid) as refused:  # certified, but not of the step's post
        issue(db, user, case, "penalty.inquiry", outside)
    assert "不是持有" in refused.value.errors["inquiry_officers"] and "指定岗位人员" in refused.value.errors["inquiry_officers"]
    with db.transaction() as session:
        session.merge(user(OFFICERS[1])).cert_no = None
    with pytest.raises(forms.FormInvalid) as refused:  # the certificate has left the registry
        issue(db, user, case, "penalty.inquiry", inquiry(user, "李某", "是"))
    assert "不是持有" in refused.value.errors["inquiry_officers"]
    with pytest.raises(issuing.DocumentError, match="此步骤不制作该笔录"):
        issue(db, user, case, "penalty.decision", inquiry(user, "李某", "是"))
    with db.reading() as session:
        assert [d for d in issuing.of_case(session, case.id) if "笔录" in d.title] == []


def test_a_preview_shows_what_is_typed_so_far(db, documents, user, timer_clock):  # noqa: F811
    case = at_investigation(db, user)
    with db.reading() as session:
        title, data = notes.preview(session, case.task("UserTask_investigate").id, user(INVESTIGATOR),
                                    "penalty.inquiry", {"interviewee_name": "赵某", "inquiry_record": "问：姓名？\n答：赵某"})
    text = docx_text(data)
    assert title == "调查询问笔录" and "赵某" in text and "问：姓名？" in text and "＿＿" in text  # the rest blank


def _edited(word: bytes, *lines: str) -> bytes:
    edited = python_docx.Document(io.BytesIO(word))
    for line in lines:
        edited.add_paragraph(line)
    out = io.BytesIO()
    edited.save(out)
    return out.getvalue()


def test_an_edited_word_note_is_issued_once_then_the_form_again(db, documents, user, timer_clock):  # noqa: F811
    case = at_investigation(db, user)
    task_id = case.task("UserTask_investigate").id
    with db.reading() as session:
        _, word = notes.preview(session, task_id, user(INVESTIGATOR), "penalty.inquiry", {})
    # typed in Word: the questions and answers, and a placeholder of the form left in on purpose
    edited = _edited(word, "问：排污口设在何处？", "答：厂区东侧，已于上月封堵。", "被询问人：{{ interviewee_name }}")
    with db.transaction() as session:
        draft = notes.upload_draft(session, task_id, user(INVESTIGATOR), "penalty.inquiry", io.BytesIO(edited),
                                   "询问笔录修改.docx")
    with db.reading() as session:
        offered = {o.key: o for o in notes.offers(session, task_id, user(INVESTIGATOR))}
        assert offered["penalty.inquiry"].draft.id == draft.id and offered["penalty.site_inspection"].draft is None
        record = {f.id: f for f in offered["penalty.inquiry"].form.fields}["inquiry_record"]
        assert not record.required and "修改稿" in record.label  # the answers are in the draft
        assert {f.id: f for f in offered["penalty.site_inspection"].form.fields}["site_record"].required
        _, previewed = notes.preview(session, task_id, user(INVESTIGATOR), "penalty.inquiry", {})
    assert "已于上月封堵" in docx_text(previewed)

    first = issue(db, user, case, "penalty.inquiry", {**inquiry(user, "李某", ""), "inquiry_record": ""})
    text = pdf_text(case.read(first.pdf_id))
    assert "问：排污口设在何处？" in text and "答：厂区东侧，已于上月封堵。" in text and "被询问人：李某" in text
    assert first.draft_id == draft.id
    with db.reading() as session:  # used: the next note is made from the form again
        assert notes.pending_draft(session, task_id, "penalty.inquiry") is None
        events = session.query(AuditEvent).filter_by(instance_id=case.id, action="document_draft").all()
    assert [json.loads(e.details)["file"] for e in events] == ["询问笔录修改.docx"]
    with pytest.raises(forms.FormInvalid) as refused:  # the form again: its record is asked for again
        issue(db, user, case, "penalty.inquiry", {**inquiry(user, "王某", ""), "inquiry_record": ""})
    assert "inquiry_record" in refused.value.errors
    second = issue(db, user, case, "penalty.inquiry", inquiry(user, "王某", "不清楚"))
    assert "已于上月封堵" not in pdf_text(case.read(second.pdf_id)) and second.draft_id is None


def test_a_note_draft_must_be_a_word_file_the_renderer_can_fill(db, documents, user, timer_clock):  # noqa: F811
    case = at_investigation(db, user)
    task_id = case.task("UserTask_investigate").id
    with db.reading() as session:
        _, word = notes.preview(session, task_id, user(INVESTIGATOR), "penalty.inquiry", {})
    refusals = [(b"%PDF-1.4", "笔录.pdf", "请上传 Word 文档"), (b"not a zip", "笔录.docx", "无法使用"),
                (_edited(word, "{{ interviewee_name "), "笔录.docx", "无法使用")]
    for content, name, message in refusals:
        with db.transaction() as session, pytest.raises(issuing.DocumentError, match=message):
            notes.upload_draft(session, task_id, user(INVESTIGATOR), "penalty.inquiry", io.BytesIO(content), name)
    with db.transaction() as session, pytest.raises(issuing.DocumentError, match="此步骤不制作该笔录"):
        notes.upload_draft(session, task_id, user(INVESTIGATOR), "penalty.decision", io.BytesIO(word), "a.docx")
    with db.transaction() as session, pytest.raises(NotPermitted):  # not a holder of the step's post
        notes.upload_draft(session, task_id, user("supervision_file1"), "penalty.inquiry", io.BytesIO(word), "a.docx")
    with db.reading() as session:
        assert notes.pending_draft(session, task_id, "penalty.inquiry") is None
        assert session.query(Attachment).filter_by(task_id=task_id).count() == 0


def test_deploy_refuses_an_unknown_note_key(db, org):
    text = (ROOT / "bpmn" / "penalty.bpmn").read_text(encoding="utf-8")
    broken = text.replace('value="penalty.site_inspection,penalty.inquiry"', 'value="penalty.inquiry,penalty.interview"')
    assert broken != text
    with db.transaction() as session, pytest.raises(ModelInvalid) as refused:
        repository.deploy(session, [repository.Source("penalty.bpmn", broken.encode())], source="cli")
    messages = [p.message for p in refused.value.problems]
    assert any("笔录模板标识“penalty.interview”不可用" in m for m in messages), messages
    assert not any("penalty.inquiry”" in m for m in messages)
