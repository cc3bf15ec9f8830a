"""文书 rendering: a .docx template (docxtpl: Jinja placeholders typed in Word/WPS) filled
with the case's data.

Templates are edited by legal staff, so they run in Jinja's sandbox with autoescaping
(a party name containing ``&`` or ``<`` must not break the document's XML). A value the
case does not have yet prints as a blank line to fill in, so a preview of a half-filled
form still shows the whole document.
"""
from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any, Mapping

from docxtpl import DocxTemplate
from jinja2 import TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

from . import amounts

BLANK = "＿＿＿＿＿＿"


class TemplateInvalid(ValueError):
    """The .docx is not a template that can be rendered (the message is for legal staff)."""


class _Blank(Undefined):
    """A value the case does not have (yet): printed as a line to fill in by hand."""

    def __str__(self) -> str:
        return BLANK

    def __iter__(self):
        return iter(())

    def __bool__(self) -> bool:
        return False


def _date(value) -> str:
    """2026-09-30 → 2026年9月30日 (GB/T 9704 dates in Arabic figures, no leading zeros)."""
    if isinstance(value, Undefined) or value in (None, ""):
        return BLANK
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.date()
    return f"{value.year}年{value.month}月{value.day}日"


def _money(function):
    def filter_(value):
        if isinstance(value, Undefined) or value in (None, ""):
            return BLANK
        try:
            return function(value)
        except ValueError:
            return str(value)
    return filter_


def _yes_no(value, yes: str = "是", no: str = "否") -> str:
    return yes if value is True or value == "true" else no


FILTERS = {
    "capitals": _money(amounts.capitals),   # 伍万元整
    "yuan": _money(amounts.figures),        # 50,000.00
    "cn_date": _date,                       # 2026年9月30日
    "yes_no": _yes_no,
}


def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=_Blank, autoescape=True)
    env.filters.update(FILTERS)
    return env


def _template(content: bytes) -> DocxTemplate:
    try:
        template = DocxTemplate(io.BytesIO(content))
        template.init_docx()
    except Exception as e:  # python-docx raises several kinds for a file that is not a .docx
        raise TemplateInvalid(f"不是有效的 Word 文档（.docx）：{e}") from None
    return template


def placeholders(content: bytes) -> set[str]:
    """The case variables a template uses; TemplateInvalid for a syntax error or an unknown filter."""
    template = _template(content)
    env = environment()
    try:
        names = template.get_undeclared_template_variables(env)
        xml = template.patch_xml(template.get_xml())
        env.from_string(xml)  # compiling finds unknown filters and tests
    except TemplateError as e:
        line = f"（第 {e.lineno} 行）" if getattr(e, "lineno", None) else ""
        raise TemplateInvalid(f"占位符语法错误{line}：{e.message}") from None
    return set(names)


def render(content: bytes, context: Mapping[str, Any]) -> bytes:
    """The filled-in .docx."""
    template = _template(content)
    try:
        template.render(dict(context), environment(), autoescape=True)
    except TemplateError as e:
        raise TemplateInvalid(f"文书模板无法填充：{e.message}") from None
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()
