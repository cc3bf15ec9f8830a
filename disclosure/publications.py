"""Publishing: a decision drafted from its case with personal data masked, reviewed by 法制股,
published by its deadline, withdrawn with a public notice when the decision is 撤销/变更/确认违法;
and snapshots of the lists (权责清单, 执法人员名单 …) that replace the previous one.

Deadlines (国办发〔2018〕118号: 行政许可、行政处罚决定自作出之日起7个工作日内公开; 国发〔2019〕5号:
抽查结果20个工作日内; 行政处罚法 第48条第2款: 被变更、撤销、确认违法或者确认无效的，三日内撤回并说明理由)
come from the model (``deadline('penalty.publish', …)``), so legal staff keep them in the period table.
"""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.store.models import ProcessInstance, utcnow
from workdays import calendar

from . import masking
from .models import DECISION_KINDS, KINDS, Publication

WITHDRAWAL_KINDS = ("撤销", "变更", "确认违法", "确认无效")
WITHDRAW_WORKING_DAYS = 3  # 行政处罚法 第48条第2款 (三日, working days by 第85条)


class PublicationError(ValueError):
    """A publishing action the rules do not allow; the message says which rule."""


PENALTY_KINDS = {"warning": "警告", "fine": "罚款", "confiscation": "没收违法所得、没收非法财物",
                 "suspension": "责令停产停业", "revocation": "暂扣、吊销许可证件"}
PARTY_TYPES = {"citizen": "公民", "organization": "法人或其他组织"}
PERMIT_RESULTS = {"grant": "准予许可", "granted": "准予许可", "deny": "不予许可", "denied": "不予许可"}
INSPECTION_RESULTS = {"compliant": "未发现环境违法行为", "violation": "发现环境违法行为"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.2f} 元"
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return str(value)


def _party(case: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """The party as published, and the personal terms (names, addresses) that must not appear."""
    name = (case.get("party_name") or "").strip()
    if case.get("party_type") == "citizen":
        return [("当事人", masking.mask_name(name))], [name], [case.get("party_address") or ""]
    fields = [("当事人", name), ("统一社会信用代码", case.get("credit_code") or ""),
              ("法定代表人（负责人）", case.get("legal_rep") or ""), ("住所", case.get("party_address") or "")]
    return [(k, v) for k, v in fields if v], [], []


def compose(kind: str, case: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]], str, list[str], list[str]]:
    """Title, labelled fields and body text of a decision as the public will read it (not yet masked)."""
    party_fields, names, addresses = _party(case)
    name_shown = party_fields[0][1]
    if kind == "penalty_decision":
        kinds = case.get("penalty_kind")
        kinds = "、".join(PENALTY_KINDS.get(k, k) for k in (kinds if isinstance(kinds, list) else [kinds]) if k)
        fields = [("决定书文号", case.get("document_no") or ""), *party_fields,
                  ("主要违法事实（案由）", case.get("case_reason") or ""), ("处罚依据", case.get("legal_basis") or ""),
                  ("处罚种类", kinds), ("罚款金额", _text(case.get("fine_amount")) if case.get("fine_amount") else ""),
                  ("履行方式和期限", "自收到本决定书之日起十五日内缴至指定银行"),
                  ("作出决定的机关", "鲁山县环境保护局"), ("决定日期", _text(case.get("decided_on")))]
        title = f"{name_shown}环境违法行为行政处罚决定"
    elif kind == "permit_decision":
        fields = [("决定书文号", case.get("document_no") or ""), *party_fields,
                  ("许可事项", case.get("permit_name") or ""), ("项目名称", case.get("project_name") or ""),
                  ("许可决定", PERMIT_RESULTS.get(case.get("permit_result"), case.get("permit_result") or "")),
                  ("作出决定的机关", "鲁山县环境保护局"), ("决定日期", _text(case.get("decided_on")))]
        title = f"{name_shown}{case.get('permit_name') or '行政许可'}决定"
    elif kind == "inspection_result":
        fields = [*party_fields, ("抽查事项", case.get("inspection_matter") or ""),
                  ("检查日期", _text(case.get("decided_on"))),
                  ("检查结果", INSPECTION_RESULTS.get(case.get("inspection_result"), case.get("inspection_result") or "")),
                  ("处理情况", case.get("handling") or "")]
        title = f"{name_shown}抽查检查结果"
    else:
        raise PublicationError(f"未知的公示类别：{kind}")
    return title, [(k, _text(v)) for k, v in fields if v], case.get("summary") or "", names, addresses


def draft(session: Session, kind: str, case: Mapping[str, Any], decided_on: date | None, due_on: date | None,
          instance: ProcessInstance | None = None) -> Publication:
    """A decision's publication as drafted from its case, masked, awaiting 法制股."""
    title, fields, body, names, addresses = compose(kind, {**case, "decided_on": decided_on})
    publication = Publication(kind=kind, title=masking.mask_text(title, names, addresses), state="draft",
                              instance_id=instance.id if instance else None, document_no=case.get("document_no"),
                              decided_on=decided_on, due_on=due_on,
                              private_terms=json.dumps({"names": names, "addresses": [a for a in addresses if a]},
                                                       ensure_ascii=False))
    if case.get("fine_amount"):
        publication.facts = json.dumps({"fine": str(case["fine_amount"])})
    publication.content = json.dumps({
        "fields": [[k, masking.mask_text(v, names, addresses)] for k, v in fields],
        "text": masking.mask_text(body, names, addresses)}, ensure_ascii=False)
    session.add(publication)
    session.flush()
    return publication


def content_of(publication: Publication) -> dict[str, Any]:
    return json.loads(publication.content or "{}")


def _private(publication: Publication) -> tuple[list[str], list[str]]:
    terms = json.loads(publication.private_terms or "{}") or {}
    return terms.get("names", []), terms.get("addresses", [])


def revise(publication: Publication, text: str | None) -> None:
    """法制股's edited body text, masked again (what the reviewer types is checked like the draft)."""
    if text is None:
        return
    names, addresses = _private(publication)
    content = content_of(publication)
    content["text"] = masking.mask_text(text, names, addresses)
    publication.content = json.dumps(content, ensure_ascii=False)


def publish(session: Session, publication: Publication, reviewer: str | None) -> Publication:
    if publication.state != "draft":
        raise PublicationError(f"“{publication.title}”当前状态为{_state(publication)}，不能发布")
    names, addresses = _private(publication)
    found = masking.leaks(publication.title + publication.content, names, addresses)
    if found:
        raise PublicationError("公示内容含有不得公开的个人信息（生态环境行政处罚办法：公开时应当隐去）："
                               + "、".join(found))
    publication.state, publication.reviewed_by, publication.published_at = "published", reviewer, utcnow()
    return publication


def withdraw(session: Session, publication: Publication, withdrawal_kind: str, basis_on: date, reason: str,
             actor: str | None) -> Publication:
    """撤回 a published decision (行政处罚法 第48条第2款): its content leaves the site, a notice with the
    reason stays; the 3-working-day deadline runs from the day the decision was 撤销/变更."""
    if withdrawal_kind not in WITHDRAWAL_KINDS:
        raise PublicationError(f"撤回原因应为：{'、'.join(WITHDRAWAL_KINDS)}")
    if publication.kind not in DECISION_KINDS or publication.state != "published":
        raise PublicationError(f"只能撤回已公示的执法决定（当前：{_state(publication)}）")
    if not (reason or "").strip():
        raise PublicationError("撤回须公开说明理由（行政处罚法第48条第2款）")
    names, addresses = _private(publication)
    publication.state = "withdrawn"
    publication.withdrawal_kind = withdrawal_kind
    publication.withdrawal_reason = masking.mask_text(reason.strip(), names, addresses)
    publication.withdrawal_basis_on = basis_on
    publication.withdraw_due_on = _add_working_days(basis_on, WITHDRAW_WORKING_DAYS)
    publication.withdrawn_at, publication.withdrawn_by = utcnow(), actor
    return publication


def _add_working_days(start: date, n: int) -> date:
    cal = calendar.current()
    try:
        return cal.add_working_days(start, n)
    except calendar.CalendarUnknown as e:  # a year not yet entered: Monday–Friday, like the model helpers
        return cal.assuming(e.year).add_working_days(start, n)


def _state(publication: Publication) -> str:
    from .models import STATES
    return STATES.get(publication.state, publication.state)


def publish_snapshot(session: Session, kind: str, slug: str, title: str, content: Mapping[str, Any],
                     actor: str | None) -> Publication:
    """A new published version of a list; the previous one of the same slug is superseded."""
    if kind not in KINDS:
        raise PublicationError(f"未知的公示类别：{kind}")
    for old in session.scalars(select(Publication).where(Publication.slug == slug, Publication.state == "published")):
        old.state = "superseded"
    publication = Publication(kind=kind, slug=slug, title=title, state="published", reviewed_by=actor,
                              published_at=utcnow(), content=json.dumps(content, ensure_ascii=False, default=str))
    session.add(publication)
    session.flush()
    return publication


def get(session: Session, publication_id: int) -> Publication:
    publication = session.get(Publication, int(publication_id))
    if publication is None:
        raise PublicationError(f"公示记录 {publication_id} 不存在")
    return publication


def for_instance(session: Session, instance_id: int) -> list[Publication]:
    return list(session.scalars(select(Publication).where(Publication.instance_id == instance_id)
                                .order_by(Publication.id)))


def decisions(session: Session, states: tuple[str, ...] = ("draft", "published", "withdrawn")) -> list[Publication]:
    return list(session.scalars(select(Publication).where(Publication.kind.in_(DECISION_KINDS),
                                                          Publication.state.in_(states))
                                .order_by(Publication.id.desc())))


def current_lists(session: Session) -> dict[str, Publication]:
    """The published snapshot of each list (slug → row), for the 公示管理 page."""
    rows = session.scalars(select(Publication).where(Publication.slug.is_not(None), Publication.state == "published",
                                                     Publication.kind != "draw"))
    return {p.slug: p for p in rows}


def counts(session: Session, today: date) -> dict[str, int]:
    """For 流程监控: decisions awaiting publication, those past their deadline, and those published late."""
    pending = Publication.kind.in_(DECISION_KINDS) & (Publication.state == "draft")
    return {
        "pending": session.scalar(select(func.count()).where(pending)) or 0,
        "overdue": session.scalar(select(func.count()).where(pending, Publication.due_on < today)) or 0,
        "published_late": sum(1 for p in session.scalars(select(Publication).where(
            Publication.kind.in_(DECISION_KINDS), Publication.state.in_(("published", "withdrawn")),
            Publication.due_on.is_not(None)))
            if p.published_at and calendar.as_date(p.published_at) > p.due_on),
    }


LEGAL_POSTS = frozenset({"legal.review", "legal.head"})


def may_manage(user) -> bool:
    """公示管理 (the 权责清单, the lists, withdrawals) is 法制股's work."""
    return bool(LEGAL_POSTS & {g.code for g in user.groups})
