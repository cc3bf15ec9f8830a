"""Template filters: times in Beijing time, audit actions, posts and people in Chinese."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from flask import g, has_request_context
from sqlalchemy import literal, select, union_all

from engine.inbox import tasks
from engine.store import versioned
from engine.store.models import Department, Group, User

from .database import get_db

TZ = ZoneInfo("Asia/Shanghai")
ACTIONS = {
    "start": "发起案件", "complete": "办理", "claim": "领取", "unclaim": "退还到岗位", "delegate": "转办",
    "timer": "期限到达", "end": "办结", "message_sent": "移送", "message_received": "收到移送",
    "deploy": "部署", "job_failed": "后台任务失败", "comment": "意见", "suspend": "挂起", "resume": "恢复", "terminate": "终止", "warning": "提示", "migrate": "迁移到新版本",
    "return": "退回", "draft": "暂存", "recusal": "回避", "deadline_moved": "期限重算", "evidence_upload": "上传执法记录", "evidence_exception_requested": "申请无法记录情况说明",
    "evidence_exception_approved": "批准无法记录情况说明", "evidence_exception_rejected": "驳回无法记录情况说明",
    "evidence_long_term": "执法记录长期保存", "evidence_purged": "执法记录到期删除",
    "device_added": "登记执法记录仪", "device_checkout": "领用执法记录仪", "device_return": "归还执法记录仪",
    "document_draft": "上传文书修改稿", "document_issue": "签发文书", "document_served": "登记文书送达",
    "deploy_documents": "部署文书模板", "case_file": "生成案卷",
    "oversight": "督办", "oversight_answered": "答复督办",
}


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(TZ).strftime(fmt) if value else ""


def action_label(action: str) -> str:
    return ACTIONS.get(action, action)


_NAMES = union_all(select(literal("posts"), Group.code, Group.name),
                   select(literal("people"), User.username, User.full_name),
                   select(literal("departments"), Department.code, Department.name))


def _read_names(session) -> dict[str, MappingProxyType]:
    names = {"posts": {}, "people": {}, "departments": {}}
    for which, code, name in session.execute(_NAMES):
        names[which][code] = name
    return {which: MappingProxyType(found) for which, found in names.items()}


def _versions(session) -> dict[str, int]:
    """This request's catalog versions: read with the menus (webui/menus.py), else alone."""
    if "zhifa_versions" not in g:
        g.zhifa_versions = versioned.read(session)
    return g.zhifa_versions


def _copy(kind: str, load):
    """The server's copy of ``kind`` (engine/store/versioned.py), once per request."""
    key = f"zhifa_copy_{kind}"
    if key not in g:
        with get_db().reading() as session:
            setattr(g, key, versioned.copy(session, kind, _versions(session)[kind], load))
    return g.get(key)


def _names(kind: str) -> Mapping[str, str]:
    """Post code → 部门·岗位, username → 姓名, department code → name."""
    if not has_request_context():
        return {}
    return _copy(versioned.ORGANISATION, _read_names)[kind]


def process_names() -> Mapping[str, str]:
    """Process key → the name of its newest version (the 流程 column and filter of the inbox)."""
    return _copy(versioned.PROCESSES, tasks.process_names)


def post_names(codes: str | None) -> str:
    """``leadership.chief,leadership.deputy`` → ``局领导·主要负责人、局领导·分管负责人``."""
    names = _names("posts")
    return "、".join(names.get(c.strip(), c.strip()) for c in (codes or "").split(",") if c.strip())


def person(username: str | None) -> str:
    """A username as the officer's name (the username itself when unknown)."""
    return _names("people").get(username, username) if username else ""


def department(code: str | None) -> str:
    return _names("departments").get(code, code) if code else ""
def badge(count: int) -> str:
    """A menu count: counted up to tasks.COUNT_CAP, above it "99+"."""
    return f"{tasks.COUNT_CAP}+" if count > tasks.COUNT_CAP else str(count)


def register(app) -> None:
    app.jinja_env.filters["badge"] = badge
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["action_label"] = action_label
    app.jinja_env.filters["post_names"] = post_names
    app.jinja_env.filters["person"] = person
    app.jinja_env.filters["department"] = department
    app.jinja_env.globals["process_names"] = process_names
