"""笔录 made on demand during a step, any number of times (one 调查询问笔录 per person
questioned, one 现场检查（勘察）笔录 per site visit): what each kind asks for.

A user task offers them with the camunda:property ``notes`` = comma-separated template
keys, e.g. ``penalty.site_inspection,penalty.inquiry``. The part after the process prefix
names the kind, whose own form is defined here: a 笔录's fields are not case variables
(a second 询问笔录 must not overwrite the first), so they are kept with the issued note.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.spec.forms import Field, Form

PROPERTY = "notes"
TODAY = [("notAfter", "today")]


@dataclass(frozen=True)
class Kind:
    title: str
    subject: str     # the field naming whom or what the note is about (shown in its title)
    form: Form


def _officers(fid: str, label: str) -> Field:
    # 行政处罚法 第42条: two or more officers holding a 执法证 (chosen from the registry)
    return Field(fid, label, "officers", required=True, min=Decimal(2))


KINDS = {
    "inquiry": Kind("调查询问笔录", "interviewee_name", Form([
        Field("inquiry_date", "询问日期", "date", required=True, rules=TODAY),
        Field("inquiry_time", "询问起止时间（例如 09:30至10:40）", required=True, maxlength=50),
        Field("inquiry_place", "询问地点", required=True, maxlength=200),
        Field("interviewee_name", "被询问人姓名", required=True, maxlength=100),
        Field("interviewee_id_number", "被询问人身份证件号码", maxlength=30),
        Field("interviewee_position", "工作单位及职务", maxlength=200),
        Field("interviewee_phone", "联系电话", maxlength=30),
        Field("interviewee_relation", "与本案关系（当事人、法定代表人、员工、证人等）", required=True, maxlength=100),
        _officers("inquiry_officers", "询问人、记录人（两名以上持有效执法证的执法人员）"),
        Field("inquiry_record", "询问内容（逐条记录：问：…… 答：……）", "textarea", required=True, maxlength=20000),
        Field("interviewee_note", "被询问人核对意见", maxlength=500,
              default="以上笔录我已看过（或已向我宣读过），与我所说相符。"),
    ])),
    "site_inspection": Kind("现场检查（勘察）笔录", "site_place", Form([
        Field("site_date", "检查（勘察）日期", "date", required=True, rules=TODAY),
        Field("site_time", "检查（勘察）起止时间（例如 14:00至15:30）", required=True, maxlength=50),
        Field("site_place", "检查（勘察）地点", required=True, maxlength=200),
        Field("site_unit", "被检查（勘察）单位或个人", required=True, maxlength=200, default="${party_name}"),
        Field("site_present", "现场负责人（在场人）及职务", maxlength=200),
        _officers("site_officers", "检查（勘察）人、记录人（两名以上持有效执法证的执法人员）"),
        Field("site_record", "现场检查（勘察）情况", "textarea", required=True, maxlength=20000),
        Field("site_party_note", "被检查人核对意见", maxlength=500, default="以上记录属实。"),
    ])),
}


def kind_of(key: str) -> Kind | None:
    """The kind a template key names (``penalty.inquiry`` → 调查询问笔录), or None."""
    prefix, dot, name = key.partition(".")
    return KINDS.get(name) if dot and prefix else None


def fields_of(key: str) -> list[Field]:
    """A note template's own fields (none for other templates)."""
    kind = kind_of(key)
    return kind.form.fields if kind else []


def offered(task_spec) -> list[str]:
    """The note template keys a task offers."""
    return _keys((getattr(task_spec, "extensions", None) or {}).get(PROPERTY))


def _keys(text: str | None) -> list[str]:
    return [k.strip() for k in (text or "").split(",") if k.strip()]


def declaration_problems(text: str) -> list[str]:
    """Deploy-time check of a ``notes`` property: each key names a kind of 笔录 this system has."""
    known = "、".join(f"流程标识.{name}（{kind.title}）" for name, kind in KINDS.items())
    return [f"笔录模板标识“{key}”不可用：可随时制作的笔录为 {known}，例如 penalty.inquiry"
            for key in _keys(text) if kind_of(key) is None]
