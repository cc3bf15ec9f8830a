"""行政执法记录信息调阅 (the bureau's 调阅监督制度, seed attachment 1): what the records_access
process needs from the system. Model helpers (registered through engine.hooks):

- ``case_file(case_no)``: whether the case exists, its title, and the users who handled it
  (completed one of its tasks) — 第四条 lets only the handler read without approval;
- ``whoami()``: the acting user's username and name (an approval step records its approver);
- ``register_access(case_no, mode, scope, requester, approved_by, purpose)``: writes the
  查阅登记簿 entry of an approved access (第六、七条: 相关情况要在查阅登记簿上进行登记).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import HumanTask, ProcessInstance, User, utcnow
from recording.evidence import AccessLogEntry

if TYPE_CHECKING:
    from engine.execution.runtime import Action

MODES = {"read": "查阅", "copy": "复制", "send": "复印寄送"}


def case_by_number(session: Session, case_no: str) -> ProcessInstance | None:
    return session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == (case_no or "").strip()))


def handlers_of(session: Session, instance: ProcessInstance) -> list[str]:
    """The users who completed a task of the case, in the order they first did."""
    rows = session.execute(select(HumanTask.completed_by).where(HumanTask.instance_id == instance.id,
                                                                 HumanTask.completed_by.is_not(None))
                           .order_by(HumanTask.completed_at, HumanTask.id)).scalars()
    return list(dict.fromkeys(rows))


def register_case_access(session: Session, user: User | None, case_no: str, mode: str, scope: str,
                         requester: str, approved_by: str, purpose: str, request_id: int | None) -> AccessLogEntry:
    if mode not in MODES:
        raise ValueError(f"未知的调阅方式 {mode!r}")
    instance = case_by_number(session, case_no)
    if instance is None:
        raise ValueError(f"案件编号 {case_no} 不存在")
    entry = AccessLogEntry(at=utcnow(), username=user.username if user else "system", attachment_id=None,
                           instance_id=instance.id, business_key=instance.business_key, action=mode,
                           purpose=str(purpose or "")[:500], requester=str(requester or "")[:200],
                           approved_by=str(approved_by or "")[:200], scope=str(scope or ""), request_id=request_id)
    session.add(entry)
    return entry


def helpers_for(action: Action) -> dict[str, Callable[..., Any]]:
    def case_file(case_no: str) -> dict:
        instance = case_by_number(action.session, case_no)
        if instance is None:
            return {"found": False, "title": "", "handlers": [], "mine": False}
        handlers = handlers_of(action.session, instance)
        return {"found": True, "title": instance.title or "", "handlers": handlers,
                "mine": bool(action.user) and action.user.username in handlers}

    def whoami() -> dict:
        user = action.user
        return {"username": user.username, "name": user.full_name} if user else {"username": "", "name": "系统"}

    def register_access(case_no, mode, scope, requester, approved_by, purpose) -> None:
        register_case_access(action.session, action.user, case_no, mode, scope, requester, approved_by, purpose,
                             action.instance.id if action.instance else None)

    return {"case_file": case_file, "whoami": whoami, "register_access": register_access}
