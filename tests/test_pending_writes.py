"""The writes of an action go to PostgreSQL together (engine/store/pending.py): later statements
see them, the commit keeps them, an error among them fails the transaction and leaves nothing,
and a rolled-back transaction's writes never reach the next one on the same connection."""
from __future__ import annotations

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import IntegrityError

from engine.store import db as store
from engine.store.models import Department, User
from tests.conftest import USE_PG


@pytest.fixture
def sent(db):
    """The statements the database received, in order."""
    statements: list[str] = []
    listener = lambda _c, _cur, statement, *_: statements.append(statement)  # noqa: E731
    event.listen(db.write_engine, "before_cursor_execute", listener)
    yield statements
    event.remove(db.write_engine, "before_cursor_execute", listener)


def _names(db) -> dict[str, str]:
    with db.reading() as session:
        return dict(session.execute(select(Department.code, Department.name)).all())


def test_writes_wait_for_the_next_statement_which_sees_them(db, sent):
    with db.transaction() as session:
        session.connection()
        sent.clear()
        store.write(session, insert(Department), [{"code": "p1", "name": "一"}, {"code": "p2", "name": "二"}])
        store.write(session, insert(Department), [{"code": "p3", "name": "三"}])
        assert len(sent) == (0 if USE_PG else 2)  # PostgreSQL: not sent yet
        seen = session.scalars(select(Department.code).where(Department.code.like("p%")).order_by(Department.code))
        assert list(seen) == ["p1", "p2", "p3"]
        assert [s.split()[0] for s in sent] == ["INSERT", "INSERT", "SELECT"]
        store.write(session, insert(Department), [{"code": "p4", "name": "四"}])
    assert {k: v for k, v in _names(db).items() if k.startswith("p")} == {"p1": "一", "p2": "二", "p3": "三",
                                                                         "p4": "四"}


def test_an_error_among_the_writes_fails_the_transaction_and_leaves_nothing(db):
    with pytest.raises(IntegrityError):  # SQLite: at the write; PostgreSQL: at the commit
        with db.transaction() as session:
            store.write(session, insert(Department), [{"code": "q1", "name": "一"}])
            store.write(session, insert(Department), [{"code": "q1", "name": "重复"}])
    assert "q1" not in _names(db)
    with db.transaction() as session:  # the pooled connection carries nothing over
        store.write(session, insert(Department), [{"code": "q2", "name": "二"}])
    assert "q1" not in _names(db) and _names(db)["q2"] == "二"


def test_writes_of_a_rolled_back_transaction_are_never_sent(db, sent):
    with pytest.raises(RuntimeError):
        with db.transaction() as session:
            store.write(session, insert(Department), [{"code": "r1", "name": "一"}])
            raise RuntimeError("the action failed after writing")
    with db.transaction() as session:
        session.scalar(select(Department.code).limit(1))
    assert "r1" not in _names(db)
    assert not any("r1" in str(s) for s in sent[-3:])


def test_writes_within_a_savepoint_rolled_back_are_dropped(db, sent):
    with db.transaction() as session:
        store.write(session, insert(Department), [{"code": "s1", "name": "一"}])
        savepoint = session.begin_nested()
        store.write(session, insert(Department), [{"code": "s2", "name": "二"}])
        savepoint.rollback()
        store.write(session, insert(Department), [{"code": "s3", "name": "三"}])
    assert {k for k in _names(db) if k.startswith("s")} == {"s1", "s3"}
    inserts = [s for s in sent if s.startswith("INSERT INTO departments")]
    assert len(inserts) == (2 if USE_PG else 3)  # PostgreSQL: the savepoint's write never sent


def test_write_changes_writes_the_changed_columns_and_the_flush_nothing_more(db, org, sent):
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == org["supervision_file1"].username))
        user.full_name, user.cert_no = "改名", user.cert_no  # cert_no set to what it was: unchanged
        store.write_changes(session, user)
        session.flush()
        assert not session.dirty
        assert session.scalar(select(User.full_name).where(User.id == user.id)) == "改名"
        updates = [s for s in sent if s.startswith("UPDATE users")]
        assert len(updates) == 1 and "full_name" in updates[0] and "cert_no" not in updates[0]
    with db.reading() as session:
        assert session.scalar(select(User.full_name).where(User.id == org["supervision_file1"].id)) == "改名"


def test_write_changes_refuses_what_the_column_cannot_hold(db, org):
    with pytest.raises(store.ValueTooLong, match="姓名过长"):
        with db.transaction() as session:
            user = session.get(User, org["supervision_file1"].id)
            user.full_name = "长" * 101
            store.write_changes(session, user)
    with db.reading() as session:
        assert session.get(User, org["supervision_file1"].id).full_name == org["supervision_file1"].full_name
