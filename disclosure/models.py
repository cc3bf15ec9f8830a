"""Tables of 行政执法公示.

``publications`` is the only table the public site reads: every row is a snapshot written
when something is published (a masked decision, an inspection result, a draw record, the
权责清单, the officers list …), so the public app never needs case, user or file tables.
``power_items`` is the 权责清单 and 办事指南 as legal staff maintain it internally; publishing
copies it into a publication.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, utcnow

# kind → the public site's name for it
KINDS = {
    "penalty_decision": "行政处罚决定",
    "permit_decision": "行政许可决定",
    "inspection_result": "抽查检查结果",
    "draw": "双随机抽取记录",
    "powers": "行政执法权责清单",
    "spot_items": "随机抽查事项清单",
    "officers": "执法人员名单",
    "diagram": "执法流程图",
    "annual": "年度行政执法数据",
}
DECISION_KINDS = ("penalty_decision", "permit_decision", "inspection_result")
# state: draft (written by the process, awaiting 法制股), published, withdrawn (撤销/确认违法 …:
# only the notice stays public), superseded (a newer snapshot of the same list replaced it)
STATES = {"draft": "待审核发布", "published": "已公示", "withdrawn": "已撤回", "superseded": "已更新"}


class Publication(Base):
    __tablename__ = "publications"
    __table_args__ = (Index("ix_publications_kind_state", "kind", "state", "published_at"),
                      Index("ix_publications_state_due", "state", "due_on"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    slug: Mapped[str | None] = mapped_column(String(200), index=True)  # lists: one current snapshot per slug
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text, default="{}")  # JSON, already masked
    state: Mapped[str] = mapped_column(String(16), default="draft")
    # internal: where the record came from (never read by the public app)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    private_terms: Mapped[str] = mapped_column(Text, default="{}")  # JSON: names/addresses that must not appear
    facts: Mapped[str] = mapped_column(Text, default="{}")  # JSON for the annual figures, e.g. {"fine": "5000.00"}
    document_no: Mapped[str | None] = mapped_column(String(100))
    decided_on: Mapped[date | None] = mapped_column(Date)  # decision date, or the day the inspection ended
    due_on: Mapped[date | None] = mapped_column(Date)  # statutory publication deadline
    drafted_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None]
    withdrawal_kind: Mapped[str | None] = mapped_column(String(16))  # 撤销 变更 确认违法 确认无效
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    withdrawal_basis_on: Mapped[date | None] = mapped_column(Date)  # when the decision was 撤销/变更
    withdraw_due_on: Mapped[date | None] = mapped_column(Date)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(100))


class PowerItem(Base):
    """One line of the 行政执法权责清单 (seed attachment 5); 行政许可 lines carry the 办事指南."""
    __tablename__ = "power_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(32))  # 行政许可 行政处罚 行政强制 行政检查
    name: Mapped[str] = mapped_column(String(300))
    basis: Mapped[str] = mapped_column(Text, default="")  # 实施依据
    duties: Mapped[str] = mapped_column(Text, default="")  # 责任事项
    period: Mapped[str] = mapped_column(String(300), default="")  # 办理期限
    fees: Mapped[str] = mapped_column(String(300), default="")  # 收费情况
    liability: Mapped[str] = mapped_column(Text, default="")  # 违法责任
    materials: Mapped[str] = mapped_column(Text, default="")  # 办事指南: 申请材料
    service_phone: Mapped[str] = mapped_column(String(100), default="")
    complaint_org: Mapped[str] = mapped_column(String(100), default="")
    complaint_phone: Mapped[str] = mapped_column(String(100), default="")
    service_place: Mapped[str] = mapped_column(String(300), default="")
    process_key: Mapped[str | None] = mapped_column(String(200))  # its procedure diagram
    sort: Mapped[int] = mapped_column(Integer, default=0)
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
