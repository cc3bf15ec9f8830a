"""Database engines and transactions.

One action = one write transaction. On PostgreSQL the instance row is locked with
SELECT ... FOR UPDATE; SQLite has no row locks, so write transactions start with
BEGIN IMMEDIATE and hold the database write lock for their duration.

On PostgreSQL a completion waits for the server twice: BEGIN, the lock (``lock()``) and the read
after it go out together, and the statements of ``write()`` go out without waiting and are
answered with the COMMIT (engine/store/pipeline.py); a pooled connection is checked without a
round trip (engine/store/liveness.py).

No action may keep the database locked for long (model code is bounded to about a second,
engine/sandbox/limits.py): SQLite waits at most ``BUSY_SECONDS`` for the write lock, and on
PostgreSQL a statement waits at most ``LOCK_SECONDS`` for a row lock and runs at most
``STATEMENT_SECONDS``; past that the action fails and is rolled back instead of queueing.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from sqlalchemy import bindparam, create_engine, event, inspect, make_url, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, attributes, sessionmaker

from engine.store import chain, liveness, pipeline


BUSY_SECONDS = 15
LOCK_SECONDS = 15
STATEMENT_SECONDS = 120  # the 100,000-case throughput page takes ~2 s; reports stay well below


READ_ONLY = "zhifa_read_only"  # session.info key of the sessions Database.reading() hands out
JOBS_CHANNEL = "zhifa_jobs"  # PostgreSQL NOTIFY channel: a job was added or moved (engine/execution/jobs.py)
JOBS_ANNOUNCE_WITHIN = 5.0  # seconds: workers never sleep longer, so only a job due sooner is announced


def announce_jobs(session: Session) -> None:
    """Wake sleeping workers once this transaction commits (PostgreSQL; SQLite workers poll)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {JOBS_CHANNEL}"))


def _make_engine(url: str, immediate: bool) -> Engine:
    if not url.startswith("sqlite"):
        # (added to the URL's own ``options``, e.g. a search_path, which connect_args would replace)
        parsed = make_url(url)
        options = " ".join(filter(None, [parsed.query.get("options"), f"-c lock_timeout={LOCK_SECONDS * 1000}",
                                         f"-c statement_timeout={STATEMENT_SECONDS * 1000}"]))
        engine = create_engine(parsed.difference_update_query(["options"]), pool_size=10, max_overflow=20,
                               connect_args={"options": options})
        liveness.install(engine)  # before the pipeline's checkout: a dead connection is replaced first
        pipeline.install(engine)
        return engine
    engine = create_engine(url, connect_args={"timeout": BUSY_SECONDS})

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_conn, _record):
        # Take transaction control away from the sqlite3 module so BEGIN is ours.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


# Column → what a bureau user calls it, for the message when an input does not fit.
COLUMN_NAMES = {
    "business_key": "案件编号", "title": "案件名称", "name": "名称", "original_name": "文件名", "full_name": "姓名",
    "username": "用户名", "text": "内容", "purpose": "事由", "reason": "理由", "note": "备注", "number": "编号",
    "model": "型号", "content_type": "文件类型", "cert_no": "执法证号",
}


class ValueTooLong(ValueError):
    """An input longer than its database column (or holding NUL): refused before the database sees it."""

    def __init__(self, column, length: int | None):
        what = COLUMN_NAMES.get(column.name, "输入内容")
        if length is None:
            super().__init__(f"{what}包含不允许的空字符（NUL），未保存。")
        else:
            super().__init__(f"{what}过长：最多 {length} 个字符，未保存。")


def check_value(column, value) -> None:
    """A string about to be written fits its column and holds no NUL (PostgreSQL refuses
    NUL with an error, SQLite would store it and fail later)."""
    if not isinstance(value, str):
        return
    if "\x00" in value:
        raise ValueTooLong(column, None)
    length = getattr(column.type, "length", None)
    if length is not None and len(value) > length:
        raise ValueTooLong(column, length)


def _check_strings(session: Session, _context, _instances) -> None:
    for obj in (*session.new, *session.dirty):
        table = getattr(obj, "__table__", None)
        if table is not None:
            for column in table.columns:
                check_value(column, obj.__dict__.get(column.key))


def write(session: Session, statement, rows: list[dict] | None = None) -> None:
    """Run an INSERT, UPDATE or DELETE through Core on the session's connection, rows checked as a
    flush checks them. For the statements of every completion on tables whose rows the session
    holds no objects of: the ORM's bulk path costs several times what the statement does.

    Nothing is returned: on PostgreSQL the statement is not waited for; an error in it fails the
    connection's next statement or the commit (engine/store/pipeline.py)."""
    if rows is not None:
        if not rows:
            return
        columns = statement.table.columns
        for row in rows:
            for key, value in row.items():
                if key in columns:  # else a parameter of the statement's own, e.g. a JSON path
                    check_value(columns[key], value)
        rows = list(rows)
    pipeline.write(session.connection(), statement, rows)


def lock(session: Session, statement, params: dict) -> None:
    """Take the row locks of a SELECT … FOR UPDATE whose rows nobody reads: on PostgreSQL it goes
    out with the next statement, which, run after it, sees the rows as their last holder left
    them (engine/store/pipeline.py). SQLite has no row locks: the write transaction holds the
    database (BEGIN IMMEDIATE)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        pipeline.write(connection, statement, [params])


def write_changes(session: Session, obj) -> None:
    """Write the changed columns of a loaded ORM object as ``write()`` does, and mark them
    unchanged: the session's next flush leaves them out (an ORM UPDATE is sent on its own and
    its row count read, so it could not go with the other writes)."""
    state = inspect(obj)
    if not state.persistent or not state.committed_state:
        return  # a new row is the flush's
    columns = state.mapper.columns
    touched = {key: state.dict.get(key) for key in state.committed_state if key in columns}
    changed = {key: value for key, value in touched.items() if value != state.committed_state[key]}
    if changed:
        table = state.mapper.local_table
        write(session, _update_of(table, tuple(sorted(changed))), [{**changed, "_key": state.identity[0]}])
    for key, value in touched.items():
        attributes.set_committed_value(obj, key, value)
    if not state.committed_state:  # nothing else pending: clean, so a flush has nothing to look at
        state._commit_all(state.dict, session.identity_map)


@functools.cache
def _update_of(table, keys: tuple[str, ...]):
    """UPDATE <table> SET <keys> WHERE <its one-column primary key> = :_key, built once."""
    (key_column,) = table.primary_key.columns
    return update(table).where(key_column == bindparam("_key")).values({k: bindparam(k) for k in keys})


class _ReadingScope:
    """The session shared by the ``reading()`` blocks of one ``Database.shared_reading()``."""

    def __init__(self, database: Database):
        self.database = database
        self.session: Session | None = None
        self.depth = 0  # reading() blocks now open on it

    @contextmanager
    def reading(self) -> Iterator[Session]:
        if self.session is None:
            self.session = self.database._new_reader()
        session = self.session
        self.depth += 1
        try:
            yield session
        except BaseException:
            self.close()  # e.g. a statement that failed: the next reader starts afresh
            raise
        finally:
            self.depth -= 1

    def written(self) -> None:
        """A write committed or rolled back: readers after it must not see rows as they were before
        it (the identity map; on SQLite, the read transaction's snapshot). An enclosing reading()
        block keeps its session, its objects expired and reloaded as used; else it is closed."""
        if self.session is None:
            return
        if self.depth:
            self.session.rollback()
            self.session.info.clear()  # nor what the session remembered of them
            self.session.info[READ_ONLY] = True
        else:
            self.close()

    def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()


_scope: ContextVar[_ReadingScope | None] = ContextVar("zhifa_reading_scope", default=None)


class Database:
    """Both engines for one URL: readers, and writers that serialize on SQLite."""

    def __init__(self, url: str):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = _make_engine(url, immediate=False)
        self.write_engine = _make_engine(url, immediate=True) if self.is_sqlite else self.engine
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self.write_engine, expire_on_commit=False)
        for maker in (self._reader, self._writer):
            event.listen(maker, "before_flush", _check_strings)
            event.listen(maker, "before_flush", chain.chain_new_rows)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction, committed on success and rolled back on any error."""
        session = self._writer()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            scope = _scope.get()
            if scope is not None and scope.database is self:
                scope.written()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session; within ``shared_reading()``, the one session of that scope."""
        scope = _scope.get()
        if scope is not None and scope.database is self:
            with scope.reading() as session:
                yield session
            return
        session = self._new_reader()
        try:
            yield session
        finally:
            session.close()  # not rollback(): that would expire what the caller keeps

    def _new_reader(self) -> Session:
        session = self._reader()
        session.info[READ_ONLY] = True  # never committed: what it loads cannot be changed by it
        return session

    @contextmanager
    def shared_reading(self) -> Iterator[None]:
        """Within it (one web request), every ``reading()`` is the same session: a page that reads
        the user, the menu counts, the names and its own rows opens one session and one transaction
        instead of four or more (each costs a connection checkout, a COMMIT and Python besides).
        A write transaction ends it, so what is read after a write sees the write."""
        scope = _ReadingScope(self)
        token = _scope.set(scope)
        try:
            yield
        finally:
            _scope.reset(token)
            scope.close()

    def new_session(self, write: bool) -> Session:
        return (self._writer if write else self._reader)()

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()
