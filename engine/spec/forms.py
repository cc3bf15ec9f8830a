"""Generated task forms: ``camunda:formData`` → a form model, validation and coercion.

SpiffWorkflow parses formData but enforces nothing; everything a person submits is
checked here, with messages in Chinese, before it reaches task data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from engine import hooks

FIELD_TYPES = ("string", "textarea", "long", "money", "boolean", "date", "enum", "file")
VALIDATION_CONSTRAINTS = ("required", "min", "max", "minlength", "maxlength", "readonly")
_TRUE = {"true", "on", "1", "yes", "是"}
_FALSE = {"false", "off", "0", "no", "否", ""}
_VAR = re.compile(r"^\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}$")


class FormInvalid(Exception):
    """Submitted values that do not satisfy the form; nothing was changed."""

    def __init__(self, errors: dict[str, str], values: Mapping[str, Any]):
        self.errors = errors
        self.values = dict(values)
        super().__init__("；".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass
class Field:
    id: str
    label: str
    type: str = "string"
    default: str | None = None  # a literal, or ${variable}
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    required: bool = False
    readonly: bool = False
    min: Decimal | None = None
    max: Decimal | None = None
    minlength: int | None = None
    maxlength: int | None = None
    properties: dict[str, str] = field(default_factory=dict)
    auto_number: bool = False  # a document number the engine issues on completion

    @property
    def option_labels(self) -> dict[str, str]:
        return dict(self.options)


@dataclass
class Form:
    fields: list[Field]

    def __bool__(self) -> bool:
        return bool(self.fields)


def form_of(task_spec) -> Form:
    """The form of a parsed user task or start event (empty without formData)."""
    spiff_form = getattr(task_spec, "form", None)
    if spiff_form is not None:  # user tasks: SpiffWorkflow's form objects
        fields = [_field(f.id, f.label, f.type, f.default_value, [(o.id, o.name) for o in getattr(f, "options", [])],
                         {v.name: v.config for v in f.validation}, {p.id: p.value for p in f.properties})
                  for f in spiff_form.fields]
    else:  # start events: our parser's dicts
        stored = (getattr(task_spec, "extensions", None) or {}).get("formData", [])
        fields = [_field(f["id"], f["label"], f["type"], f["default"], [tuple(o) for o in f["options"]],
                         dict(f["validation"]), f["properties"]) for f in stored]
    numbered = hooks.engine_filled(task_spec)
    for f in fields:
        f.auto_number = f.id in numbered
    return Form(fields)


def _field(fid, label, ftype, default, options, constraints, props) -> Field:
    ftype = ftype or "string"
    if ftype == "string" and props.get("multiline") == "true":
        ftype = "textarea"
    return Field(
        id=fid, label=label or fid, type=ftype, default=default, options=options,
        required="required" in constraints, readonly="readonly" in constraints,
        min=_decimal(constraints.get("min")), max=_decimal(constraints.get("max")),
        minlength=_int(constraints.get("minlength")), maxlength=_int(constraints.get("maxlength")),
        properties=props)


def initial_values(form: Form, data: Mapping[str, Any]) -> dict[str, Any]:
    """What the form shows first: the case's earlier value of a field, else its default."""
    values = {}
    for f in form.fields:
        if f.id in data and data[f.id] is not None:
            values[f.id] = data[f.id]
        elif f.default is not None:
            m = _VAR.match(f.default.strip())
            values[f.id] = data.get(m.group(1)) if m else f.default
    return values


def validate(form: Form, submitted: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """Coerce and check ``submitted`` (strings from a web form, or typed JSON values).

    Returns the values to merge into task data; raises FormInvalid with one Chinese
    message per bad field. Readonly fields keep the case's value whatever is sent.
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    initial = initial_values(form, data)
    for f in form.fields:
        if f.readonly:
            if f.id in initial:
                values[f.id] = initial[f.id]
            continue
        raw = submitted.get(f.id)
        try:
            value = _coerce(f, raw)
        except ValueError as e:
            errors[f.id] = f"{f.label}：{e}"
            continue
        problem = _check(f, value)
        if problem:
            errors[f.id] = f"{f.label}：{problem}"
        else:
            values[f.id] = value
    if errors:
        raise FormInvalid(errors, submitted)
    return values


def _empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "") or raw == []


def _coerce(f: Field, raw: Any) -> Any:
    if f.type == "boolean":
        if isinstance(raw, bool):
            return raw
        text = "" if raw is None else str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("请选择“是”或“否”")
    if f.type == "file":
        if _empty(raw):
            return []
        items = raw if isinstance(raw, list) else str(raw).split(",")
        try:
            return [int(i) for i in items if str(i).strip()]
        except ValueError:
            raise ValueError("附件编号无效") from None
    if _empty(raw):
        return None
    if f.type in ("string", "textarea"):
        return str(raw).strip() if f.type == "string" else str(raw).replace("\r\n", "\n")
    if f.type == "long":
        if isinstance(raw, bool):
            raise ValueError("请输入整数")
        if isinstance(raw, int):
            return raw
        text = str(raw).strip().replace(",", "")
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError("请输入整数")
        return int(text)
    if f.type == "money":
        text = str(raw).strip().replace(",", "").replace("，", "")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError("请输入金额（元），例如 5000 或 5000.50") from None
        if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
            raise ValueError("金额最多两位小数")
        return amount.quantize(Decimal("0.01"))
    if f.type == "date":
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValueError("请输入日期，格式为 年-月-日，例如 2026-03-02") from None
    if f.type == "enum":
        text = str(raw).strip()
        if text not in f.option_labels:
            raise ValueError("请从列表中选择")
        return text
    raise ValueError(f"不支持的字段类型 {f.type}")


def _check(f: Field, value: Any) -> str | None:
    if f.required and (value is None or value == [] or (f.type == "boolean" and value is None)):
        return "必填"
    if value is None:
        return None
    if f.type in ("long", "money"):
        if f.min is not None and value < f.min:
            return f"不能小于 {_fmt(f.min)}"
        if f.max is not None and value > f.max:
            return f"不能大于 {_fmt(f.max)}"
    if f.type in ("string", "textarea"):
        if f.minlength is not None and len(value) < f.minlength:
            return f"至少 {f.minlength} 个字"
        if f.maxlength is not None and len(value) > f.maxlength:
            return f"最多 {f.maxlength} 个字"
    return None


def _fmt(d: Decimal) -> str:
    return format(d.normalize(), "f")


def _decimal(text: str | None) -> Decimal | None:
    try:
        return None if text is None else Decimal(text)
    except InvalidOperation:
        return None


def _int(text: str | None) -> int | None:
    try:
        return None if text is None else int(float(text))
    except ValueError:
        return None
