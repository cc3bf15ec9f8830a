"""The two 名录库 of a draw: regulated entities (imported from xlsx/csv, edited in the web, every
change kept) and the inspectors (users of the inspection posts holding a valid 执法证)."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from typing import IO, Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import Membership, User, utcnow

from .models import CATEGORIES, RISK_LEVELS, EntityChange, RegulatedEntity

INSPECTION_POSTS = ("supervision.investigate",)  # 调查岗: who carries out 现场检查
# Column headings accepted on import (the bureau's spreadsheets use the Chinese names).
HEADINGS = {
    "统一社会信用代码": "credit_code", "名称": "name", "单位名称": "name", "地址": "address",
    "行业": "industry", "重点排污单位": "key_polluter", "特殊监管对象": "special_supervision",
    "风险等级": "risk_level", "所属乡镇": "township",
}
FIELDS = ("credit_code", "name", "address", "industry", "key_polluter", "special_supervision", "risk_level",
          "township", "active")
LABELS = {"credit_code": "统一社会信用代码", "name": "名称", "address": "地址", "industry": "行业",
          "key_polluter": "重点排污单位", "special_supervision": "特殊监管对象", "risk_level": "风险等级",
          "township": "所属乡镇", "active": "在册"}
CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_YES = {"是", "yes", "y", "true", "1", "√", "重点"}


class DirectoryInvalid(ValueError):
    """Bad rows in an import or a bad edit; ``errors`` lists each in Chinese, nothing was saved."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("；".join(errors))


def _flag(value: Any) -> bool:
    return str(value or "").strip().lower() in _YES


def clean(values: Mapping[str, Any], where: str = "") -> tuple[dict[str, Any], list[str]]:
    """Typed values of one entity, and what is wrong with them."""
    out = {"credit_code": str(values.get("credit_code") or "").strip().upper(),
           "name": str(values.get("name") or "").strip(),
           "address": str(values.get("address") or "").strip(),
           "industry": str(values.get("industry") or "").strip(),
           "key_polluter": _flag(values.get("key_polluter")),
           "special_supervision": _flag(values.get("special_supervision")),
           "risk_level": str(values.get("risk_level") or "中").strip().removesuffix("风险") or "中",
           "township": str(values.get("township") or "").strip(),
           "active": _flag(values.get("active", "是"))}
    errors = []
    if not CREDIT_CODE.match(out["credit_code"]):
        errors.append(f"{where}统一社会信用代码“{out['credit_code']}”不是18位有效代码")
    if not out["name"]:
        errors.append(f"{where}名称不能为空")
    if out["risk_level"] not in RISK_LEVELS:
        errors.append(f"{where}风险等级应为 高/中/低")
    return out, errors


def read_table(stream: IO[bytes], filename: str) -> list[dict[str, Any]]:
    """Rows of an .xlsx or .csv file as {field: value}, by the Chinese column headings."""
    if filename.lower().endswith(".xlsx"):
        import openpyxl
        try:
            sheet = openpyxl.load_workbook(io.BytesIO(stream.read()), read_only=True, data_only=True).active
        except Exception as e:  # not a workbook at all
            raise DirectoryInvalid([f"无法读取 Excel 文件：{type(e).__name__}"]) from e
        rows = [[("" if c is None else str(c)) for c in row] for row in sheet.iter_rows(values_only=True)]
    elif filename.lower().endswith(".csv"):
        raw = stream.read()
        for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
            try:
                rows = list(csv.reader(io.StringIO(raw.decode(encoding))))
                break
            except UnicodeDecodeError:
                continue
        else:
            raise DirectoryInvalid(["CSV 文件编码无法识别（请使用 UTF-8 或 GBK）"])
    else:
        raise DirectoryInvalid(["请上传 .xlsx 或 .csv 文件"])
    if not rows:
        raise DirectoryInvalid(["文件为空"])
    header = [HEADINGS.get(h.strip()) for h in rows[0]]
    if "credit_code" not in header or "name" not in header:
        raise DirectoryInvalid(["第一行须为列名，至少包括“统一社会信用代码”和“名称”"])
    return [{k: v for k, v in zip(header, row) if k} for row in rows[1:] if any(str(c).strip() for c in row)]


def _record(session: Session, entity: RegulatedEntity, changes: dict[str, list], actor: str | None,
            source: str) -> None:
    if changes:
        entity.updated_at, entity.updated_by = utcnow(), actor
        session.flush()
        session.add(EntityChange(entity_id=entity.id, actor=actor, source=source,
                                 changes=json.dumps(changes, ensure_ascii=False)))


def _apply(entity: RegulatedEntity, values: Mapping[str, Any]) -> dict[str, list]:
    changes = {}
    for f in FIELDS:
        if getattr(entity, f) != values[f]:
            changes[f] = [getattr(entity, f), values[f]]
            setattr(entity, f, values[f])
    return changes


def import_rows(session: Session, rows: Iterable[Mapping[str, Any]], actor: str | None) -> dict[str, int]:
    """Add new entities and update known ones (by 统一社会信用代码); all rows or none."""
    cleaned, errors, seen = [], [], set()
    for n, row in enumerate(rows, start=2):
        values, problems = clean(row, f"第{n}行：")
        if values["credit_code"] in seen:
            problems.append(f"第{n}行：统一社会信用代码 {values['credit_code']} 重复")
        seen.add(values["credit_code"])
        cleaned.append(values)
        errors += problems
    if errors:
        raise DirectoryInvalid(errors)
    added = updated = 0
    for values in cleaned:
        entity = session.scalar(select(RegulatedEntity).where(RegulatedEntity.credit_code == values["credit_code"]))
        if entity is None:
            entity = RegulatedEntity(**values, updated_by=actor)
            session.add(entity)
            session.flush()
            _record(session, entity, {f: [None, values[f]] for f in FIELDS}, actor, "import")
            added += 1
        else:
            changes = _apply(entity, values)
            _record(session, entity, changes, actor, "import")
            updated += bool(changes)
    return {"added": added, "updated": updated}


def update(session: Session, entity_id: int, values: Mapping[str, Any], actor: str | None) -> RegulatedEntity:
    entity = session.get(RegulatedEntity, entity_id)
    if entity is None:
        raise DirectoryInvalid([f"名录库中没有编号 {entity_id} 的对象"])
    cleaned, errors = clean(values)
    other = session.scalar(select(RegulatedEntity.id).where(RegulatedEntity.credit_code == cleaned["credit_code"],
                                                          RegulatedEntity.id != entity_id))
    if other:
        errors.append(f"统一社会信用代码 {cleaned['credit_code']} 已属于名录库中另一对象")
    if errors:
        raise DirectoryInvalid(errors)
    _record(session, entity, _apply(entity, cleaned), actor, "web")
    return entity


def entities(session: Session, active_only: bool = False) -> list[RegulatedEntity]:
    query = select(RegulatedEntity).order_by(RegulatedEntity.credit_code)
    if active_only:
        query = query.where(RegulatedEntity.active)
    return list(session.scalars(query))


def history(session: Session, entity_id: int) -> list[dict[str, Any]]:
    out = []
    for c in session.scalars(select(EntityChange).where(EntityChange.entity_id == entity_id)
                             .order_by(EntityChange.id.desc())):
        out.append({"at": c.at, "actor": c.actor, "source": c.source,
                    "changes": [(LABELS.get(f, f), old, new) for f, (old, new) in json.loads(c.changes).items()]})
    return out


def category_label(entity: RegulatedEntity) -> str:
    return CATEGORIES[entity.category]


def certificate_valid(user: User, on: date) -> bool:
    """A 执法证 number and, where its validity is recorded, ``on`` within it."""
    return bool(user.active and user.cert_no
                and (user.cert_valid_from is None or user.cert_valid_from <= on)
                and (user.cert_valid_until is None or on <= user.cert_valid_until))


def inspector_pool(session: Session, on: date) -> list[User]:
    """执法检查人员名录库: users of the inspection posts whose 执法证 is valid on ``on``."""
    users = session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                            .where(Membership.group_code.in_(INSPECTION_POSTS)).distinct())
    return sorted((u for u in users if certificate_valid(u, on)), key=lambda u: u.cert_no)
