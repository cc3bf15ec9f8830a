"""Tables of 双随机一公开: the 检查对象名录库 with its history, the 随机抽查事项清单, 抽查计划
and draws (国办发〔2015〕58号; 环办〔2015〕88号 for the three categories of targets)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.store.models import Base, utcnow

CATEGORIES = {"key": "重点排污单位", "general": "一般排污单位", "special": "特殊监管对象"}
RISK_LEVELS = ("高", "中", "低")


class RegulatedEntity(Base):
    """One regulated entity of the 名录库."""
    __tablename__ = "regulated_entities"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    industry: Mapped[str] = mapped_column(String(100), default="")
    key_polluter: Mapped[bool] = mapped_column(Boolean, default=False)  # 重点排污单位
    special_supervision: Mapped[bool] = mapped_column(Boolean, default=False)  # 特殊监管对象
    risk_level: Mapped[str] = mapped_column(String(8), default="中")
    township: Mapped[str] = mapped_column(String(100), default="")  # 所属乡镇
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # closed or moved away: kept, not drawn
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(100))

    @property
    def category(self) -> str:
        return "special" if self.special_supervision else "key" if self.key_polluter else "general"


class EntityChange(Base):
    """Append-only history of the 名录库: who changed what, from what to what."""
    __tablename__ = "regulated_entity_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("regulated_entities.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(32))  # import web
    changes: Mapped[str] = mapped_column(Text)  # JSON {field: [old, new]}


class SpotItem(Base):
    """A line of the 随机抽查事项清单 (seed attachment 6's columns)."""
    __tablename__ = "spot_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))  # 事项名称
    basis: Mapped[str] = mapped_column(Text, default="")  # 抽查依据
    target: Mapped[str] = mapped_column(String(300), default="")  # 抽查对象
    content: Mapped[str] = mapped_column(Text, default="")  # 抽查内容
    subject: Mapped[str] = mapped_column(String(200), default="")  # 抽查主体
    method: Mapped[str] = mapped_column(String(200), default="")  # 抽查方式
    ratio: Mapped[str] = mapped_column(String(200), default="")  # 抽查比例
    frequency: Mapped[str] = mapped_column(String(200), default="")  # 抽查频次
    note: Mapped[str] = mapped_column(String(300), default="")
    sort: Mapped[int] = mapped_column(Integer, default=0)


class SpotPlan(Base):
    """抽查计划: one period and one 事项, with a ratio and frequency per category."""
    __tablename__ = "spot_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[int] = mapped_column(ForeignKey("spot_items.id"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    team_size: Mapped[int] = mapped_column(Integer, default=2)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    item: Mapped[SpotItem] = relationship(lazy="joined")
    quotas: Mapped[list[PlanQuota]] = relationship(lazy="selectin", order_by="PlanQuota.category")


class PlanQuota(Base):
    __tablename__ = "spot_plan_quotas"
    plan_id: Mapped[int] = mapped_column(ForeignKey("spot_plans.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)  # CATEGORIES
    ratio: Mapped[Decimal] = mapped_column(Numeric(5, 2))  # percent of the category drawn per round
    frequency: Mapped[str] = mapped_column(String(100), default="")  # e.g. 每季度1次


class Draw(Base):
    """One draw: everything needed to recompute it (snapshots of both lists, the seed, the algorithm)."""
    __tablename__ = "spot_draws"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("spot_plans.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("spot_draws.id"))  # a recusal redraw's draw
    kind: Mapped[str] = mapped_column(String(16))  # batch recusal
    algorithm: Mapped[str] = mapped_column(String(32))
    seed: Mapped[str] = mapped_column(String(64))  # hex, from the OS random source
    entities_snapshot: Mapped[str] = mapped_column(Text)
    entities_hash: Mapped[str] = mapped_column(String(64))
    inspectors_snapshot: Mapped[str] = mapped_column(Text)
    inspectors_hash: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[str] = mapped_column(Text)  # JSON: quotas / team size / recusal
    result: Mapped[str] = mapped_column(Text)  # JSON: [{credit_code, inspectors: [cert_no …]}]
    result_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)  # recusal: why
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)
    drawn_by: Mapped[str | None] = mapped_column(String(100))
    confirmed_at: Mapped[datetime | None]  # cases created, record published
    publication_id: Mapped[int | None] = mapped_column(Integer)


class DrawCase(Base):
    """The inspection case a confirmed draw started for one drawn entity."""
    __tablename__ = "spot_draw_cases"
    __table_args__ = (UniqueConstraint("draw_id", "credit_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("spot_draws.id"), index=True)
    credit_code: Mapped[str] = mapped_column(String(18))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
