"""What the public site may read: published rows of ``publications``, column by column.

The public app (webui/public.py) calls only this module. It selects no internal column
(the case, the drafter, the private terms) and never another table, so nothing unpublished can
reach the Internet-facing host. A withdrawn decision keeps only its title, number and the notice.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import DECISION_KINDS, KINDS, Publication

PAGE_SIZE = 20
_COLUMNS = (Publication.id, Publication.kind, Publication.title, Publication.content, Publication.state,
            Publication.document_no, Publication.decided_on, Publication.published_at, Publication.withdrawal_kind,
            Publication.withdrawal_reason, Publication.withdrawn_at)
_VISIBLE = ("published", "withdrawn")


@dataclass(frozen=True)
class Record:
    id: int
    kind: str
    title: str
    content: dict[str, Any] | None  # None once withdrawn
    withdrawn: bool
    document_no: str | None
    decided_on: date | None
    published_at: datetime | None
    withdrawal_kind: str | None
    withdrawal_reason: str | None
    withdrawn_at: datetime | None

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


def _record(row) -> Record:
    withdrawn = row.state == "withdrawn"
    return Record(row.id, row.kind, row.title, None if withdrawn else json.loads(row.content or "{}"), withdrawn,
                  row.document_no, row.decided_on, row.published_at, row.withdrawal_kind, row.withdrawal_reason,
                  row.withdrawn_at)


def current(session: Session, slug: str) -> Record | None:
    """The published version of a list (权责清单, 执法人员名单, a diagram, a year's data)."""
    row = session.execute(select(*_COLUMNS).where(Publication.slug == slug, Publication.state == "published")
                          .order_by(Publication.id.desc()).limit(1)).first()
    return _record(row) if row else None


def listing(session: Session, kind: str, page: int = 1) -> tuple[list[Record], int]:
    """Published (and withdrawn) records of one kind, newest first; and how many pages there are."""
    where = (Publication.kind == kind) & Publication.state.in_(_VISIBLE)
    if kind not in DECISION_KINDS:
        where = where & (Publication.state == "published")
    total = session.scalar(select(func.count()).where(where)) or 0
    rows = session.execute(select(*_COLUMNS).where(where).order_by(Publication.published_at.desc(),
                                                                   Publication.id.desc())
                           .offset((max(page, 1) - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return [_record(r) for r in rows], max(1, -(-total // PAGE_SIZE))


def get(session: Session, publication_id: int) -> Record | None:
    row = session.execute(select(*_COLUMNS).where(Publication.id == publication_id,
                                                  Publication.state.in_(_VISIBLE))).first()
    if row is None or (row.state == "withdrawn" and row.kind not in DECISION_KINDS):
        return None
    return _record(row)


def notices(session: Session, limit: int = 10) -> list[Record]:
    """Recent withdrawals, shown on the front page (行政处罚法 第48条第2款: 公开说明理由)."""
    rows = session.execute(select(*_COLUMNS).where(Publication.state == "withdrawn")
                           .order_by(Publication.withdrawn_at.desc()).limit(limit)).all()
    return [_record(r) for r in rows]


def years(session: Session) -> list[int]:
    slugs = session.scalars(select(Publication.slug).where(Publication.kind == "annual",
                                                           Publication.state == "published"))
    return sorted({int(s.split(":")[1]) for s in slugs}, reverse=True)


def diagrams(session: Session) -> list[Record]:
    return listing(session, "diagram")[0]
