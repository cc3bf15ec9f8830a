"""Append-only audit events: who did what to which case, when, with what values."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store import chain
from engine.store.db import check_value
from engine.store.models import AuditEvent, ProcessInstance, User


def record(session: Session, action: str, user: User | str | None, *, instance: ProcessInstance | None = None,
           task_id: str | None = None, element_id: str | None = None, details: dict[str, Any] | None = None) -> None:
    """Write the event now, in its place in the audit chain."""
    values = dict(actor=user.username if isinstance(user, User) else user, action=action,
                  instance_id=instance.id if instance else None,
                  business_key=instance.business_key if instance else None, task_id=task_id,
                  element_id=element_id, details=data_to_json(details or {}))
    for key, value in values.items():
        check_value(_TABLE.columns[key], value)
    chain.append(session, _TABLE, values)


_TABLE = AuditEvent.__table__


def events_of(session: Session, instance_id: int) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                                .order_by(AuditEvent.at, AuditEvent.id)))

def data_to_json(data) -> str:
    """Task data as JSON for people and audit rows (dates ISO, money as strings)."""
    return json.dumps(data, ensure_ascii=False, default=_plain, sort_keys=True)


def _plain(value):
    if isinstance(value, (date, Decimal)):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)
