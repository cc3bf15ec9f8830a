"""Scalar reads of several modules in one statement.

Every page shows menu counts from five modules (待办, 通知, 督办, 无法记录 approvals, the menus a
user's permissions open). Each statement costs some 100–200 µs of Python and a wait for the
database besides its own work, so they are read together: each module offers its part (scalar
columns built once, with bind parameters named for the module, and their values for this
user), and ``read`` runs the parts as one SELECT, built once per combination of columns.
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

Part = tuple[tuple, dict]  # (scalar columns, their bind parameters' values)
NOTHING: Part = ((), {})  # a part with nothing to read (e.g. a count the user has no right to)


def read(session: Session, *parts: Part) -> list[tuple]:
    """Each part's values, in order; one statement for all (none if no part reads anything)."""
    columns = tuple(column for part_columns, _ in parts for column in part_columns)
    params: dict = {}
    for _, values in parts:
        params.update(values)
    row = tuple(session.execute(_statement(columns), params).one()) if columns else ()
    out, at = [], 0
    for part_columns, _ in parts:
        out.append(row[at:at + len(part_columns)])
        at += len(part_columns)
    return out


@lru_cache(maxsize=64)
def _statement(columns: tuple):
    return select(*columns)


def count(values: tuple) -> int:
    """A part's one count (0 if the part read nothing or the count is NULL)."""
    return (values[0] if values else 0) or 0
