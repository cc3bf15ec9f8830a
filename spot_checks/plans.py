"""随机抽查事项清单 and 抽查计划 (a period, one 事项, a ratio and frequency per category)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure.publications import publish_snapshot

from .models import CATEGORIES, PlanQuota, SpotItem, SpotPlan

# The bureau's 随机抽查事项清单 as first published (seed attachment 6 gives only its columns; these lines
# follow 环办〔2015〕88号's categories). Legal staff change them on the 双随机 page.
SEED_ITEMS = [
    {"name": "污染源日常环境监管随机抽查", "basis": "《中华人民共和国环境保护法》第二十四条；国办发〔2015〕58号；环办〔2015〕88号",
     "target": "排污单位（重点排污单位、一般排污单位、特殊监管对象）",
     "content": "环境影响评价和“三同时”执行情况、污染防治设施运行、污染物排放、排污许可证执行、环境管理台账和自动监测",
     "subject": "鲁山县环境保护局环境监察大队", "method": "双随机抽查、现场检查",
     "ratio": "重点排污单位不低于20%，一般排污单位不低于5%，特殊监管对象100%", "frequency": "每季度1次", "note": ""},
    {"name": "危险废物经营单位监督检查", "basis": "《中华人民共和国固体废物污染环境防治法》；《危险废物经营许可证管理办法》第十七条",
     "target": "持有危险废物（收集）经营许可证的单位", "content": "经营设施、贮存、转移联单和经营记录簿",
     "subject": "鲁山县环境保护局环境监察大队、危废与辐射股", "method": "双随机抽查、现场检查",
     "ratio": "100%", "frequency": "每年1次", "note": ""},
]


class PlanInvalid(ValueError):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("；".join(errors))


def items(session: Session) -> list[SpotItem]:
    return list(session.scalars(select(SpotItem).order_by(SpotItem.sort, SpotItem.id)))


def seed_items(session: Session) -> None:
    if session.scalar(select(SpotItem.id).limit(1)) is None:
        session.add_all(SpotItem(sort=n, **item) for n, item in enumerate(SEED_ITEMS))
        session.flush()


ITEM_FIELDS = ("name", "basis", "target", "content", "subject", "method", "ratio", "frequency", "note")


def save_item(session: Session, item_id: int | None, values: Mapping[str, Any]) -> SpotItem:
    cleaned = {f: str(values.get(f) or "").strip() for f in ITEM_FIELDS}
    if not cleaned["name"]:
        raise PlanInvalid(["事项名称不能为空"])
    item = session.get(SpotItem, item_id) if item_id else SpotItem(sort=len(items(session)))
    if item is None:
        raise PlanInvalid([f"抽查事项 {item_id} 不存在"])
    for f, v in cleaned.items():
        setattr(item, f, v)
    session.add(item)
    session.flush()
    return item


def create(session: Session, name: str, item_id: int, period_start: date | None, period_end: date | None,
           team_size: int, quotas: Mapping[str, tuple[Any, str]], actor: str | None) -> SpotPlan:
    """``quotas``: category → (ratio in percent, frequency); an empty ratio leaves the category out."""
    errors = []
    if not (name or "").strip():
        errors.append("计划名称不能为空")
    if session.get(SpotItem, item_id) is None:
        errors.append("请选择随机抽查事项")
    if period_start is None or period_end is None or period_end < period_start:
        errors.append("请填写计划期间（结束日不早于开始日）")
    if team_size < 2:
        errors.append("每个检查组不得少于2名执法人员（河南省行政执法条例第24条）")
    parsed = {}
    for category, (ratio, frequency) in quotas.items():
        if category not in CATEGORIES or ratio in (None, ""):
            continue
        try:
            value = Decimal(str(ratio)).quantize(Decimal("0.01"))
        except InvalidOperation:
            errors.append(f"{CATEGORIES[category]}的抽查比例应为数字（百分比）")
            continue
        if not 0 < value <= 100:
            errors.append(f"{CATEGORIES[category]}的抽查比例应大于0且不超过100%")
        parsed[category] = (value, (frequency or "").strip())
    if not parsed:
        errors.append("至少为一类检查对象设定抽查比例")
    if errors:
        raise PlanInvalid(errors)
    plan = SpotPlan(name=name.strip(), item_id=item_id, period_start=period_start, period_end=period_end,
                    team_size=team_size, created_by=actor)
    session.add(plan)
    session.flush()
    session.add_all(PlanQuota(plan_id=plan.id, category=c, ratio=r, frequency=f) for c, (r, f) in parsed.items())
    session.flush()
    session.refresh(plan)
    return plan


def all_plans(session: Session) -> list[SpotPlan]:
    return list(session.scalars(select(SpotPlan).order_by(SpotPlan.id.desc())))


def publish_items(session: Session, actor: str | None):
    """The 随机抽查事项清单 on the public site (事前公开)."""
    rows = [{f: getattr(i, f) for f in ITEM_FIELDS} for i in items(session)]
    return publish_snapshot(session, "spot_items", "spot_items", "随机抽查事项清单", {"items": rows}, actor)


DRAW_POSTS = frozenset({"supervision.file", "leadership.chief", "leadership.deputy"})


def may_draw(user) -> bool:
    """Plans and draws: 立案岗 (who registers inspections) and the bureau's leaders."""
    return bool(DRAW_POSTS & {g.code for g in user.groups})


def may_view(user) -> bool:
    """The 名录库 and the draw records: those who draw, and 法制股 who supervises them."""
    return may_draw(user) or bool({"legal.review", "legal.head"} & {g.code for g in user.groups})
