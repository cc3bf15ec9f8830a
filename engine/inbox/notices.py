"""The header's notifications: new assignments, tasks overdue or due today, and messages
models wrote with ``notify()`` (rows of ``notifications`` addressed to a post or a person).

What a user has seen is one timestamp per user (``notification_reads``); everything newer
is unread.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Index, String, bindparam, exists, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.access.identity import group_codes
from engine.inbox import tasks
from engine.store import combined
from engine.store.models import AuditEvent, Base, HumanTask, Notification, User, utcnow


class NotificationRead(Base):
    """When a user last opened their notifications (migration 0002_inbox)."""
    __tablename__ = "notification_reads"
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen_at: Mapped[datetime]


@dataclass
class Item:
    kind: str  # assigned | message
    text: str
    at: datetime
    instance_id: int | None = None
    task_id: str | None = None
    unread: bool = False


@dataclass
class Notices:
    counts: dict[str, int]
    items: list[Item] = field(default_factory=list)

    @property
    def unread(self) -> int:
        return sum(1 for i in self.items if i.unread)


def _seen_at(session: Session, user: User) -> datetime | None:
    return session.scalar(select(NotificationRead.seen_at).where(NotificationRead.username == user.username))


def for_user(session: Session, user: User, limit: int = 30, now: datetime | None = None) -> Notices:
    """Counts of overdue / due-today work, and the newest messages and assignments."""
    now = now or utcnow()
    seen = _seen_at(session, user)
    recipients = sorted(group_codes(user) | {user.username})
    items = [Item("message", n.text, n.created_at, n.instance_id, unread=seen is None or n.created_at > seen)
             for n in session.scalars(select(Notification).where(Notification.recipient.in_(recipients))
                                      .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))]
    newer = [HumanTask.created_at > seen] if seen is not None else []
    for t in session.scalars(select(HumanTask).where(*_assigned(user.username, *newer))
                             .order_by(HumanTask.created_at.desc()).limit(limit)):
        items.append(Item("assigned", f"新分配给您的任务：{t.name}（{t.business_key} {t.title}）", t.created_at,
                          t.instance_id, t.id, unread=True))
    items.sort(key=lambda i: i.at, reverse=True)
    return Notices(tasks.counts(session, user, now), items[:limit])


def _assigned(username, *newer):
    """Conditions for ready tasks the model assigned to the user (not those they claimed; 转办
    writes a message), with ``newer`` ones added. ``username``: a value or a bind parameter."""
    claimed = exists().where(AuditEvent.task_id == HumanTask.id, AuditEvent.action.in_(("claim", "delegate")))
    return (HumanTask.state == "ready", HumanTask.assignee == username, HumanTask.suspended.is_(False), ~claimed,
            *newer)


def _unread_column():
    """Unread messages and new assignments: two indexed counts, one column."""
    reader = bindparam("notice_user")
    seen = select(NotificationRead.seen_at).where(NotificationRead.username == reader).scalar_subquery()
    after_seen = or_(seen.is_(None), Notification.created_at > seen)
    messages = select(func.count()).select_from(Notification).where(
        Notification.recipient.in_(bindparam("notice_recipients", expanding=True)), after_seen)
    assigned = (select(func.count()).select_from(HumanTask)
                .where(*_assigned(reader, or_(seen.is_(None), HumanTask.created_at > seen))))
    return messages.scalar_subquery() + assigned.scalar_subquery()


_UNREAD = _unread_column()  # built once: every page reads it


def unread_part(user: User) -> combined.Part:
    """The unread count as a part of a combined read (the menus of every page)."""
    return (_UNREAD,), {"notice_user": user.username, "notice_recipients": sorted(group_codes(user) | {user.username})}


def unread_count(session: Session, user: User) -> int:
    return combined.count(*combined.read(session, unread_part(user)))


def mark_seen(session: Session, user: User, now: datetime | None = None) -> None:
    row = session.get(NotificationRead, user.username)
    if row is None:
        session.add(NotificationRead(username=user.username, seen_at=now or utcnow()))
    else:
        row.seen_at = now or utcnow()


# "Was this task claimed or delegated?" is asked per assigned task: index the audit trail by task.
Index("ix_audit_task_action", AuditEvent.__table__.c.task_id, AuditEvent.__table__.c.action)
