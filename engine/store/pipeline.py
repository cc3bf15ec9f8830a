"""How a PostgreSQL transaction's statements travel: in as few round trips as they can.

Sent one by one, each statement waits a round trip for the server, and an action's dozen writes
(its task, their 岗位待办 index and search grams, the audit row, the statistics, the case's state)
would wait a dozen. Through a libpq with pipeline mode (14 or later, as psycopg[binary] brings):

- a statement whose result nobody reads (``write``: an INSERT, UPDATE or DELETE, or a lock taken
  by SELECT … FOR UPDATE) goes out at once but is not waited for: the server runs it while this
  process goes on (runs the workflow, serializes the case);
- BEGIN is such a statement, sent when the transaction begins; so is COMMIT, sent after the writes;
- the next statement that is read goes out behind them, and one wait takes all their results.

So a completion waits for the server twice: once for BEGIN, the case's lock and the read of the
task after it, once for the writes and the COMMIT. Whatever runs next still sees the writes, in
order. An error among them fails that next statement or the commit, as an SQLAlchemy error like
any other, and the transaction is rolled back; a rollback takes whatever is in flight with it.
psycopg would send its own BEGIN alone and wait for it, so its connections run in autocommit mode
and BEGIN is sent here (not for an SQLAlchemy connection asked for AUTOCOMMIT or another isolation
level: psycopg runs those as it would). A statement sent without waiting, built once as those of
every action are, skips SQLAlchemy's execute too: it is compiled once and handed to psycopg.

A pipeline is only ever left through psycopg's ``Pipeline.__exit__``, which flushes all it holds:
its ``sync()`` could wait for the answer to a Sync still in libpq's buffer, behind a large
statement, and hang (psycopg 3.3). SQLite, in-process, runs everything at once.
"""
from __future__ import annotations

import functools
import weakref

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

_OPEN = "zhifa_pipeline"  # connection record info: the entered ``driver.pipeline()`` context
_BEGUN = "zhifa_begun"  # connection record info: this module sent BEGIN, so it sends COMMIT
_WRITING = "zhifa_writing"  # connection record info: a write's own execute, not waited for
_CHANGED = "zhifa_changed"  # connection record info: this transaction ran more than SELECTs, or failed
_PIPELINED: weakref.WeakSet = weakref.WeakSet()  # the engines whose statements travel so
_SEEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # statements sent once (by SQLAlchemy)


def install(engine: Engine) -> None:
    """Pipeline ``engine``'s transactions (PostgreSQL through a libpq with pipeline mode; else
    every statement waits for its answer, as psycopg does by itself)."""
    if not psycopg.Pipeline.is_supported():
        return
    _PIPELINED.add(engine)
    event.listen(engine.pool, "checkout", _autocommit)
    event.listen(engine.pool, "reset", lambda _dbapi, record, _state: _end(record.info))
    event.listen(engine, "begin", _begin)
    event.listen(engine, "before_cursor_execute", _before)
    event.listen(engine, "after_cursor_execute", _after)
    event.listen(engine, "handle_error", _error)
    event.listen(engine, "commit", _commit)
    event.listen(engine, "rollback", _rollback)
    # what was sent within the savepoint goes with it: an error there must not fail its ROLLBACK TO
    event.listen(engine, "rollback_savepoint", lambda connection, _name, _context:
                 _leave(_info(connection), discard=True))


def write(connection: Connection, statement, rows: list[dict] | None = None) -> None:
    """Send ``statement`` (with ``rows``: once per row) without waiting for its result."""
    if connection.engine not in _PIPELINED:
        _run(connection, statement, rows)
        return
    info = connection.info
    _enter(connection)
    info[_WRITING] = True
    try:
        compiled = _compiled(connection.dialect, statement, tuple(sorted(rows[0])) if rows else None)
        if compiled is None:
            _run(connection, statement, rows)
        else:
            _send(connection, *compiled, rows)
    finally:
        del info[_WRITING]


def _run(connection: Connection, statement, rows: list[dict] | None) -> None:
    if rows is None:
        connection.execute(statement)
    else:
        connection.execute(statement, rows)


def _compiled(dialect, statement, keys: tuple[str, ...] | None):
    """The statement as psycopg takes it and its parameters' conversions, compiled at its second
    use: a statement built once (as those of every action are) is compiled once, one built for a
    single use is left to SQLAlchemy's own cache. None if only SQLAlchemy's execute can run it."""
    if statement not in _SEEN:
        _SEEN[statement] = True
        return None
    return _compile(_Dialect(dialect), statement, keys)


class _Dialect:
    """A dialect as a cache key: its kind, not the instance (one per engine, and tests make many)."""

    def __init__(self, dialect):
        self.dialect, self._key = dialect, (type(dialect), dialect.server_version_info)

    def __eq__(self, other) -> bool:
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)


@functools.lru_cache(maxsize=256)  # bounded: it holds the statements it compiled
def _compile(kind: _Dialect, statement, keys: tuple[str, ...] | None):
    """None where SQLAlchemy's execute must do more: Python-side column defaults, IN lists
    expanded when run."""
    dialect = kind.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
    if compiled.insert_prefetch or compiled.update_prefetch or "POSTCOMPILE" in compiled.string:
        return None
    processors = {name: process for name, bind in compiled.binds.items()
                  if (process := bind.type.dialect_impl(dialect).bind_processor(dialect))}
    return compiled, processors


def _send(connection: Connection, compiled, processors: dict, rows: list[dict] | None) -> None:
    """What SQLAlchemy's execute would send, straight to psycopg: its execute costs five times
    psycopg's (about 60 against 12 µs of CPU), for a result nobody reads here. The statement
    events still see it."""
    params = []
    for row in rows or [None]:
        values = compiled.construct_params(row)
        for name, process in processors.items():
            if name in values:
                values[name] = process(values[name])
        params.append(values)
    many = len(params) > 1
    cursor = connection.connection.driver_connection.cursor()
    sql = compiled.string
    connection.dispatch.before_cursor_execute(connection, cursor, sql, params if many else params[0], None, many)
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params[0])
    except psycopg.Error as e:  # an earlier write's error may come back with this one's sending
        raise DBAPIError.instance(sql, params, e, psycopg.Error) from e


def _autocommit(dbapi_connection, _record, _proxy) -> None:
    if not dbapi_connection.autocommit:  # new, or reset by SQLAlchemy after an isolation level
        dbapi_connection.autocommit = True


def _begin(connection: Connection) -> None:
    connection.info.pop(_CHANGED, None)
    driver = connection.connection.driver_connection
    if driver.autocommit and connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        _enter(connection)
        _command(connection, "BEGIN")
        connection.info[_BEGUN] = True


def _error(context) -> None:
    info = _info(context.connection)
    info[_CHANGED] = True
    _leave(info, discard=True)


def _rollback(connection: Connection) -> None:
    """A transaction that only read ends with COMMIT, which ends it as ROLLBACK would: psycopg
    forgets its prepared statements at every rollback(), and every page's reading session ends
    with one, so nothing would stay prepared and every statement would be planned anew (the
    read of a completion's task alone: 0.3 ms of the server's time)."""
    info = _info(connection)
    if info.get(_BEGUN) and not info.get(_CHANGED):
        try:
            _commit(connection)  # psycopg's rollback() then finds the transaction ended and does nothing
            return
        except DBAPIError:  # e.g. the connection was lost: psycopg's rollback() finds out
            pass
    _end(info)


def _commit(connection: Connection) -> None:
    """Send COMMIT behind the writes and wait for them all; psycopg's commit() then finds the
    transaction ended and sends nothing."""
    info = connection.info
    info.pop(_CHANGED, None)
    if info.pop(_BEGUN, None):
        _enter(connection)
        _command(connection, "COMMIT")
    try:
        _leave(info)
    except psycopg.Error as e:  # raised outside SQLAlchemy's execute: wrapped as it would be
        raise DBAPIError.instance(None, None, e, psycopg.Error) from e


def _command(connection: Connection, command: str) -> None:
    try:
        connection.connection.driver_connection.cursor().execute(command, prepare=False)
    except psycopg.Error as e:  # an earlier write's error may come back as this is sent
        raise DBAPIError.instance(command, None, e, psycopg.Error) from e


def _before(connection: Connection, cursor, statement: str, _parameters, _context, _executemany) -> None:
    info = connection.info
    if not statement.lstrip()[:6].upper() == "SELECT":  # SELECT … FOR UPDATE too: its locks end either way
        info[_CHANGED] = True
    if isinstance(cursor, psycopg.ServerCursor) and _WRITING not in info:
        _leave(info)  # a named cursor cannot run in a pipeline


def _after(connection: Connection, _cursor, _statement, _parameters, _context, _executemany) -> None:
    if _WRITING not in connection.info:
        _leave(connection.info)  # one wait for the writes before this statement and for its rows


def _enter(connection: Connection) -> None:
    info = connection.info
    if _OPEN not in info:
        context = connection.connection.driver_connection.pipeline()
        context.__enter__()
        info[_OPEN] = context


def _info(connection: Connection | None) -> dict:
    """The connection record's info; none left once the connection is lost (the pool drops it)."""
    return {} if connection is None or connection.invalidated else connection.info


def _end(info: dict) -> None:
    """The transaction is rolled back (psycopg sends the ROLLBACK): what is in flight goes with it."""
    info.pop(_BEGUN, None)
    info.pop(_CHANGED, None)
    _leave(info, discard=True)


def _leave(info: dict, discard: bool = False) -> None:
    """Leave the pipeline: send what it holds and take every result. ``discard``: it is being
    rolled back, an error among them no longer matters."""
    context = info.pop(_OPEN, None)
    if context is None:
        return
    try:
        context.__exit__(None, None, None)
    except psycopg.Error:
        if not discard:
            raise
