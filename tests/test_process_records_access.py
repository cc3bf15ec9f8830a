"""bpmn/records_access.bpmn (行政执法记录信息调阅, 调阅监督制度第四—八条): each kind of requester with
its approver, and the 查阅登记簿 entry the system writes for every approved access."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.access.identity import NotPermitted
from engine.inbox import tasks

from recording.evidence import AccessLogEntry, access_log
from tests import test_process_penalty as pen
from tests.casework import Case

PROVIDE = {"provided_on": "2026-06-02", "seen_or_copied": "立案审批表、现场检查笔录、执法记录仪视频1段",
           "in_archive_room": True, "confidentiality_told": True}
ARCHIVE = {"archived_on": "2026-06-03"}


def handled_case(db, user) -> Case:
    """A penalty case handled by supervision_file1, leadership_chief and supervision_investigate1."""
    case = pen.start_case(db, user, pen.CITIZEN)
    case.do("UserTask_investigate", "supervision_investigate1", pen.INVESTIGATE)
    return case


def request(db, user, username, case_no, kind, mode="read", materials="case_file", **extra) -> Case:
    return Case.start(db, user, "records_access", username, {
        "requester_kind": kind, "requester_name": extra.pop("requester_name", ""), "requester_unit": extra.pop("unit", ""),
        "requester_id_no": "", "case_no": case_no, "materials": materials, "access_mode": mode,
        "purpose": "办理相关案件需要", "request_letter": [], **extra})


def entries(db, access: Case) -> list[AccessLogEntry]:
    with db.reading() as session:
        return list(session.scalars(select(AccessLogEntry).where(AccessLogEntry.request_id == access.id)))


def provide_and_archive(access: Case) -> None:
    access.do("provide_access", "supervision_records1", PROVIDE, group="supervision.records")
    archive(access)


def archive(access: Case) -> None:
    access.do("archive_request", "supervision_records1", ARCHIVE, group="supervision.records")
    assert access.status == "completed" and access.ended() == ["access_archived"]


def test_the_case_handler_reads_directly_and_the_register_says_so(db, deployed, user):
    penalty = handled_case(db, user)
    access = request(db, user, "supervision_investigate1", penalty.business_key, "handler", requester_name="冒名")
    assert access.ready_ids() == ["provide_access"]                      # 第四条: no approval to read
    provide_and_archive(access)
    [entry] = entries(db, access)
    assert entry.business_key == penalty.business_key and entry.instance_id == penalty.id
    assert entry.action == "read" and entry.attachment_id is None
    assert entry.requester.startswith(user("supervision_investigate1").full_name)   # the requester is who asked
    assert "第四条" in entry.approved_by and "现场检查笔录" in entry.scope
    assert entry.username == "supervision_records1"                       # entered when the records office provided it
    with db.reading() as session:
        assert entry.id in {e.id for e in access_log(session, user("legal_head"))}


def test_copying_by_the_handler_needs_the_legal_section_head(db, deployed, user):
    penalty = handled_case(db, user)
    access = request(db, user, "supervision_file1", penalty.business_key, "handler", mode="copy")
    task = access.task("approve_copy")
    assert task.candidate_groups == "legal.head"
    access.do("approve_copy", "legal_head", {"copy_approved": True, "copy_opinion": "同意复制"}, group="legal.head")
    provide_and_archive(access)
    [entry] = entries(db, access)
    assert entry.action == "copy" and "法制股负责人" + user("legal_head").full_name in entry.approved_by


def test_someone_elses_case_file_is_not_opened_without_the_chiefs_approval(db, deployed, user):
    penalty = handled_case(db, user)
    # supervision_investigate2 never worked on the case: not its handler, whatever the form says
    access = request(db, user, "supervision_investigate2", penalty.business_key, "handler")
    assert access.ready_ids() == ["approve_chief"]
    data = access.data()
    assert data["requester_kind"] == "staff" and "第五条" in data["access_note"]
    access.do("approve_chief", "leadership_chief", {"chief_approved": False, "chief_opinion": "无特殊理由"},
              group="leadership.chief")
    assert access.ready_ids() == ["archive_request"]
    assert "不予批准" in access.data()["refusal_reason"]
    archive(access)
    assert entries(db, access) == []                                     # nothing was seen, nothing registered


def test_other_staff_read_with_the_chiefs_approval(db, deployed, user):
    penalty = handled_case(db, user)
    access = request(db, user, "supervision_review1", penalty.business_key, "staff")
    access.do("approve_chief", "leadership_chief", {"chief_approved": True, "chief_opinion": "同意"}, group="leadership.chief")
    provide_and_archive(access)
    [entry] = entries(db, access)
    assert "局主要负责人" in entry.approved_by and "第五条" in entry.approved_by


def test_an_authority_reads_after_its_letter_and_id_are_verified(db, deployed, user):
    penalty = handled_case(db, user)
    refused = request(db, user, "supervision_records1", penalty.business_key, "authority",
                      requester_name="张警官", unit="鲁山县公安局", materials="recordings", mode="copy")
    refused.do("verify_documents", "supervision_records1", {"requester_name": "张警官", "letter_checked": True,
               "id_checked": False, "is_lawyer": False, "verification_files": []}, group="supervision.records")
    assert refused.ready_ids() == ["archive_request"] and "第六条" in refused.data()["refusal_reason"]
    archive(refused)
    assert entries(db, refused) == []

    access = request(db, user, "supervision_records1", penalty.business_key, "authority",
                     requester_name="张警官", unit="鲁山县公安局", materials="recordings", mode="copy")
    access.do("verify_documents", "supervision_records1", {"requester_name": "张警官", "letter_checked": True,
              "id_checked": True, "is_lawyer": False, "verification_files": []})
    assert access.ready_ids() == ["provide_access"]                      # 第六条: verified, no further approval
    provide_and_archive(access)
    [entry] = entries(db, access)
    assert entry.requester == "张警官（鲁山县公安局）" and entry.action == "copy" and "第六条" in entry.approved_by


def test_the_partys_lawyer_sees_the_concluding_documents_with_the_chiefs_approval(db, deployed, user):
    penalty = handled_case(db, user)
    lawyer = {"requester_name": "孙律师", "letter_checked": True, "id_checked": True, "is_lawyer": True,
              "verification_files": []}
    access = request(db, user, "supervision_records1", penalty.business_key, "party",
                     requester_name="孙律师", unit="河南某律师事务所", materials="case_file")
    assert access.data()["materials"] == "conclusive"                    # 第七条: 结论性文件及音视频资料 only
    access.do("verify_documents", "supervision_records1", {**lawyer, "lawyer_docs_checked": False})
    assert access.ready_ids() == ["archive_request"]                     # no 委托书/授权书/执业证: refused
    archive(access)

    access = request(db, user, "supervision_records1", penalty.business_key, "party",
                     requester_name="孙律师", unit="河南某律师事务所", materials="case_file")
    access.do("verify_documents", "supervision_records1", {**lawyer, "lawyer_docs_checked": True})
    access.do("approve_chief", "leadership_chief", {"chief_approved": True, "chief_opinion": "同意查阅结论性文件"})
    provide_and_archive(access)
    [entry] = entries(db, access)
    assert entry.requester.startswith("孙律师") and "第七条" in entry.approved_by


def test_another_regions_agency_gets_copies_from_the_case_handler(db, deployed, user):
    penalty = handled_case(db, user)
    access = request(db, user, "supervision_records1", penalty.business_key, "external_agency", mode="send",
                     requester_name="平顶山市某区环保局", unit="平顶山市某区环保局")
    access.do("approve_chief", "leadership_chief", {"chief_approved": True, "chief_opinion": "同意"})
    task = access.task("send_copies")
    assert set(task.candidate_users.split(",")) >= {"supervision_file1", "supervision_investigate1"}   # 第八条: 案件主办人
    access.do("send_copies", "supervision_investigate1", {"send_way": "send", "provided_on": "2026-06-05",
              "seen_or_copied": "行政处罚决定书复印件一份"})
    archive(access)
    [entry] = entries(db, access)
    assert entry.action == "send" and entry.username == "supervision_investigate1" and "第八条" in entry.approved_by


def test_an_unknown_case_number_is_refused(db, deployed, user):
    access = request(db, user, "supervision_review1", "不存在的编号", "staff")
    assert access.ready_ids() == ["archive_request"] and "不存在" in access.data()["refusal_reason"]
    archive(access)


def test_the_register_page_shows_who_asked_who_approved_and_what_was_copied(db, deployed, user, tmp_path):
    from tests.webclient import Browser, make_app
    penalty = handled_case(db, user)
    access = request(db, user, "supervision_file1", penalty.business_key, "handler", mode="copy")
    access.do("approve_copy", "legal_head", {"copy_approved": True, "copy_opinion": "同意复制"})
    provide_and_archive(access)
    browser = Browser(make_app(db, tmp_path))
    assert browser.login("legal_head").status_code == 302
    page = browser.get("/evidence/access-log").get_data(as_text=True)
    assert user("supervision_file1").full_name + "（本局）" in page
    assert "现场检查笔录" in page and "复制" in page and "批准复制（调阅监督制度第四条）" in page


def test_nobody_approves_their_own_request(db, deployed, user):
    penalty = handled_case(db, user)
    own = request(db, user, "leadership_chief", penalty.business_key, "staff")   # the chief asks to read a file
    task = own.task("approve_chief")
    with db.reading() as session:
        assert task.id not in {t.id for t in tasks.inbox(session, user("leadership_chief"))}
    with pytest.raises(NotPermitted, match="查处分离：本案由您发起（申请调阅），不能办理“局主要负责人审批”"):
        with db.transaction() as session:
            tasks.claim(session, task.id, user("leadership_chief"))
    copy = request(db, user, "legal_head", penalty.business_key, "staff", mode="copy")
    assert copy.ready_ids() == ["approve_chief"]                         # not the handler: the chief decides
    copy.do("approve_chief", "leadership_chief", {"chief_approved": True, "chief_opinion": "同意"}, group="leadership.chief")


def test_the_annual_review_opens_each_finished_case_s_file(db, deployed, user, tmp_path):
    from paperwork import case_file
    from tests.webclient import Browser, make_app
    penalty = handled_case(db, user)
    access = request(db, user, "supervision_investigate1", penalty.business_key, "handler")
    provide_and_archive(access)                                          # a finished case of this year
    browser = Browser(make_app(db, tmp_path))
    assert browser.login("legal_head").status_code == 302
    page = browser.get("/evidence/report").get_data(as_text=True)
    row = page[page.index(access.business_key):]
    assert "执法记录调阅" in row[:400] and "未组卷，去组卷" in row[:600]
    assert penalty.business_key not in page[page.index('id="filed"'):]   # still running: not in the review
    with db.transaction() as session:
        build = case_file.request(session, access.id, user("supervision_records1"))
    case_file.build(db, build.id)
    page = browser.get("/evidence/report").get_data(as_text=True)
    link = f"/case-files/{build.id}/pdf"
    assert link in page
    opened = browser.get(link)
    assert opened.status_code == 200 and opened.data.startswith(b"%PDF")
