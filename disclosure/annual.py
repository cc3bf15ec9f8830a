"""年度行政执法数据: the previous year's figures, published by 31 January (国办发〔2018〕118号:
每年1月31日前公开本机关上年度行政执法总体情况有关数据).

Figures come from the case projection (cases started in the year, completed steps) and from the
decisions' publications, never from the workflow state.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.store.models import HumanTask, ProcessInstance, utcnow
from workdays import calendar
from workdays.calendar import TZ

from .models import Publication
from .publications import publish_snapshot

PROCESS_LABELS = {"permit": "行政许可", "penalty": "行政处罚", "coercion_substitute": "行政强制（代履行）",
                  "inspection": "行政检查"}
HEARING_STEPS = ("UserTask_hold_hearing", "hold_hearing")  # 举行听证 in penalty.bpmn and permit.bpmn
REMEDY_STEPS = ("UserTask_await_remedy_result",)  # 登记复议诉讼结果
PERMIT_DECISION_STEP = ("decide_permit", "decision")  # element, field: grant / deny
DEADLINE_MONTH_DAY = (1, 31)


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return (datetime.combine(date(year, 1, 1), time(), TZ), datetime.combine(date(year + 1, 1, 1), time(), TZ))


def compute(session: Session, year: int) -> dict:
    start, end = _year_bounds(year)
    in_year = (ProcessInstance.started_at >= start) & (ProcessInstance.started_at < end)
    by_kind = dict(session.execute(select(ProcessInstance.process_key, func.count())
                                   .where(in_year, ProcessInstance.process_key.in_(PROCESS_LABELS))
                                   .group_by(ProcessInstance.process_key)).all())

    def completed(elements) -> list[HumanTask]:
        return list(session.scalars(select(HumanTask).where(
            HumanTask.state == "completed", HumanTask.element_id.in_(elements),
            HumanTask.completed_at >= start, HumanTask.completed_at < end)))

    decisions = {"grant": 0, "deny": 0}
    for task in completed((PERMIT_DECISION_STEP[0],)):
        value = json.loads(task.submitted or "{}").get(PERMIT_DECISION_STEP[1])
        if value in decisions:
            decisions[value] += 1
    penalties = list(session.scalars(select(Publication).where(
        Publication.kind == "penalty_decision", Publication.state.in_(("published", "withdrawn")),
        Publication.decided_on >= date(year, 1, 1), Publication.decided_on < date(year + 1, 1, 1))))
    fines = sum((Decimal(json.loads(p.facts or "{}").get("fine") or 0) for p in penalties), Decimal("0"))
    rows = [
        *[(f"{label}案件（件）", by_kind.get(key, 0)) for key, label in PROCESS_LABELS.items()],
        ("作出行政处罚决定（件）", len(penalties)),
        ("罚款金额（元）", f"{fines:.2f}"),
        ("准予行政许可（件）", decisions["grant"]),
        ("不予行政许可（件）", decisions["deny"]),
        ("行政检查（件）", by_kind.get("inspection", 0)),
        ("行政强制措施（件）", by_kind.get("coercion_substitute", 0)),
        ("举行听证（次）", len(completed(HEARING_STEPS))),
        ("行政复议、行政诉讼结果登记（件）", len(completed(REMEDY_STEPS))),
        ("撤销、变更或确认违法后撤回公示（件）", sum(p.state == "withdrawn" for p in penalties)),
    ]
    return {"year": year, "rows": [[k, str(v)] for k, v in rows],
            "chart": {"labels": list(PROCESS_LABELS.values()),
                      "values": [by_kind.get(k, 0) for k in PROCESS_LABELS]}}


def publish(session: Session, year: int, actor: str | None):
    return publish_snapshot(session, "annual", f"annual:{year}", f"{year}年度行政执法数据", compute(session, year), actor)


def due(today: date) -> tuple[int, date]:
    """The year whose data is due next and its deadline (31 January of the following year)."""
    return today.year - 1, date(today.year, *DEADLINE_MONTH_DAY)


def is_published(session: Session, year: int) -> bool:
    return session.scalar(select(Publication.id).where(Publication.slug == f"annual:{year}",
                                                       Publication.state == "published")) is not None


_last_check: datetime | None = None


def publish_when_due(db) -> Publication | None:
    """The worker's hook: once a year is over its figures are complete, so the first pass of the
    new year publishes them — well before 31 January. Checked at most once an hour."""
    global _last_check
    now = utcnow()
    if _last_check is not None and now - _last_check < timedelta(hours=1):
        return None
    _last_check = now
    year, _ = due(calendar.today())
    with db.transaction() as session:
        if is_published(session, year):
            return None
        return publish(session, year, None)
