"""The officers' inbox (issue #4): tabs, sort/filter/search/pages, claim, 转办, 退回, comments,
attachments, notifications, the case page and its permissions — through the engine and the web."""
from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from engine.access.identity import NotPermitted
from engine.deploy import repository
from engine.admin import management
from engine.execution import runtime
from engine.inbox import attachments, case_view, notices, tasks
from engine.store import search_index
from engine.store.models import Attachment, AuditEvent, CaseSearchGram, HumanTask, Notification, TaskCandidate
from tests.conftest import FIXTURES
from tests.webclient import Browser, csrf_token, make_app

PREPARE = {"party_name": "鲁山县某化工有限公司", "party_type": "organization", "witness_count": "2",
           "fine_amount": "60000", "inspected_on": "2026-03-02"}


@pytest.fixture
def flow(db, org):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "inbox"]), source="cli")


def start(db, user, title=None, username="supervision_investigate1"):
    with db.transaction() as session:
        instance = runtime.start(session, "review_flow", user(username), {"party_name": title} if title else {})
        return instance, tasks.ready_tasks(session, instance.id)[0]


def tab(db, user, username, name, **kw):
    with db.reading() as session:
        return tasks.task_page(session, user(username), tasks.TaskQuery(tab=name, **kw))


def set_due(session, task_ids, due):
    """A due date as if the model had computed it (the row and its 岗位待办 index entries)."""
    session.execute(update(HumanTask).where(HumanTask.id.in_(task_ids)).values(due_at=due))
    session.execute(update(TaskCandidate).where(TaskCandidate.task_id.in_(task_ids)).values(due_key=due))


def keys(page):
    return [t.business_key for t in page.rows]


def events(db, instance_id, action):
    with db.reading() as session:
        return [json.loads(e.details) | {"actor": e.actor} for e in session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id, AuditEvent.action == action)
            .order_by(AuditEvent.id))]


def complete_prepare(db, user, task_id, username="supervision_investigate1", **values):
    with db.transaction() as session:
        tasks.complete(session, task_id, user(username), {**PREPARE, **values})
    with db.reading() as session:
        return tasks.ready_tasks(session, session.get(HumanTask, task_id).instance_id)[0]


# --- the three tabs ------------------------------------------------------------------------------

def test_an_unclaimed_task_is_in_the_post_tab_then_mine_after_claiming_then_done(db, user, flow):
    instance, task = start(db, user)
    assert keys(tab(db, user, "supervision_investigate1", "group")) == [instance.business_key]
    assert keys(tab(db, user, "supervision_investigate2", "group")) == [instance.business_key]
    assert keys(tab(db, user, "supervision_investigate1", "mine")) == []
    with db.transaction() as session:
        tasks.claim(session, task.id, user("supervision_investigate1"))
    assert keys(tab(db, user, "supervision_investigate1", "mine")) == [instance.business_key]
    assert keys(tab(db, user, "supervision_investigate2", "group")) == []  # claimed: the colleague no longer sees it
    with db.reading() as session:
        assert tasks.counts(session, user("supervision_investigate1")) == {"mine": 1, "group": 0, "overdue": 0, "today": 0}
    complete_prepare(db, user, task.id)
    assert keys(tab(db, user, "supervision_investigate1", "done")) == [instance.business_key]
    assert keys(tab(db, user, "supervision_investigate1", "mine")) == []
    assert keys(tab(db, user, "supervision_review1", "group")) == [instance.business_key]


def test_search_filter_sort_and_pages(db, user, flow):
    made = [start(db, user, title=name)[0] for name in ("甲化工厂", "乙造纸厂", "丙化工厂", "丁砖厂", "戊化工厂")]
    by = "supervision_investigate1"
    assert sorted(keys(tab(db, user, by, "group", q="化工"))) == sorted(
        i.business_key for i in made if "化工" in i.title)
    assert keys(tab(db, user, by, "group", q=made[3].business_key)) == [made[3].business_key]
    assert keys(tab(db, user, by, "group", q="%")) == []  # LIKE wildcards are searched literally
    assert keys(tab(db, user, by, "group", process="other_process")) == []
    assert len(keys(tab(db, user, by, "group", process="review_flow"))) == 5
    desc = keys(tab(db, user, by, "group", sort="business_key", desc=True))
    assert desc == sorted(desc, reverse=True) and len(desc) == 5
    first, second, third = (tab(db, user, by, "group", sort="business_key", per_page=2, page=p) for p in (1, 2, 3))
    assert first.total == 5 and first.pages == 3
    assert keys(first) + keys(second) + keys(third) == sorted(desc)


def test_overdue_and_due_today_by_the_beijing_day(db, user, flow):
    late, _ = start(db, user, title="超期")
    today, _ = start(db, user, title="今日")
    later, _ = start(db, user, title="以后")
    now = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)  # 18:00 in Beijing
    with db.transaction() as session:
        for instance, due in ((late, now - timedelta(minutes=1)), (today, datetime(2026, 3, 2, 15, 59, tzinfo=timezone.utc)),
                              (later, datetime(2026, 3, 2, 16, 0, tzinfo=timezone.utc))):  # 00:00 on 3 March in Beijing
            set_due(session, select(HumanTask.id).where(HumanTask.instance_id == instance.id), due)
    assert tasks.due_status(now - timedelta(minutes=1), now) == "overdue"
    assert tasks.due_status(datetime(2026, 3, 2, 15, 59, tzinfo=timezone.utc), now) == "today"
    assert tasks.due_status(datetime(2026, 3, 2, 16, 0, tzinfo=timezone.utc), now) is None
    with db.reading() as session:
        u = user("supervision_investigate1")
        page = tasks.task_page(session, u, tasks.TaskQuery(tab="group", due="overdue"), now=now)
        assert keys(page) == [late.business_key]
        page = tasks.task_page(session, u, tasks.TaskQuery(tab="group", due="today"), now=now)
        assert keys(page) == [today.business_key]
        assert tasks.counts(session, u, now=now) == {"mine": 0, "group": 3, "overdue": 1, "today": 1}


# --- 转办 and 退回 ----------------------------------------------------------------------------------

def test_delegating_hands_the_task_to_a_colleague_of_the_same_post_with_a_reason(db, user, flow):
    instance, task = start(db, user)
    with db.transaction() as session:
        tasks.claim(session, task.id, user("supervision_investigate1"))
    with db.reading() as session:
        names = [u.username for u in tasks.colleagues(session, tasks.get(session, task.id), user("supervision_investigate1"))]
    # the 调查岗 holders: the other investigator and the two 执行岗 officers who also hold 调查岗
    assert names == ["supervision_execute1", "supervision_execute2", "supervision_investigate2"]
    for to, reason, message in (("supervision_review1", "出差", "同一岗位"), ("supervision_investigate2", " ", "请填写转办理由"),
                                ("nobody", "出差", "同一岗位")):
        with pytest.raises(tasks.ActionInvalid, match=message), db.transaction() as session:
            tasks.delegate(session, task.id, user("supervision_investigate1"), to, reason)
    with db.transaction() as session:
        tasks.delegate(session, task.id, user("supervision_investigate1"), "supervision_investigate2", "本人出差，请代为办理")
    assert keys(tab(db, user, "supervision_investigate2", "mine")) == [instance.business_key]
    assert keys(tab(db, user, "supervision_investigate1", "mine")) == []
    assert keys(tab(db, user, "supervision_investigate1", "group")) == []
    with pytest.raises(tasks.TaskClaimed), db.transaction() as session:
        tasks.complete(session, task.id, user("supervision_investigate1"), PREPARE)
    [event] = events(db, instance.id, "delegate")
    assert event["actor"] == "supervision_investigate1" and event["to"] == "supervision_investigate2"
    assert event["reason"] == "本人出差，请代为办理"
    with db.reading() as session:
        found = notices.for_user(session, user("supervision_investigate2"))
        assert any("转办给您" in i.text and "本人出差" in i.text for i in found.items)
        assert notices.unread_count(session, user("supervision_investigate2")) == 1
    with db.transaction() as session:
        notices.mark_seen(session, user("supervision_investigate2"))
    with db.reading() as session:
        assert notices.unread_count(session, user("supervision_investigate2")) == 0


def test_the_task_page_shows_the_last_opinion_of_every_earlier_step_in_the_order_last_done(db, user, flow):
    instance, task = start(db, user)
    reviewer = user("supervision_review1")
    for opinion in ("缺少询问笔录", "缺少现场照片"):  # round the loop twice: 调查取证 → 案件审查 → back
        check = complete_prepare(db, user, task.id)
        with db.transaction() as session:
            tasks.complete(session, check.id, reviewer, {"check_outcome": "reinvestigate", "check_opinion": opinion})
        with db.reading() as session:
            [task] = tasks.ready_tasks(session, instance.id)
    check = complete_prepare(db, user, task.id, fine_amount="80000")
    with db.reading() as session:
        steps = case_view.task_summary(session, check, reviewer).steps
        # 案件审查 was last done before 调查取证 was: its last opinion first, the amount of the last 调查取证
        assert [(s.task.element_id, dict(s.values).get("审查意见") or dict(s.values).get("拟罚款金额"))
                for s in steps] == [("Task_check", "缺少现场照片"), ("Task_prepare", "80000.00 元")]
        done = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                       HumanTask.element_id == "Task_check",
                                                       HumanTask.state == "completed")
                               .order_by(HumanTask.completed_at)).all()
        first_check = case_view.task_summary(session, done[0], reviewer).steps  # as it stood then
        assert [(s.task.element_id, s.task.completed_at <= done[0].completed_at) for s in first_check] == [
            ("Task_prepare", True)]


def test_returning_sends_the_case_back_along_the_modelled_path(db, user, flow):
    instance, task = start(db, user)
    check = complete_prepare(db, user, task.id)
    assert check.element_id == "Task_check"
    with db.reading() as session:
        view = tasks.view(session, check.id, user("supervision_review1"))
        assert view.return_path.field.id == "check_outcome" and view.return_path.value == "reinvestigate"
    with pytest.raises(tasks.ActionInvalid, match="退回理由"), db.transaction() as session:
        tasks.send_back(session, check.id, user("supervision_review1"), "")
    with db.transaction() as session:
        tasks.send_back(session, check.id, user("supervision_review1"), "缺少询问笔录")
    with db.reading() as session:
        [again] = tasks.ready_tasks(session, instance.id)
        data = runtime.case_data(runtime.load(session, session.get(type(instance), instance.id), None).workflow)
    assert again.element_id == "Task_prepare"
    assert data["check_outcome"] == "reinvestigate" and data["check_opinion"] == "缺少询问笔录"
    assert keys(tab(db, user, "supervision_review1", "group")) == []
    assert keys(tab(db, user, "supervision_investigate1", "group")) == [instance.business_key]
    [event] = events(db, instance.id, "return")
    assert event["actor"] == "supervision_review1" and event["reason"] == "缺少询问笔录"
    with pytest.raises(tasks.TaskAlreadyCompleted), db.transaction() as session:
        tasks.send_back(session, check.id, user("supervision_review1"), "再退一次")


def test_a_task_without_a_modelled_return_path_cannot_be_returned(db, user, flow):
    _, task = start(db, user)
    with pytest.raises(tasks.ActionInvalid, match="没有退回路径"), db.transaction() as session:
        tasks.send_back(session, task.id, user("supervision_investigate1"), "理由")


def test_comments_on_a_task_and_on_the_case_are_audited_and_on_the_case_page(db, user, flow):
    instance, task = start(db, user)
    with db.transaction() as session:
        tasks.add_comment(session, None, user("supervision_investigate1"), "需补充现场照片", task_id=task.id)
        tasks.add_comment(session, instance.id, user("leadership_chief"), "抓紧办理")
    with pytest.raises(NotPermitted), db.transaction() as session:
        tasks.add_comment(session, instance.id, user("dev_accept1"), "看不到的案件")
    with db.reading() as session:
        found = case_view.case_file(session, instance.id, user("supervision_investigate2"))
    assert [(c.author, c.text, bool(c.task_id)) for c in found.comments] == [
        ("supervision_investigate1", "需补充现场照片", True), ("leadership_chief", "抓紧办理", False)]
    assert [e["text"] for e in events(db, instance.id, "comment")] == ["需补充现场照片", "抓紧办理"]


def test_the_case_file_highlights_done_and_current_elements_and_labels_submitted_values(db, user, flow):
    instance, task = start(db, user)
    complete_prepare(db, user, task.id)
    with db.reading() as session:
        found = case_view.case_file(session, instance.id, user("supervision_review1"))
        xml = case_view.diagram_xml(session, instance.id, user("leadership_chief"))
        with pytest.raises(NotPermitted):
            case_view.diagram_xml(session, instance.id, user("dev_accept1"))
    assert found.current_elements == ["Task_check"]
    assert {"Ev_start", "Task_prepare"} <= set(found.completed_elements)
    [done] = [e for e in found.timeline if e.event.action == "complete"]
    assert ("当事人类型", "法人或其他组织") in done.values and ("拟罚款金额", "60000.00 元") in [(k, str(v)) for k, v in done.values]
    assert 'id="review_flow"' in xml and "Task_check_di" in xml


# --- attachments -------------------------------------------------------------------------------

def test_an_upload_is_stored_by_hash_listed_and_only_for_the_case(db, user, flow, tmp_path):
    from engine.store.config import load_settings
    settings = load_settings({"ZHIFA_DATA_DIR": str(tmp_path / "data")})
    instance, task = start(db, user)
    other, _ = start(db, user)
    body = "现场照片".encode() * 1000
    with db.transaction() as session:
        a = attachments.upload(session, task.id, user("supervision_investigate1"), "evidence_files", io.BytesIO(body),
                              "照片.jpg", "image/jpeg", settings)
    import hashlib
    assert a.sha256 == hashlib.sha256(body).hexdigest() and a.size == len(body) and a.instance_id == instance.id
    with pytest.raises(tasks.ActionInvalid), db.transaction() as session:
        attachments.upload(session, task.id, user("supervision_investigate1"), "party_name", io.BytesIO(b"x"), "a.txt",
                          "text/plain", settings)
    with pytest.raises(NotPermitted), db.transaction() as session:
        attachments.upload(session, task.id, user("supervision_review1"), "evidence_files", io.BytesIO(b"x"), "a.txt",
                          "text/plain", settings)
    with db.reading() as session:
        other_task = tasks.ready_tasks(session, other.id)[0]
    with pytest.raises(Exception, match="附件不属于本案件"), db.transaction() as session:
        tasks.complete(session, other_task.id, user("supervision_investigate1"), {**PREPARE, "evidence_files": [a.id]})
    complete_prepare(db, user, task.id, evidence_files=[a.id])
    with db.reading() as session:
        attachment, path = attachments.for_download(session, a.id, user("supervision_review2"), settings)
        assert path.read_bytes() == body
        with pytest.raises(NotPermitted):
            attachments.for_download(session, a.id, user("dev_accept1"), settings)
        assert [x.id for x in case_view.case_file(session, instance.id, user("leadership_chief")).attachments] == [a.id]


# --- the web pages -----------------------------------------------------------------------------

@pytest.fixture
def app(db, flow, tmp_path):
    return make_app(db, tmp_path)


def logged_in(app, username):
    browser = Browser(app)
    assert browser.login(username).status_code == 302
    return browser


def test_web_tabs_sorting_links_badges_and_nav_counts(app, db, user):
    instance, task = start(db, user, title="<b>某厂</b>")
    with db.transaction() as session:
        set_due(session, [task.id], datetime.now(timezone.utc) - timedelta(hours=1))
    browser = logged_in(app, "supervision_investigate1")
    html = browser.get("/inbox").get_data(as_text=True)  # nothing assigned to me: the post tab opens
    assert re.search(r'aria-current="page"\s+id="tab-group"', html)
    assert instance.business_key in html and "已超期" in html and "&lt;b&gt;某厂&lt;/b&gt;" in html
    assert 'id="nav-inbox-count">1<' in html and "测试审查流程" in html
    assert instance.business_key not in browser.get("/inbox?tab=mine").get_data(as_text=True)
    html = browser.get("/inbox?tab=group&sort=priority&dir=desc&page=99&q=某厂&due=overdue").get_data(as_text=True)
    assert instance.business_key in html and "第 1/1 页" in html
    assert instance.business_key not in browser.get("/inbox?tab=group&due=today").get_data(as_text=True)
    assert browser.get("/inbox?tab=bogus&sort=bogus&page=x").status_code == 200


def test_web_validation_errors_are_chinese_and_keep_the_values(app, db, user):
    _, task = start(db, user)
    browser = logged_in(app, "supervision_investigate1")
    response = browser.post_form(f"/tasks/{task.id}", {"party_name": "", "party_type": "company", "witness_count": "两人",
                                                       "fine_amount": "-5", "inspected_on": "2026-13-01"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "当事人名称：必填" in html and "当事人类型：请从列表中选择" in html and "在场执法人员人数：请输入整数" in html
    assert "拟罚款金额：金额不能为负数" in html and "检查日期：请输入日期" in html
    assert 'value="两人"' in html and 'value="-5"' in html and 'value="2026-13-01"' in html
    response = browser.post_form(f"/tasks/{task.id}", {**PREPARE, "witness_count": "1"})
    assert "在场执法人员人数：不能小于 2" in response.get_data(as_text=True)
    with db.reading() as session:
        assert tasks.get(session, task.id).state == "ready"


def test_web_double_submit_is_told_who_completed_it_and_completes_once(app, db, user):
    instance, task = start(db, user)
    browser = logged_in(app, "supervision_investigate1")
    token = csrf_token(browser.get(f"/tasks/{task.id}").get_data(as_text=True))
    colleague = logged_in(app, "supervision_investigate2")  # has the same task open at the same time
    colleague_token = csrf_token(colleague.get(f"/tasks/{task.id}").get_data(as_text=True))
    first = browser.client.post(f"/tasks/{task.id}", data={**PREPARE, "csrf_token": token}, follow_redirects=True)
    assert "已办理：调查取证" in first.get_data(as_text=True)
    again = browser.client.post(f"/tasks/{task.id}", data={**PREPARE, "csrf_token": token}, follow_redirects=True)
    assert again.status_code == 200 and "该任务已由 程调查1 于" in again.get_data(as_text=True)
    late = colleague.client.post(f"/tasks/{task.id}", data={**PREPARE, "csrf_token": colleague_token},
                                 follow_redirects=True)
    assert "该任务已由 程调查1 于" in late.get_data(as_text=True)
    assert len(events(db, instance.id, "complete")) == 1
    page = browser.get(f"/tasks/{task.id}").get_data(as_text=True)  # the back button: the done task, read-only
    assert "该任务已由 程调查1 于" in page and "提交办理" not in page


def test_web_delegate_and_return_change_who_sees_the_task_and_show_in_the_history(app, db, user):
    instance, task = start(db, user)
    one = logged_in(app, "supervision_investigate1")
    one.post_form(f"/tasks/{task.id}", {}, action=f"/tasks/{task.id}/claim")
    page = one.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "转办给" in page and "supervision_investigate2" in page and "退回理由" not in page
    response = one.post_form(f"/tasks/{task.id}", {"to": "supervision_investigate2", "reason": ""},
                             action=f"/tasks/{task.id}/delegate", follow_redirects=True)
    assert "请填写转办理由" in response.get_data(as_text=True)
    one.post_form(f"/tasks/{task.id}", {"to": "supervision_investigate2", "reason": "休假"},
                  action=f"/tasks/{task.id}/delegate")
    assert instance.business_key not in one.get("/inbox?tab=mine").get_data(as_text=True)
    two = logged_in(app, "supervision_investigate2")
    assert instance.business_key in two.get("/inbox?tab=mine").get_data(as_text=True)
    notes = two.get("/notifications").get_data(as_text=True)
    assert "转办给您：休假" in notes
    assert two.post_form(f"/tasks/{task.id}", PREPARE).status_code == 302
    with db.reading() as session:
        check = tasks.ready_tasks(session, instance.id)[0]
    reviewer = logged_in(app, "supervision_review1")
    page = reviewer.get(f"/tasks/{check.id}").get_data(as_text=True)
    assert "退回理由" in page and "退回补充调查" in page
    reviewer.post_form(f"/tasks/{check.id}", {"reason": "证据不足"}, action=f"/tasks/{check.id}/return")
    assert instance.business_key not in reviewer.get("/inbox?tab=group").get_data(as_text=True)
    assert instance.business_key in two.get("/inbox?tab=group").get_data(as_text=True)
    history = one.get(f"/cases/{instance.id}").get_data(as_text=True)
    assert "转办" in history and "休假" in history and "退回" in history and "证据不足" in history


def test_web_upload_download_and_forbidden_download(app, db, user):
    instance, task = start(db, user)
    browser = logged_in(app, "supervision_investigate1")
    token = csrf_token(browser.get(f"/tasks/{task.id}").get_data(as_text=True))
    response = browser.client.post(f"/tasks/{task.id}/upload", content_type="multipart/form-data", data={
        "csrf_token": token, "_upload": "evidence_files", "party_name": "已输入的名称",
        "evidence_files__upload": (io.BytesIO(b"%PDF-1.4 test"), "询问笔录.pdf", "application/pdf")})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "询问笔录.pdf" in html and 'value="已输入的名称"' in html
    with db.reading() as session:
        [a] = session.scalars(select(Attachment).where(Attachment.instance_id == instance.id)).all()
    assert f'value="{a.id}" checked' in html
    response = browser.client.post(f"/tasks/{task.id}", content_type="multipart/form-data", data={
        "csrf_token": token, **PREPARE, "evidence_files": str(a.id),
        "evidence_files__upload": (io.BytesIO(b"second file"), "照片.txt", "text/plain")})
    assert response.status_code == 302
    with db.reading() as session:
        done = tasks.get(session, task.id)
        stored = session.scalars(select(Attachment).where(Attachment.instance_id == instance.id)).all()
    assert len(stored) == 2 and sorted(json.loads(done.submitted)["evidence_files"]) == sorted(x.id for x in stored)
    download = logged_in(app, "supervision_review1").get(f"/files/{a.id}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 test"
    assert "attachment" in download.headers["Content-Disposition"]
    assert logged_in(app, "dev_accept1").get(f"/files/{a.id}").status_code == 403
    assert logged_in(app, "dev_accept1").get(f"/cases/{instance.id}").status_code == 403
    assert logged_in(app, "dev_accept1").get(f"/cases/{instance.id}/diagram.bpmn").status_code == 403
    assert browser.get("/files/999999").status_code == 404
    case_page = logged_in(app, "legal_review1").get(f"/cases/{instance.id}").get_data(as_text=True)
    assert "询问笔录.pdf" in case_page and a.sha256[:16] in case_page


def test_web_a_retried_upload_is_one_attachment_and_one_stored_file(app, db, user, tmp_path):
    """Issue #14: on a weak phone connection the upload is sent again (or 上传 is clicked twice): the same
    file to the same task and field is the attachment stored the first time; another file is not."""
    instance, task = start(db, user)
    browser = logged_in(app, "supervision_investigate1")
    token = csrf_token(browser.get(f"/tasks/{task.id}").get_data(as_text=True))

    def send(content: bytes, name: str):
        return browser.client.post(f"/tasks/{task.id}/upload", content_type="multipart/form-data", data={
            "csrf_token": token, "_upload": "evidence_files",
            "evidence_files__upload": (io.BytesIO(content), name, "application/pdf")})

    first, again = send(b"%PDF-1.4 retried", "询问笔录.pdf"), send(b"%PDF-1.4 retried", "询问笔录.pdf")
    assert first.status_code == again.status_code == 200 and "已上传：询问笔录.pdf" in again.get_data(as_text=True)
    with db.reading() as session:
        [a] = session.scalars(select(Attachment).where(Attachment.instance_id == instance.id)).all()
    assert again.get_data(as_text=True).count(f'name="evidence_files" value="{a.id}"') == 1
    stored = [p for p in (tmp_path / "data").rglob("*") if p.is_file() and p.read_bytes() == b"%PDF-1.4 retried"]
    assert [p.name for p in stored] == [a.sha256]
    send(b"%PDF-1.4 another", "现场检查笔录.pdf")
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Attachment)
                              .where(Attachment.instance_id == instance.id)) == 2


def test_web_a_failed_submit_keeps_the_chosen_file_as_a_draft(app, db, user):
    """Issue #11: nothing typed or chosen is lost when a submit is refused."""
    instance, task = start(db, user)
    browser = logged_in(app, "supervision_investigate1")
    token = csrf_token(browser.get(f"/tasks/{task.id}").get_data(as_text=True))
    response = browser.client.post(f"/tasks/{task.id}", content_type="multipart/form-data", data={
        "csrf_token": token, **PREPARE, "party_name": "",
        "evidence_files__upload": (io.BytesIO(b"video"), "执法记录.mp4", "video/mp4")})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "已暂存本次选择的文件：执法记录.mp4" in html
    with db.reading() as session:
        [kept] = session.scalars(select(Attachment)).all()
    assert re.search(rf'name="evidence_files" value="{kept.id}" checked', html)  # ticked: nothing to choose again
    assert browser.post_form(f"/tasks/{task.id}", {**PREPARE, "evidence_files": str(kept.id)}).status_code == 302
    with db.reading() as session:
        assert json.loads(session.get(HumanTask, task.id).submitted)["evidence_files"] == [kept.id]
        assert session.scalar(select(func.count()).select_from(Attachment)) == 1


def test_web_comments_and_notifications_page(app, db, user):
    instance, task = start(db, user)
    with db.transaction() as session:
        session.add(Notification(recipient="supervision.investigate", text="办案期限届满提醒", instance_id=instance.id))
    browser = logged_in(app, "supervision_investigate1")
    assert 'id="nav-notices"' in browser.get("/inbox").get_data(as_text=True)
    assert "办案期限届满提醒" in browser.get("/notifications").get_data(as_text=True)
    browser.post_form("/notifications", {}, action="/notifications/seen")
    with db.reading() as session:
        assert notices.unread_count(session, user("supervision_investigate1")) == 0
    response = browser.post_form(f"/tasks/{task.id}", {"text": "<script>x</script>请补充"},
                                 action=f"/tasks/{task.id}/comment", follow_redirects=True)
    assert "&lt;script&gt;x&lt;/script&gt;请补充" in response.get_data(as_text=True)
    response = browser.post_form(f"/cases/{instance.id}", {"text": "  "}, action=f"/cases/{instance.id}/comment",
                                 follow_redirects=True)
    assert "意见内容不能为空" in response.get_data(as_text=True)


def _grams_of(db, instance_id):
    with db.reading() as session:
        return set(session.scalars(select(CaseSearchGram.gram).where(CaseSearchGram.instance_id == instance_id)))


def _candidates_of(db, task_id):
    with db.reading() as session:
        return set(session.execute(select(TaskCandidate.kind, TaskCandidate.value).where(TaskCandidate.task_id == task_id)))


def test_search_finds_terms_of_one_two_and_more_characters_from_the_grams_of_open_cases(db, user, flow):
    by = "supervision_investigate1"
    made = [start(db, user, title=name) for name in ("鲁山县甲化工厂", "乙造纸厂", "Xyz砖厂")]
    with db.reading() as session:  # a rare term: its tasks come from the grams, not from walking the post
        assert sorted(tasks._matching_ready(session, "甲化工")) == [made[0][1].id]
    for term, expected in (("甲", [0]), ("纸", [1]), ("化工", [0]), ("鲁山县甲", [0]), ("xYZ", [2]), ("厂", [0, 1, 2]),
                           ("鲁山乙", []), (made[1][0].business_key.lower(), [1])):
        assert sorted(keys(tab(db, user, by, "group", q=term))) == sorted(made[i][0].business_key for i in expected), term
    instance, task = made[0]
    assert _grams_of(db, instance.id) == search_index.grams(instance.business_key, "鲁山县甲化工厂")
    assert _candidates_of(db, task.id) == {("group", "supervision.investigate")}
    following = complete_prepare(db, user, task.id)  # the task leaves 岗位待办; the case keeps its grams, renamed
    assert _candidates_of(db, task.id) == set()
    assert _grams_of(db, instance.id) == search_index.grams(instance.business_key, PREPARE["party_name"])
    assert keys(tab(db, user, by, "group", q="甲化工")) == []
    assert keys(tab(db, user, "supervision_review1", "group", q="某化工")) == [instance.business_key]
    with db.reading() as session:  # the case's ready task, not the completed one
        assert tasks._matching_ready(session, "某化工") == [following.id]
    with db.transaction() as session:
        management.terminate(session, instance.id, user("leadership_chief"), "当事人已注销")
    assert _grams_of(db, instance.id) == set()  # an ended case leaves the search
    assert _grams_of(db, made[1][0].id) == search_index.grams(made[1][0].business_key, "乙造纸厂")


def test_the_search_grams_migrate_between_ready_tasks_and_open_cases(db, user, flow):
    """Migration 21_case_search: an open case's grams from its ready task's, and back; an ended case has none."""
    from alembic import command

    from zhifa import schema
    kept, task = start(db, user, title="鲁山县甲化工厂")
    ended, _ = start(db, user, title="乙造纸厂")
    with db.transaction() as session:
        management.terminate(session, ended.id, user("leadership_chief"), "当事人已注销")
    config = schema.alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "20_state_compression")
        by_task = set(connection.exec_driver_sql("SELECT task_id, gram FROM task_search_grams"))
        command.upgrade(config, "head")
    expected = search_index.grams(kept.business_key, "鲁山县甲化工厂")
    assert by_task == {(task.id, g) for g in expected}
    with db.reading() as session:
        assert set(session.execute(select(CaseSearchGram.instance_id, CaseSearchGram.gram))) == {
            (kept.id, g) for g in expected}


def test_a_renamed_case_is_searched_by_its_new_name_in_every_ready_task(db, user, org):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "search"]), source="cli")
        instance = runtime.start(session, "parallel_title", user("supervision_investigate1"), {"case_title": "旧名称厂"})
        ready = {t.element_id: t for t in tasks.ready_tasks(session, instance.id)}
    with db.reading() as session:  # both ready tasks of the case
        assert sorted(tasks._matching_ready(session, "旧名称")) == sorted(t.id for t in ready.values())
    with db.transaction() as session:
        tasks.complete(session, ready["Task_name"].id, user("supervision_investigate1"), {"party_name": "新名称公司"})
    assert _grams_of(db, instance.id) == search_index.grams(instance.business_key, "新名称公司")
    by = "supervision_investigate2"
    assert keys(tab(db, user, by, "group", q="新名称")) == [instance.business_key]
    assert keys(tab(db, user, by, "group", q="旧名称")) == []
    with db.transaction() as session:
        tasks.complete(session, ready["Task_other"].id, user(by), {})
    assert _grams_of(db, instance.id) == set()  # completed: out of the search
