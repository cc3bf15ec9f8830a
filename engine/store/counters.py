"""Named yearly counters (the ``sequences`` table), incremented atomically in the caller's transaction."""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.store.models import Sequence


def increment(session: Session, name: str, year: int) -> int:
    """Atomically add 1 to the (name, year) counter, creating it at 0; returns the new value.
    The row stays locked (PostgreSQL) / the database write-locked (SQLite) until commit."""
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:
        raise RuntimeError(f"numbering: unsupported database {dialect}")
    session.execute(insert(Sequence).values(name=name, year=year, value=0).on_conflict_do_nothing())
    stmt = (update(Sequence)
            .where(Sequence.name == name, Sequence.year == year)
            .values(value=Sequence.value + 1)
            .returning(Sequence.value)
            .execution_options(synchronize_session=False))
    return int(session.execute(stmt).scalar_one())
