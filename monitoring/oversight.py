"""督办: a leader presses an overdue (or nearly due) task. The notice, with a reply deadline,
goes to the task's handler (or its posts while unclaimed) and to the 股室负责人 of the
department that handles it; each recipient answers it from their 待办. Every notice is on
the case's history and counted in monitoring.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, bindparam, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine.access import identity
from engine.access.identity import NotPermitted, group_codes
from engine.store import combined, history
from engine.store.models import Base, Group, HumanTask, Notification, ProcessInstance, User, utcnow


class OversightNotice(Base):
    """One 督办 notice on one task (migration 14_working_day)."""
    __tablename__ = "oversight_notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    task_name: Mapped[str] = mapped_column(String(300))
    sent_by: Mapped[str] = mapped_column(String(100))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(Text)
    reply_by: Mapped[date] = mapped_column(Date)
    recipients: Mapped[list[OversightRecipient]] = relationship(lazy="selectin", order_by="OversightRecipient.recipient")


class OversightRecipient(Base):
    """A person or a post a notice went to, and their answer."""
    __tablename__ = "oversight_recipients"
    __table_args__ = (Index("ix_oversight_open", "recipient", "answered_at"),)
    notice_id: Mapped[int] = mapped_column(ForeignKey("oversight_notices.id", ondelete="CASCADE"), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(100), primary_key=True)  # a username or a post code
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)


class OversightInvalid(ValueError):
    """Bad input for a 督办 notice or answer; nothing was changed."""


def may_send(session: Session, user: User) -> bool:
    """The leaders who manage cases (局领导) press work."""
    return identity.has_permission(session, user, identity.MANAGE_INSTANCES)


def recipients_of(session: Session, task: HumanTask) -> list[str]:
    """The handler (or the task's posts while nobody has claimed it) and the 股室负责人 of the
    departments of those posts."""
    posts = [g for g in task.candidate_groups.split(",") if g]
    handlers = [task.assignee] if task.assignee else posts + [u for u in task.candidate_users.split(",") if u]
    departments = set(session.scalars(select(Group.department_code).where(Group.code.in_(posts)))) if posts else set()
    heads = [h for d in sorted(departments) for h in identity.section_heads(session, d)]
    return list(dict.fromkeys(handlers + heads))


def send(session: Session, user: User, task_id: str, text: str | None, reply_by: date | None,
         today: date | None = None) -> OversightNotice:
    if not may_send(session, user):
        raise NotPermitted("督办须由有权管理案件的负责人发出")
    task = session.get(HumanTask, task_id)
    if task is None or task.state != "ready":
        raise OversightInvalid("该任务已办结或不存在，无需督办")
    body = (text or "").strip()
    if not body:
        raise OversightInvalid("请填写督办要求")
    if len(body) > 2000:
        raise OversightInvalid("督办要求最多 2000 个字")
    if reply_by is None:
        raise OversightInvalid("请填写办结（答复）期限")
    if reply_by < (today or date.today()):
        raise OversightInvalid("办结（答复）期限不能早于今天")
    recipients = recipients_of(session, task)
    instance = session.get(ProcessInstance, task.instance_id)
    notice = OversightNotice(instance_id=instance.id, task_id=task.id, task_name=task.name, sent_by=user.username,
                             text=body, reply_by=reply_by)
    session.add(notice)
    session.flush()
    session.add_all(OversightRecipient(notice_id=notice.id, recipient=r) for r in recipients)
    for r in recipients:
        session.add(Notification(recipient=r, instance_id=instance.id, text=(
            f"{user.full_name}督办“{task.name}”（{task.business_key} {task.title}）：{body}；"
            f"请于 {reply_by.isoformat()} 前办结并答复")))
    history.record(session, "oversight", user, instance=instance, task_id=task.id, element_id=task.element_id,
                   details={"task": task.name, "text": body, "reply_by": reply_by, "notice": notice.id,
                            "recipients": recipients})
    session.flush()
    session.refresh(notice)
    return notice


def _recipients(user: User) -> list[str]:
    return sorted(group_codes(user) | {user.username})


def _mine(user: User):
    return OversightRecipient.recipient.in_(_recipients(user))


@dataclass
class Open:
    notice: OversightNotice
    recipient: OversightRecipient
    business_key: str
    title: str


def open_for(session: Session, user: User) -> list[Open]:
    """督办 notices addressed to the user or their posts that nobody there has answered: their 待办."""
    rows = session.execute(select(OversightNotice, OversightRecipient, ProcessInstance.business_key,
                                  ProcessInstance.title)
                           .join(OversightRecipient, OversightRecipient.notice_id == OversightNotice.id)
                           .join(ProcessInstance, ProcessInstance.id == OversightNotice.instance_id)
                           .where(_mine(user), OversightRecipient.answered_at.is_(None))
                           .order_by(OversightNotice.reply_by, OversightNotice.id)).all()
    return [Open(*r) for r in rows]


_OPEN_COUNT = (select(func.count()).select_from(OversightRecipient)
               .where(OversightRecipient.recipient.in_(bindparam("oversight_recipients", expanding=True)),
                      OversightRecipient.answered_at.is_(None)).scalar_subquery())  # built once: every page reads it


def open_part(user: User) -> combined.Part:
    """How many 督办 notices await the user's answer, as a part of a combined read (every page's menus)."""
    return (_OPEN_COUNT,), {"oversight_recipients": _recipients(user)}


def count_open(session: Session, user: User) -> int:
    return combined.count(*combined.read(session, open_part(user)))


def answer(session: Session, user: User, notice_id: int, recipient: str, text: str | None) -> OversightRecipient:
    row = session.get(OversightRecipient, (notice_id, recipient))
    if row is None or (recipient != user.username and recipient not in group_codes(user)):
        raise NotPermitted("该督办不是发给您或您的岗位的")
    if row.answered_at is not None:
        raise OversightInvalid(f"该督办已于 {row.answered_at.astimezone().strftime('%Y-%m-%d %H:%M')} 答复")
    body = (text or "").strip()
    if not body:
        raise OversightInvalid("请填写答复（办理情况）")
    if len(body) > 2000:
        raise OversightInvalid("答复最多 2000 个字")
    row.answered_by, row.answered_at, row.answer = user.username, utcnow(), body
    notice = session.get(OversightNotice, notice_id)
    instance = session.get(ProcessInstance, notice.instance_id)
    session.add(Notification(recipient=notice.sent_by, instance_id=instance.id,
                             text=f"{user.full_name}答复督办“{notice.task_name}”（{instance.business_key}）：{body}"))
    history.record(session, "oversight_answered", user, instance=instance, task_id=notice.task_id,
                   details={"task": notice.task_name, "text": body, "notice": notice.id})
    return row


def recipient_name(session: Session, recipient: str) -> str:
    """A recipient as people read it: the post's name or the person's."""
    group = session.get(Group, recipient)
    return group.name if group is not None else identity.full_name(session, recipient)


def open_by_task(session: Session, task_ids: list[str]) -> dict[str, int]:
    """Task id → 督办 notices on it that someone has yet to answer (for the overdue board)."""
    if not task_ids:
        return {}
    rows = session.execute(select(OversightNotice.task_id, func.count(func.distinct(OversightNotice.id)))
                           .join(OversightRecipient, OversightRecipient.notice_id == OversightNotice.id)
                           .where(OversightNotice.task_id.in_(task_ids), OversightRecipient.answered_at.is_(None))
                           .group_by(OversightNotice.task_id))
    return dict(rows.all())


def of_case(session: Session, instance_id: int) -> list[OversightNotice]:
    return list(session.scalars(select(OversightNotice).where(OversightNotice.instance_id == instance_id)
                                .order_by(OversightNotice.sent_at, OversightNotice.id)))


def counts(session: Session) -> dict[str, int]:
    """For monitoring: notices sent, and recipients who have not answered (of those, past the deadline)."""
    sent = session.scalar(select(func.count()).select_from(OversightNotice)) or 0
    waiting = select(func.count()).select_from(OversightRecipient).join(
        OversightNotice, OversightNotice.id == OversightRecipient.notice_id).where(OversightRecipient.answered_at.is_(None))
    return {"sent": sent, "unanswered": session.scalar(waiting) or 0,
            "late": session.scalar(waiting.where(OversightNotice.reply_by < date.today())) or 0}
