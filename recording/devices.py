"""执法记录仪台账 (音像记录管理制度 第四条): devices, checkout and return, who recorded what.

The 环境监察大队 office (``supervision.records``) and administrators keep the ledger.
A recording uploaded by an officer is linked to the device they held at recording time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.access.identity import ADMIN, NotPermitted, group_codes, has_permission, user_by_name
from engine.store import history
from engine.store.models import Attachment, Base, User, utcnow

DEVICE_KINDS = {"bodycam": "执法记录仪", "camcorder": "摄像机", "camera": "照相机", "recorder": "录音笔",
                "terminal": "手持执法终端"}
KEEPER_GROUPS = {"supervision.records"}


class DeviceError(Exception):
    pass


class Device(Base):
    __tablename__ = "evidence_devices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(100), unique=True)  # 设备编号
    kind: Mapped[str] = mapped_column(String(16))  # a key of DEVICE_KINDS
    model: Mapped[str] = mapped_column(String(200), default="")
    holder: Mapped[str | None] = mapped_column(String(100))  # who has it now (username)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Checkout(Base):
    """One 领用-归还 of a device: who, when, and what was recorded (记录内容)."""
    __tablename__ = "evidence_device_checkouts"
    __table_args__ = (Index("ix_checkouts_user_out", "username", "checked_out_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("evidence_devices.id"), index=True)
    username: Mapped[str] = mapped_column(String(100))
    checked_out_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_out_by: Mapped[str] = mapped_column(String(100))  # the keeper who handed it over
    purpose: Mapped[str] = mapped_column(String(500), default="")
    returned_at: Mapped[datetime | None]
    returned_to: Mapped[str | None] = mapped_column(String(100))
    content: Mapped[str | None] = mapped_column(Text)  # what was recorded


def may_keep(session: Session, user: User) -> bool:
    return bool(group_codes(user) & KEEPER_GROUPS) or has_permission(session, user, ADMIN)


def _require_keeper(session: Session, user: User) -> None:
    if not may_keep(session, user):
        raise NotPermitted("执法记录仪台账由环境监察大队办公室（档案岗）管理")


def get_device(session: Session, device_id: int) -> Device | None:
    return session.get(Device, device_id)


def all_devices(session: Session) -> list[Device]:
    return list(session.scalars(select(Device).order_by(Device.number)))


def add_device(session: Session, user: User, number: str, kind: str, model: str = "") -> Device:
    _require_keeper(session, user)
    number = (number or "").strip()
    if not number:
        raise DeviceError("请填写设备编号。")
    if kind not in DEVICE_KINDS:
        raise DeviceError("请选择设备类型。")
    if session.scalar(select(Device.id).where(Device.number == number)) is not None:
        raise DeviceError(f"设备编号 {number} 已登记。")
    device = Device(number=number, kind=kind, model=(model or "").strip()[:200], created_at=utcnow())
    session.add(device)
    session.flush()
    history.record(session, "device_added", user, details={"device": number})
    return device


def checkout(session: Session, user: User, device_id: int, officer: str, purpose: str = "") -> Checkout:
    _require_keeper(session, user)
    device = session.get(Device, device_id)
    if device is None or not device.active:
        raise DeviceError("设备不存在或已停用。")
    if device.holder is not None:
        raise DeviceError(f"设备 {device.number} 已由 {device.holder} 领用，尚未归还。")
    holder = user_by_name(session, (officer or "").strip())
    if holder is None or not holder.active:
        raise DeviceError("领用人不存在。")
    device.holder = holder.username
    row = Checkout(device_id=device.id, username=holder.username, checked_out_at=utcnow(),
                   checked_out_by=user.username, purpose=(purpose or "").strip()[:500])
    session.add(row)
    session.flush()
    history.record(session, "device_checkout", user, details={"device": device.number, "to": holder.username})
    return row


def return_device(session: Session, user: User, device_id: int, content: str) -> Checkout:
    _require_keeper(session, user)
    device = session.get(Device, device_id)
    if device is None or device.holder is None:
        raise DeviceError("该设备未被领用。")
    content = (content or "").strip()
    if not content:
        raise DeviceError("请填写记录内容（执法活动、案件或“未使用”）。")
    row = session.scalar(select(Checkout).where(Checkout.device_id == device.id, Checkout.returned_at.is_(None))
                         .order_by(Checkout.checked_out_at.desc()))
    row.returned_at, row.returned_to, row.content = utcnow(), user.username, content
    device.holder = None
    history.record(session, "device_return", user, details={"device": device.number, "from": row.username})
    return row


def device_held_by(session: Session, username: str, at: datetime) -> int | None:
    """The device (id) the officer had checked out at ``at``, if exactly one."""
    ids = list(session.scalars(select(Checkout.device_id).where(
        Checkout.username == username, Checkout.checked_out_at <= at,
        or_(Checkout.returned_at.is_(None), Checkout.returned_at >= at))))
    return ids[0] if len(set(ids)) == 1 else None


@dataclass
class DevicePage:
    device: Device
    checkouts: list[Checkout]
    recordings: list[Attachment]


def device_page(session: Session, user: User, device_id: int) -> DevicePage:
    device = session.get(Device, device_id)
    if device is None:
        raise DeviceError("设备不存在。")
    _require_reader(session, user, None)
    return DevicePage(device,
                      list(session.scalars(select(Checkout).where(Checkout.device_id == device_id)
                                           .order_by(Checkout.checked_out_at.desc()))),
                      list(session.scalars(select(Attachment).where(Attachment.device_id == device_id)
                                           .order_by(Attachment.uploaded_at.desc()))))


@dataclass
class OfficerPage:
    officer: User
    checkouts: list[Checkout]
    recordings: list[Attachment]
    devices: dict[int, Device]


def _require_reader(session: Session, user: User, officer: str | None) -> None:
    from recording.evidence import may_read_access_log
    if officer == user.username or may_keep(session, user) or may_read_access_log(user):
        return
    raise NotPermitted("执法记录仪台账仅档案岗、法制股、主要负责人及本人可以查看")


def officer_page(session: Session, user: User, username: str) -> OfficerPage:
    officer = user_by_name(session, username)
    if officer is None:
        raise DeviceError("执法人员不存在。")
    _require_reader(session, user, username)
    return OfficerPage(officer,
                       list(session.scalars(select(Checkout).where(Checkout.username == username)
                                            .order_by(Checkout.checked_out_at.desc()))),
                       list(session.scalars(select(Attachment).where(Attachment.uploaded_by == username,
                                                                     Attachment.record_item.is_not(None))
                                            .order_by(Attachment.uploaded_at.desc()))),
                       {d.id: d for d in all_devices(session)})


def ledger(session: Session, user: User) -> list[Device]:
    _require_reader(session, user, None)
    return all_devices(session)
