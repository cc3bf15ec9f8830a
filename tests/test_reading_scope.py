"""One reading session per web request (``Database.shared_reading``): a page's reads share it, a
write ends it, a failed read does not poison the next."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, event, select, text, update

from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from engine.store.models import TaskExclusion, User
from tests.conftest import FIXTURES
from tests.webclient import Browser, csrf_token, make_app


def test_reads_within_a_scope_share_one_session_and_outside_each_has_its_own(db, org):
    with db.reading() as a, db.reading() as b:
        assert a is not b
    with db.shared_reading():
        with db.reading() as a:
            user = a.scalar(select(User).where(User.username == "supervision_investigate1"))
        with db.reading() as b:
            assert b is a
            assert b.scalar(select(User).where(User.id == user.id)) is user  # one identity map
    with db.reading() as c:
        assert c is not a


def test_a_read_after_a_write_in_the_scope_sees_the_write(db, org):
    with db.shared_reading():
        with db.reading() as session:
            user = session.scalar(select(User).where(User.username == "supervision_investigate1"))
            before = user.full_name
        with db.transaction() as session:
            session.execute(update(User).where(User.id == user.id).values(full_name="改名后"))
        with db.reading() as session:  # (on SQLite a read transaction kept open would still see the old row)
            assert session.get(User, user.id).full_name == "改名后"
        # a write inside an open reading block: that block's objects are reloaded as they are used
        with db.reading() as session:
            held = session.get(User, user.id)
            with db.transaction() as writer:
                writer.execute(update(User).where(User.id == user.id).values(full_name=before))
            assert held.full_name == before


def test_a_failed_read_leaves_the_next_reader_a_working_session(db, org):
    with db.shared_reading():
        with pytest.raises(Exception):
            with db.reading() as failed:
                failed.execute(text("SELECT * FROM no_such_table"))
        with db.reading() as session:
            assert session is not failed
            assert session.scalar(select(User.id).where(User.username == "supervision_investigate1"))


@pytest.fixture
def browser(db, org, tmp_path):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "engine"]), source="cli")
    web = Browser(make_app(db, tmp_path))
    assert web.login("supervision_investigate1").status_code == 302
    return web


@pytest.fixture
def checkouts(db):
    """Connections taken from the pool (one per session that reached the database)."""
    taken = []
    listener = lambda *_: taken.append(1)  # noqa: E731
    for engine in {db.engine, db.write_engine}:
        event.listen(engine.pool, "checkout", listener)
    yield taken
    for engine in {db.engine, db.write_engine}:
        event.remove(engine.pool, "checkout", listener)


def test_a_page_reads_the_user_menus_names_and_its_rows_through_one_connection(db, user, browser, checkouts):
    with db.transaction() as session:
        instance = runtime.start(session, "case_flow", user("supervision_investigate1"), {})
        task_id = tasks.ready_tasks(session, instance.id)[0].id
    for url in ("/inbox", f"/tasks/{task_id}", f"/cases/{instance.id}"):
        checkouts.clear()
        page = browser.get(url)
        assert page.status_code == 200, url
        assert len(checkouts) == 1, url


def test_a_completion_reads_its_user_writes_and_redirects_with_two_connections(db, user, browser, checkouts):
    with db.transaction() as session:
        instance = runtime.start(session, "case_flow", user("supervision_investigate1"), {})
        task_id = tasks.ready_tasks(session, instance.id)[0].id
    token_page = browser.get(f"/tasks/{task_id}").get_data(as_text=True)
    checkouts.clear()
    form = {"party_name": "鲁山县某化工有限公司", "party_type": "organization", "fine_amount": "60000",
            "inspected_on": "2026-11-20", "violation": "true"}
    done = browser.client.post(f"/tasks/{task_id}", data={**form, "csrf_token": csrf_token(token_page)})
    assert done.status_code == 302
    assert len(checkouts) == 2  # the user read, the action's transaction
    with db.reading() as session:
        assert tasks.get(session, task_id).state == "completed"


def test_an_exclusion_is_read_once_per_page_and_afresh_after_a_write(db, user, browser):
    with db.transaction() as session:
        instance = runtime.start(session, "case_flow", user("supervision_investigate1"), {})
        task = tasks.ready_tasks(session, instance.id)[0]
    with db.shared_reading(), db.reading() as session:
        assert tasks.exclusion_of(session, task, "supervision_investigate2") is None
        with db.transaction() as writer:
            writer.add(TaskExclusion(task_id=task.id, username="supervision_investigate2", reason="回避：测试"))
        assert tasks.exclusion_of(session, task, "supervision_investigate2") == "回避：测试"
    with db.transaction() as writer:  # a write transaction never answers from what it read before
        assert tasks.exclusion_of(writer, task, "supervision_investigate2") == "回避：测试"
        writer.execute(delete(TaskExclusion).where(TaskExclusion.task_id == task.id))
        assert tasks.exclusion_of(writer, task, "supervision_investigate2") is None


def test_an_inbox_with_nothing_else_pending_reads_no_other_work(db, org, tmp_path):
    """其他待办 (督办 notices, 无法记录 approvals) are read only when the menus count some."""
    chief = Browser(make_app(db, tmp_path))  # (the 主要负责人 approves 无法记录情况说明)
    assert chief.login("leadership_chief").status_code == 302
    statements = []
    listener = lambda _c, _cur, statement, *_: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert chief.get("/inbox").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert [s for s in statements if s.startswith(("SELECT oversight_notices.", "SELECT evidence_exceptions."))] == []
    assert any("FROM evidence_exceptions" in s for s in statements)  # counted, with the menus
