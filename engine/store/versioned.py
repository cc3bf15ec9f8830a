"""Process-wide copies of what nearly every page shows and hardly ever changes: the names of
posts, people and departments (``ORGANISATION``) and of processes (``PROCESSES``).

Read anew for each page they cost a statement and a few hundred rows, about 0.9 ms of the
server's CPU in each HTTP cycle of bench/http_bench.py (6 %). The database counts every change
of them in ``catalog_versions``, by triggers (migration 23), so that no code path that writes
them can forget to; a page reads the counts with its menu counts (``part``, no statement of
their own) and reuses a copy read at the same count. Copies are kept per engine (a process may
serve several databases: the tests do) and are shared between threads, so they are read-only.
"""
from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store import combined
from engine.store.models import CatalogVersion

ORGANISATION, PROCESSES = "organisation", "processes"
KINDS = (ORGANISATION, PROCESSES)
_COLUMNS = tuple(select(CatalogVersion.version).where(CatalogVersion.name == kind).scalar_subquery() for kind in KINDS)

_copies: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine → {kind: (version, copy)}
_lock = threading.Lock()


def part() -> combined.Part:
    """The versions, as a part of a combined read."""
    return _COLUMNS, {}


def versions_from(values: tuple) -> dict[str, int]:
    return dict(zip(KINDS, values))


def read(session: Session) -> dict[str, int]:
    (values,) = combined.read(session, part())
    return versions_from(values)


def copy(session: Session, kind: str, version: int, load: Callable[[Session], Mapping]) -> Mapping:
    """``load(session)`` as it was at ``version``: the copy kept from an earlier page when it was
    read at that version, else read now. Read after ``version``, it can only be as new or newer
    (a newer one is read again once the page after sees the newer version)."""
    engine = session.get_bind()
    with _lock:
        held = _copies.setdefault(engine, {}).get(kind)
    if held is not None and held[0] == version:
        return held[1]
    value = MappingProxyType(load(session))
    with _lock:
        _copies[engine][kind] = (version, value)
    return value
