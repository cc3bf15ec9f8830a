"""Writes that wait for the connection's next statement (PostgreSQL).

An action writes a dozen rows (its task, their 岗位待办 index and search grams, the audit row,
the statistics, the case's state); sent one by one, each waits a round trip for the server. On
PostgreSQL the statements given to ``write`` wait on the connection instead and go to the server
together, in one round trip (psycopg's pipeline mode), just before the connection's next
statement or its commit: whatever runs next still sees them, in order. An error among them fails
that next statement or the commit, as an SQLAlchemy error like any other, and the transaction is
rolled back. SQLite, in-process, runs them at once.

Only statements whose result nobody reads may wait: no RETURNING, no row count.
"""
from __future__ import annotations

import weakref

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

_PENDING = "zhifa_pending_writes"  # Connection.info: the statements not yet sent
_PIPELINED: weakref.WeakSet = weakref.WeakSet()  # the engines whose writes wait


def install(engine: Engine) -> None:
    """Let ``engine``'s writes wait (PostgreSQL through a libpq with pipeline mode: 14 or later,
    as psycopg[binary] brings; else they run at once)."""
    if not psycopg.Pipeline.is_supported():
        return
    _PIPELINED.add(engine)
    event.listen(engine, "before_cursor_execute", _send_first)
    event.listen(engine, "commit", send)
    event.listen(engine, "rollback", _drop)
    # SAVEPOINT, a statement, sent what waited before it: what waits now is the savepoint's
    event.listen(engine, "rollback_savepoint", lambda connection, _name, _context: _drop(connection))
    event.listen(engine.pool, "checkin", lambda _dbapi_connection, record: record.info.pop(_PENDING, None))


def write(connection: Connection, statement, rows: list[dict] | None = None) -> None:
    if connection.engine in _PIPELINED:
        connection.info.setdefault(_PENDING, []).append((statement, rows))
    else:
        _run(connection, statement, rows)


def send(connection: Connection) -> None:
    """Send the waiting statements in one pipeline; their results come back together. (Not the
    COMMIT with them: psycopg 3.3's commit() inside a pipeline waited forever for a result the
    server had not been sent, behind a large statement.)"""
    waiting = connection.info.pop(_PENDING, None)
    if not waiting:
        return
    driver = connection.connection.driver_connection
    try:
        with driver.pipeline():
            for statement, rows in waiting:
                _run(connection, statement, rows)
    except driver.Error as e:  # raised by the pipeline's sync, outside SQLAlchemy's execute
        raise DBAPIError.instance(None, None, e, driver.Error) from e


def _run(connection: Connection, statement, rows: list[dict] | None) -> None:
    if rows is None:
        connection.execute(statement)
    else:
        connection.execute(statement, rows)


def _send_first(connection: Connection, _cursor, _statement, _parameters, _context, _executemany) -> None:
    if _PENDING in connection.info:
        send(connection)


def _drop(connection: Connection) -> None:
    connection.info.pop(_PENDING, None)
