"""Whether a pooled PostgreSQL connection still works, mostly without asking the server.

SQLAlchemy's pre-ping sends SELECT 1 at every checkout: a round trip on every page and action. A
server that restarts or ends a backend (pg_terminate_backend, an idle timeout) first sends the
connection an error and closes it, so its socket turns readable, while a healthy pooled connection,
between transactions, has nothing to read. So a connection whose socket is readable is replaced
without a round trip, and no user sees an error after a restart. One idle for longer than
``PING_AFTER`` seconds, long enough for a firewall or a cable to have dropped it without a word, is
still pinged.
"""
from __future__ import annotations

import select
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

PING_AFTER = 10.0  # seconds idle in the pool
_RETURNED = "zhifa_returned_at"  # connection record info: time.monotonic() at its last checkin


def install(engine: Engine) -> None:
    event.listen(engine.pool, "checkin", _returned)
    event.listen(engine.pool, "checkout", lambda dbapi_connection, record, _proxy:
                 _check(engine, dbapi_connection, record))


def _returned(_dbapi_connection, record) -> None:
    if record is not None:
        record.info[_RETURNED] = time.monotonic()


def _check(engine: Engine, dbapi_connection, record) -> None:
    """Raising DisconnectionError makes the pool replace the connection and check out again."""
    returned = record.info.pop(_RETURNED, None)
    if returned is None:
        return  # just connected
    if dbapi_connection.closed or _readable(dbapi_connection.fileno()):
        raise DisconnectionError("the server closed the connection")
    if time.monotonic() - returned > PING_AFTER:
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as e:
            raise DisconnectionError(str(e)) from e


def _readable(fd: int) -> bool:
    poll = select.poll()  # (not select.select: it fails on descriptors above 1023)
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))
