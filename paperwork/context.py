"""What a 文书 template can print: the case's variables, the labels of its enum values
(``penalty_kind_text``), the chosen officers by name and 执法证 (``investigators_text``)
and the bureau's own particulars (BUILTINS)."""
from __future__ import annotations

import os
from datetime import date
from typing import Any, Iterable, Mapping

from docxtpl import Listing

# The bureau's particulars, ZHIFA_<NAME upper-cased> to change them. The 复议 body: a county
# bureau is a 工作部门 of the county government, which hears 复议 against it (行政复议法
# 2023 art. 24(1)); the court: the basic court where the agency sits (行政诉讼法 art. 18).
SETTINGS = {
    "agency_name": ("鲁山县环境保护局", "机关名称"),
    "agency_address": ("鲁山县人民路", "机关地址"),
    "agency_phone": ("0375-5052345", "联系电话"),
    "review_body": ("鲁山县人民政府", "行政复议机关"),
    "court": ("鲁山县人民法院", "管辖法院"),
    "payment_place": ("指定的代收机构（以缴款通知书载明的账户为准）", "罚款缴纳地点"),
}
# Filled in for each document when it is produced.
PER_DOCUMENT = {
    "doc_no": "文号（签发时编号）",
    "issued_on": "签发日期",
    "case_no": "案件编号",
    "served_title": "送达的文书名称（送达回证）",
    "served_no": "送达的文书文号（送达回证）",
}
BUILTINS = {**{k: label for k, (_, label) in SETTINGS.items()}, **PER_DOCUMENT}
LABEL_SUFFIX = "_text"


def settings(env: Mapping[str, str] | None = None) -> dict[str, str]:
    env = os.environ if env is None else env
    return {name: env.get(f"ZHIFA_{name.upper()}", default) for name, (default, _) in SETTINGS.items()}


def known_names(fields: Iterable, numbered: Iterable[str] = ()) -> set[str]:
    """Every name a template of a process may use: its form fields, the variables its
    tasks number (documentNumber) and the builtins."""
    names = set(BUILTINS) | set(numbered)
    for f in fields:
        names.add(f.id)
        if f.type in ("enum", "officers"):
            names.add(f.id + LABEL_SUFFIX)
    return names


def _printable(value: Any) -> Any:
    if isinstance(value, str) and "\n" in value:
        return Listing(value.replace("\r\n", "\n"))  # line breaks survive into Word
    return value


def build(variables: Mapping[str, Any], fields: Iterable, *, case_no: str | None,
          doc_no: str | None = None, issued_on: date | None = None,
          extra: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
          people: Mapping[int, str] | None = None) -> dict[str, Any]:
    """``people``: user id → 姓名（执法证 号码）, for ``officers`` fields."""
    context: dict[str, Any] = {k: _printable(v) for k, v in variables.items()
                               if not k.startswith("_") and v not in (None, "")}
    for f in fields:
        value = variables.get(f.id)
        if f.type == "enum" and value not in (None, ""):
            context[f.id + LABEL_SUFFIX] = f.option_labels.get(str(value), str(value))
        elif f.type == "officers" and isinstance(value, list) and value:
            context[f.id + LABEL_SUFFIX] = "、".join((people or {}).get(i, "（人员已删除）") for i in value)
    context.update(settings(env))
    context["case_no"] = case_no
    if doc_no:
        context["doc_no"] = doc_no
    if issued_on:
        context["issued_on"] = issued_on
    context.update(extra or {})
    return {k: v for k, v in context.items() if v not in (None, "")}
