"""A PostgreSQL transaction's statements travel in as few round trips as they can
(engine/store/pipeline.py): writes go out without waiting, BEGIN with the first statement, COMMIT
with the writes. Later statements see the writes, the commit keeps them, an error among them fails
the transaction and leaves nothing, and a rolled-back transaction's writes never reach the next one
on the same connection. Round trips are counted in libpq's trace of the wire: one ReadyForQuery
ends each wait for the server."""
from __future__ import annotations

import re
from contextlib import contextmanager
import tempfile

import pytest
from psycopg import pq
from sqlalchemy import bindparam, create_engine, event, func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from engine.inbox import tasks
from engine.store import db as store
from engine.store import liveness
from engine.store.models import AuditEvent, Department, HumanTask, User
from tests.conftest import PG_URL, USE_PG
from tests.test_engine import INSPECTION, flow, only_task, start  # noqa: F401 (flow: a fixture)


@pytest.fixture
def sent(db):
    """The statements the database received, in order."""
    statements: list[str] = []
    listener = lambda _c, _cur, statement, *_: statements.append(statement)  # noqa: E731
    event.listen(db.write_engine, "before_cursor_execute", listener)
    yield statements
    event.remove(db.write_engine, "before_cursor_execute", listener)


class Waits:
    """The waits for the server (PostgreSQL) of the connections checked out within ``watch()``;
    on SQLite, which runs in this process, ``rounds`` stays None."""

    def __init__(self, db):
        self.db = db
        self.rounds: list[list[str]] | None = None  # per wait, the statements sent before it

    @contextmanager
    def watch(self):
        if not USE_PG:
            yield
            return
        traces = []

        def trace(dbapi_connection, _record, _proxy):
            log = tempfile.TemporaryFile("w+")
            dbapi_connection.pgconn.trace(log.fileno())
            dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            traces.append((dbapi_connection, log))

        event.listen(self.db.write_engine.pool, "checkout", trace)
        try:
            yield
        finally:
            event.remove(self.db.write_engine.pool, "checkout", trace)
        self.rounds = []
        for dbapi_connection, log in traces:
            dbapi_connection.pgconn.untrace()
            log.seek(0)
            self.rounds += self._rounds(log.read())

    @staticmethod
    def _rounds(trace: str) -> list[list[str]]:
        messages: list[str] = []
        for line in trace.splitlines():  # a statement's text may span lines
            if line[:2] in ("F\t", "B\t"):
                messages.append(line)
            else:
                messages[-1] += "\n" + line
        rounds, sent_before, parsed, bound = [], [], {}, ""
        for message in messages:
            direction, _length, kind, rest = (message.split("\t", 3) + [""])[:4]
            if direction == "F" and kind == "Parse":  # Parse "name" "text" n
                name, text = re.match(r' "([^"]*)" "(.*)" \d+[ \dN]*$', rest, re.S).groups()
                parsed[name] = text
            elif direction == "F" and kind == "Bind":  # Bind "portal" "statement" ...
                bound = parsed[re.match(r' "[^"]*" "([^"]*)"', rest).group(1)]
            elif direction == "F" and kind in ("Execute", "Query"):
                sent_before.append(bound if kind == "Execute" else rest.strip(' "'))
            elif kind == "ReadyForQuery":
                rounds.append(sent_before)
                sent_before = []
        return rounds


@pytest.fixture
def waits(db):
    return Waits(db)


def test_a_completion_waits_for_the_server_twice(db, flow, user, waits):
    inspector = user("supervision_investigate1")
    case = start(db, "case_flow", inspector, {"party_name": INSPECTION["party_name"]})  # titled already
    task = only_task(db, case)
    with waits.watch(), db.transaction() as session:
        tasks.complete(session, task.id, inspector, INSPECTION)
    rounds = waits.rounds
    if rounds is not None:  # PostgreSQL: no ping; BEGIN, the lock and the read; the writes and COMMIT
        assert len(rounds) == 2
        begin, lock, read = rounds[0]
        assert begin == "BEGIN" and "FOR NO KEY UPDATE" in lock and read.startswith("SELECT human_tasks.id")
        assert rounds[1][-1] == "COMMIT" and any(s.startswith("UPDATE process_instances") for s in rounds[1])
        assert any("audit_chain" in s for s in rounds[1])
    with db.reading() as session:  # and all of it arrived
        assert session.get(HumanTask, task.id).state == "completed"
        assert session.scalar(select(AuditEvent.action).where(AuditEvent.task_id == task.id)
                              .order_by(AuditEvent.id.desc()).limit(1)) == "complete"


def _names(db) -> dict[str, str]:
    with db.reading() as session:
        return dict(session.execute(select(Department.code, Department.name)).all())


def test_the_next_statement_sees_the_writes_and_waits_for_them_once(db, sent, waits):
    with waits.watch(), db.transaction() as session:
        session.connection()
        sent.clear()
        store.write(session, insert(Department), [{"code": "p1", "name": "一"}, {"code": "p2", "name": "二"}])
        store.write(session, insert(Department), [{"code": "p3", "name": "三"}])
        seen = session.scalars(select(Department.code).where(Department.code.like("p%")).order_by(Department.code))
        assert list(seen) == ["p1", "p2", "p3"]
        assert [s.split()[0] for s in sent] == ["INSERT", "INSERT", "SELECT"]
        store.write(session, insert(Department), [{"code": "p4", "name": "四"}])
    rounds = waits.rounds
    if rounds is not None:  # BEGIN and the writes with the SELECT; the last write with the COMMIT
        assert [[s.split()[0] for s in r] for r in rounds] == [["BEGIN", "INSERT", "INSERT", "INSERT", "SELECT"],
                                                              ["INSERT", "COMMIT"]]
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


def test_writes_within_a_savepoint_rolled_back_are_undone(db, sent):
    with db.transaction() as session:
        store.write(session, insert(Department), [{"code": "s1", "name": "一"}])
        savepoint = session.begin_nested()
        store.write(session, insert(Department), [{"code": "s2", "name": "二"}])
        savepoint.rollback()
        store.write(session, insert(Department), [{"code": "s3", "name": "三"}])
    assert {k for k in _names(db) if k.startswith("s")} == {"s1", "s3"}
    inserts = [s for s in sent if s.startswith("INSERT INTO departments")]
    assert len(inserts) == 3  # the savepoint's write was run, and undone with the savepoint


def test_a_session_that_only_read_keeps_the_prepared_statements_and_one_that_wrote_is_rolled_back(db):
    """A reading session ends with COMMIT when it ran nothing but SELECTs: psycopg's rollback() forgets
    every prepared statement, and every page ends such a session. One that wrote, or failed, is rolled
    back, and its connection serves the next one."""
    named = select(Department.name).where(Department.code == bindparam("code"))
    with db.reading() as session:
        for _ in range(6):  # psycopg prepares a statement at its sixth run on a connection
            session.scalar(named, {"code": "none"})
        connection = session.connection().connection.driver_connection
    if USE_PG:  # still prepared on the server after the session ended
        assert connection.execute("SELECT count(*) FROM pg_prepared_statements "
                                  "WHERE statement LIKE 'SELECT departments.name %'").fetchone()[0] == 1
    with db.reading() as session:
        session.add(Department(code="u1", name="只读会话里写的"))
        session.flush()
        assert session.scalar(named, {"code": "u1"}) == "只读会话里写的"
    with pytest.raises(DBAPIError), db.reading() as session:
        session.execute(text("SELECT name FROM no_such_table"))
    with db.reading() as session:
        assert session.scalar(named, {"code": "u1"}) is None  # never committed


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


def test_a_connection_the_server_ended_is_replaced_without_an_error(db, waits):
    """A restart or pg_terminate_backend closes the pooled connection: the next action gets a new
    one, and no round trip checks the connection first (liveness.py)."""
    def backend(session):
        return session.scalar(select(func.pg_backend_pid())) if USE_PG else None

    with db.transaction() as session:
        first = backend(session)
    if USE_PG:  # as a restart would: another connection ends the pooled one's backend, and waits
        # (up to 10 s) until it has gone, as a restart is over before the next request comes
        with create_engine(PG_URL).connect() as admin:
            assert admin.scalar(select(func.pg_terminate_backend(first, 10_000)))
    with waits.watch(), db.transaction() as session:
        store.write(session, insert(Department), [{"code": "t1", "name": "一"}])
        second = backend(session)
    assert _names(db)["t1"] == "一"
    if USE_PG:
        assert second != first
        assert [[s.split()[0] for s in r] for r in waits.rounds] == [["BEGIN", "INSERT", "SELECT"], ["COMMIT"]]


def test_a_connection_idle_for_long_is_pinged_first(db, monkeypatch):
    pings = []
    monkeypatch.setattr(db.engine.dialect, "do_ping", lambda dbapi_connection: pings.append(dbapi_connection))
    for idle_for_long in (False, True):
        monkeypatch.setattr(liveness, "PING_AFTER", -1.0 if idle_for_long else 10.0)
        with db.transaction() as session:
            assert session.scalar(select(func.count()).select_from(Department)) >= 0
    assert len(pings) == (1 if USE_PG else 0)
