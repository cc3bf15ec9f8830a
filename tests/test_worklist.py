"""Everything a person must act on is in 待办: the chief's 无法记录情况说明 approvals (the
requester hears the outcome), 督办 notices a leader sends from the overdue board (to the
handler and the section head, answered from the inbox, on the case and counted in
monitoring); 领取 in the inbox list claims the task."""
from __future__ import annotations

import re
from datetime import date, timedelta

from engine.inbox import notices, tasks
from monitoring import oversight
from recording import evidence
from tests.test_organisation import start_investigation
from tests.webclient import Browser, make_app


def logged_in(app, username):
    browser = Browser(app)
    assert browser.login(username).status_code == 302
    return browser


def text(response) -> str:
    return re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))


def test_an_exception_request_is_in_the_chiefs_inbox_and_the_requester_hears_the_outcome(db, deployed, user, tmp_path):
    case = start_investigation(db, user)
    step = case.task("UserTask_investigate")
    with db.transaction() as session:
        exc = evidence.request_exception(session, step.id, user("supervision_investigate1"), "force_majeure",
                                         "暴雨导致执法记录仪进水无法开机，现场以笔录记录")
    app = make_app(db, tmp_path)
    chief = logged_in(app, "leadership_chief")
    page = text(chief.get("/inbox"))
    assert "其他待办" in page and "无法记录情况说明" in page and "其他不可抗力因素不能使用" in page
    assert case.business_key in page and "force_majeure" not in page
    count = re.search(r'id="nav-inbox-count">(\d+)<', chief.get("/inbox").get_data(as_text=True)).group(1)
    assert int(count) >= 1
    deputy_page = text(logged_in(app, "leadership_deputy").get("/inbox"))
    assert "无法记录情况说明" not in deputy_page  # the 主要负责人 approves, nobody else

    chief.post_form("/evidence/", {"decision": "reject", "note": "未附设备故障证明"},
                    action=f"/evidence/exceptions/{exc.id}")
    with db.reading() as session:
        found = notices.for_user(session, user("supervision_investigate1"))
    assert any("未予批准（未附设备故障证明）" in i.text and case.business_key in i.text for i in found.items)
    assert "无法记录情况说明" not in text(chief.get("/inbox"))
    history = text(chief.get(f"/cases/{case.id}"))
    assert "理由：其他不可抗力因素不能使用" in history and "force_majeure" not in history


def test_a_leader_presses_an_overdue_task_and_the_handler_and_section_head_answer_from_their_inbox(
        db, deployed, user, tmp_path):
    case = start_investigation(db, user)
    step = case.task("UserTask_investigate")
    with db.transaction() as session:
        tasks.claim(session, step.id, user("supervision_investigate1"))
        tasks.get(session, step.id).due_at = tasks.utcnow() - timedelta(days=3)  # overdue
    app = make_app(db, tmp_path)
    officer = logged_in(app, "supervision_investigate1")
    assert "督办" not in text(logged_in(app, "supervision_file1").get("/dashboard/overdue"))  # not a leader's page

    chief = logged_in(app, "leadership_chief")
    board = chief.get("/dashboard/overdue").get_data(as_text=True)
    assert f'/dashboard/overdue/{step.id}/press' in board and "已发出 <strong>0</strong> 件" in board
    reply_by = (date.today() + timedelta(days=3)).isoformat()
    past = chief.post_form("/dashboard/overdue", {"text": "请三日内办结", "reply_by": "2020-01-01"},
                           action=f"/dashboard/overdue/{step.id}/press", follow_redirects=True)
    assert "办结（答复）期限不能早于今天" in text(past)
    sent = chief.post_form("/dashboard/overdue", {"text": "请三日内办结调查取证", "reply_by": reply_by},
                           action=f"/dashboard/overdue/{step.id}/press", follow_redirects=True)
    flashes = re.findall(r"flash-\w+\" role=\"\w+\">([^<]*)<", sent.get_data(as_text=True))
    assert "已督办“调查取证”，已通知：环境监察大队·大队长、程调查1" in flashes, flashes
    assert "已发出 <strong>1</strong> 件；待答复 <strong>2</strong> 人次" in sent.get_data(as_text=True)
    with db.reading() as session:
        assert oversight.counts(session) == {"sent": 1, "unanswered": 2, "late": 0}

    for browser, who in ((officer, "supervision_investigate1"), (logged_in(app, "supervision_head1"), "supervision_head1")):
        inbox = text(browser.get("/inbox"))
        assert "督办" in inbox and "请三日内办结调查取证" in inbox and reply_by in inbox and "张局长" in inbox
        with db.reading() as session:
            assert any("督办“调查取证”" in i.text for i in notices.for_user(session, user(who)).items)
    page = officer.get("/inbox").get_data(as_text=True)
    recipient = re.search(r'name="recipient" value="([^"]+)"', page).group(1)
    notice_id = re.search(r'/oversight/(\d+)/answer', page).group(1)
    empty = officer.post_form("/inbox", {"recipient": recipient, "text": " "}, action=f"/oversight/{notice_id}/answer",
                              follow_redirects=True)
    assert "请填写答复" in text(empty)
    officer.post_form("/inbox", {"recipient": recipient, "text": "已补充询问笔录，明日提交"},
                      action=f"/oversight/{notice_id}/answer")
    assert "请三日内办结调查取证" not in text(officer.get("/inbox"))
    with db.reading() as session:
        assert oversight.counts(session)["unanswered"] == 1
        assert any("答复督办" in i.text for i in notices.for_user(session, user("leadership_chief")).items)
    case_page = text(chief.get(f"/cases/{case.id}"))
    assert "督办" in case_page and "请三日内办结调查取证" in case_page and "已补充询问笔录，明日提交" in case_page
    assert "环境监察大队·大队长：" in case_page and "待答复" in case_page and "答复督办" in case_page


def test_claiming_from_the_inbox_list_claims_and_stays_on_the_list(db, deployed, user, tmp_path):
    case = start_investigation(db, user)
    step = case.task("UserTask_investigate")
    app = make_app(db, tmp_path)
    officer = logged_in(app, "supervision_investigate1")
    group = officer.get("/inbox?tab=group").get_data(as_text=True)
    assert f'action="/tasks/{step.id}/claim"' in group
    done = officer.post_form("/inbox?tab=group", {"back": "inbox"}, action=f"/tasks/{step.id}/claim")
    assert done.status_code == 302 and done.headers["Location"].startswith("/inbox")
    with db.reading() as session:
        assert tasks.get(session, step.id).assignee == "supervision_investigate1"
    mine = text(officer.get("/inbox?tab=mine"))
    assert case.business_key in mine and "程调查1" in mine and "supervision_investigate1 " not in mine
