"""Names kept per server process (engine/store/versioned.py): the database moves a kind's version
with every change of its names, so a page shows a rename at once and reads the names only then."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, event, insert, select, update

from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from engine.store import versioned
from engine.store.models import Department, Group, ProcessDefinition, User
from tests.conftest import FIXTURES
from tests.webclient import Browser, make_app


def _versions(db) -> dict[str, int]:
    with db.reading() as session:
        return versioned.read(session)


def _moves(db, change, kind: str) -> bool:
    """Whether ``change(session)``, committed, moved ``kind``'s version and no other's."""
    before = _versions(db)
    with db.transaction() as session:
        change(session)
    after = _versions(db)
    assert {k for k in versioned.KINDS if after[k] != before[k]} <= {kind}
    return after[kind] > before[kind]


def test_every_insert_rename_and_delete_of_a_name_moves_its_version(db, org):
    org_changes = [
        lambda s: s.execute(insert(Department).values(code="temp_dept", name="临时科室")),
        lambda s: s.execute(update(Department).where(Department.code == "temp_dept").values(name="临时科室二")),
        lambda s: s.execute(insert(Group).values(code="temp.post", name="临时岗位", department_code="temp_dept")),
        lambda s: s.execute(update(Group).where(Group.code == "temp.post").values(name="临时岗位二")),
        lambda s: s.execute(delete(Group).where(Group.code == "temp.post")),
        lambda s: s.execute(delete(Department).where(Department.code == "temp_dept")),
        lambda s: s.execute(update(User).where(User.username == "supervision_investigate1").values(full_name="改名")),
        lambda s: s.execute(insert(User).values(username="temp_user", full_name="临时", password_hash="x",
                                                active=True, session_generation=0)),
        lambda s: s.execute(delete(User).where(User.username == "temp_user")),
    ]
    for change in org_changes:
        assert _moves(db, change, versioned.ORGANISATION)
    assert _moves(db, lambda s: repository.deploy(s, repository.read_paths([FIXTURES / "engine"]), source="cli"),
                  versioned.PROCESSES)
    assert _moves(db, lambda s: s.execute(update(ProcessDefinition).values(name="改名的流程")), versioned.PROCESSES)


def test_logins_and_other_columns_leave_the_names_copy_in_place(db, org):
    """A user's session generation or password changes often; the names they show do not."""
    for values in ({"session_generation": User.session_generation + 1}, {"password_hash": "y"}, {"active": False}):
        assert not _moves(db, lambda s: s.execute(update(User).where(User.username == "supervision_investigate1")
                                                  .values(values)), versioned.ORGANISATION)


@pytest.fixture
def case(db, org, user):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "engine"]), source="cli")
        instance = runtime.start(session, "case_flow", user("supervision_investigate1"), {})
        return tasks.ready_tasks(session, instance.id)[0].id


@pytest.fixture
def names_read(db):
    """Statements that read the names of posts, people and departments."""
    seen = []
    listener = lambda _c, _cur, statement, *_: seen.append(1) if "UNION ALL" in statement and "groups" in statement else None  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    yield seen
    event.remove(db.engine, "before_cursor_execute", listener)


def test_a_page_shows_a_rename_at_once_and_reads_the_names_only_after_one(db, case, tmp_path, names_read):
    web = Browser(make_app(db, tmp_path))
    assert web.login("supervision_investigate1").status_code == 302
    page = web.get(f"/tasks/{case}").get_data(as_text=True)
    assert "环境监察大队·调查岗" in page and "测试检查流程" in web.get("/inbox?tab=mine").get_data(as_text=True)
    names_read.clear()
    assert "环境监察大队·调查岗" in web.get(f"/tasks/{case}").get_data(as_text=True)
    assert names_read == []  # the copy of an earlier page
    with db.transaction() as session:
        session.execute(update(Group).where(Group.code == "supervision.investigate").values(name="调查核实岗"))
        session.execute(update(ProcessDefinition).where(ProcessDefinition.key == "case_flow").values(name="改名的流程"))
    page = web.get(f"/tasks/{case}").get_data(as_text=True)
    assert "调查核实岗" in page and "环境监察大队·调查岗" not in page
    assert len(names_read) == 1
    inbox = web.get("/inbox?tab=mine").get_data(as_text=True)
    assert "改名的流程" in inbox and "测试检查流程" not in inbox
    assert len(names_read) == 1


def test_each_database_keeps_its_own_copy(db, org, tmp_path):
    """Two databases at the same version (the tests' many, or a server's two) never share names."""
    from engine.store.db import Database
    from zhifa import schema
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    schema.upgrade(other)
    try:
        with other.transaction() as session:
            session.execute(insert(Department).values(code="d", name="别处的科室"))
        with db.reading() as a, other.reading() as b:
            mine = versioned.copy(a, versioned.ORGANISATION, 7, lambda s: dict(s.execute(select(Department.code, Department.name)).all()))
            theirs = versioned.copy(b, versioned.ORGANISATION, 7, lambda s: dict(s.execute(select(Department.code, Department.name)).all()))
        assert "d" in theirs and "d" not in mine
    finally:
        other.dispose()
