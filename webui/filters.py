"""Template filters: times in Beijing time, audit actions in Chinese."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
ACTIONS = {
    "start": "发起案件", "complete": "办理", "claim": "领取", "unclaim": "退回领取", "delegate": "转办",
    "timer": "期限到达", "end": "办结", "message_sent": "移送", "message_received": "收到移送",
    "deploy": "部署", "job_failed": "后台任务失败", "comment": "意见", "suspend": "挂起", "resume": "恢复", "terminate": "终止", "warning": "提示", "migrate": "迁移到新版本",
}


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(TZ).strftime(fmt) if value else ""


def action_label(action: str) -> str:
    return ACTIONS.get(action, action)


def register(app) -> None:
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["action_label"] = action_label
