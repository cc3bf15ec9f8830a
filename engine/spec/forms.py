"""Generated task forms: ``camunda:formData`` → a form model, validation and coercion.

SpiffWorkflow parses formData but enforces nothing; everything a person submits is
checked here, with messages in Chinese, before it reaches task data.
"""
from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from engine import hooks
from engine.sandbox import expressions, scripting

MAX_MONEY = Decimal(10) ** 12   # yuan; with two decimals it fits NUMERIC(14,2) and stays exact
MAX_LONG_DIGITS = 15            # a whole number a browser (double) still shows exactly
FIELD_TYPES = ("string", "textarea", "long", "money", "boolean", "date", "enum", "file", "officers")
# Cross-field rules (docs/modeling.md): config ``reference`` or ``reference if condition``, the
# reference being ``today``, a field of the form or a process variable.
REFERENCE_CONSTRAINTS = ("notBefore", "notAfter", "equals")
RULE_CONSTRAINTS = (*REFERENCE_CONSTRAINTS, "workingDay", "daytime", "confirmed")
VALIDATION_CONSTRAINTS = ("required", "min", "max", "minlength", "maxlength", "readonly", *RULE_CONSTRAINTS)
DAYTIME = ("06:00", "22:00")  # 行政强制法 第43条: not at night; [from, until)
_TRUE = {"true", "on", "1", "yes", "是"}
_FALSE = {"false", "off", "0", "no", "否", ""}
_VAR = re.compile(r"^\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}$")
_REFERENCE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\bif\b\s*(.+))?$", re.S)
_CLOCK = re.compile(r"(?<!\d)([01]?\d|2[0-3])[:：]([0-5]\d)(?!\d)")


_SANDBOX = scripting.RestrictedEnvironment()  # conditions of rules: plain expressions, no helpers


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
    rules: list[tuple[str, str | None]] = field(default_factory=list)  # (constraint, config) beyond the above

    @property
    def posts(self) -> list[str]:
        """``officers`` fields: the posts whose certified members may be chosen (property ``posts``)."""
        return [p.strip() for p in (self.properties.get("posts") or "").split(",") if p.strip()]

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
                         [(v.name, v.config) for v in f.validation], {p.id: p.value for p in f.properties})
                  for f in spiff_form.fields]
    else:  # start events: our parser's dicts
        stored = (getattr(task_spec, "extensions", None) or {}).get("formData", [])
        fields = [_field(f["id"], f["label"], f["type"], f["default"], [tuple(o) for o in f["options"]],
                         [tuple(v) for v in f["validation"]], f["properties"]) for f in stored]
    numbered = hooks.engine_filled(task_spec)
    for f in fields:
        f.auto_number = f.id in numbered
    return Form(fields)


def _field(fid, label, ftype, default, options, validation, props) -> Field:
    ftype = ftype or "string"
    constraints = dict(validation)
    if ftype == "string" and props.get("multiline") == "true":
        ftype = "textarea"
    return Field(
        id=fid, label=label or fid, type=ftype, default=default, options=options,
        required="required" in constraints, readonly="readonly" in constraints,
        min=_decimal(constraints.get("min")), max=_decimal(constraints.get("max")),
        minlength=_int(constraints.get("minlength")), maxlength=_int(constraints.get("maxlength")),
        properties=props, rules=[(n, c) for n, c in validation if n in RULE_CONSTRAINTS])


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


def validate(form: Form, submitted: Mapping[str, Any], data: Mapping[str, Any],
             labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Coerce and check ``submitted`` (strings from a web form, or typed JSON values).

    Returns the values to merge into task data; raises FormInvalid with one Chinese
    message per bad field. Readonly fields keep the case's value whatever is sent.
    ``labels`` names the process variables cross-field rules refer to (``variable_labels``).
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
    names = {**(labels or {}), **{f.id: f.label for f in form.fields}}
    for f in form.fields:
        if f.id in values and not f.readonly:
            problem = _check_rules(f, values[f.id], {**data, **values}, names)
            if problem:
                errors[f.id] = problem
    if errors:
        raise FormInvalid(errors, submitted)
    return values


def partial_values(form: Form, submitted: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """The values entered so far that already make sense (for a live preview): fields that
    do not coerce yet are left out, nothing is required, readonly fields keep the case's value."""
    initial = initial_values(form, data)
    values: dict[str, Any] = {}
    for f in form.fields:
        if f.readonly or f.id not in submitted:
            if f.id in initial:
                values[f.id] = initial[f.id]
            continue
        try:
            value = _coerce(f, submitted[f.id])
        except ValueError:
            continue
        if value is not None:
            values[f.id] = value
    return values


def parse_reference(config: str | None) -> tuple[str, str | None]:
    """``"fine_amount if payment_status == 'paid'"`` → (``fine_amount``, the condition as Python)."""
    m = _REFERENCE.match(config or "")
    if not m:
        raise ValueError(f"参数“{config or ''}”应为 today、字段或流程变量的 id，可附加 if 条件")
    condition = m.group(2)
    try:
        return m.group(1), (expressions.to_python("${" + condition.strip() + "}") if condition else None)
    except ValueError as e:
        raise ValueError(f"条件无法解析：{e}") from None


def clock_of(value: Any) -> str | None:
    """The HH:MM a time text names ("9:30", "2026-11-30 14:00", "14：00"), else None."""
    m = _CLOCK.search(str(value or ""))
    return f"{int(m.group(1)):02d}:{m.group(2)}" if m else None


def daytime_bounds(config: str | None) -> tuple[str, str]:
    if not config:
        return DAYTIME
    parts = [clock_of(p) for p in config.replace("～", "-").replace("~", "-").split("-")]
    if len(parts) != 2 or None in parts or parts[0] >= parts[1]:
        raise ValueError(f"参数“{config}”应为 开始-结束，例如 08:00-18:00")
    return parts[0], parts[1]


_WEEKDAYS = "一二三四五六日"


def _shown(value: Any) -> str:
    if isinstance(value, Decimal):
        return _fmt(value)
    return "是" if value is True else "否" if value is False else str(value)


def _comparable(like: Any, other: Any) -> Any:
    """``other`` (a case variable, maybe stored as text) typed like ``like`` for comparison."""
    if other is None or type(other) is type(like):
        return other
    try:
        if isinstance(like, date):
            return date.fromisoformat(str(other)[:10])
        if isinstance(like, (Decimal, int)) and not isinstance(like, bool):
            return Decimal(str(other))
    except (ValueError, InvalidOperation):
        return None
    return other


def _check_rules(f: Field, value: Any, case: Mapping[str, Any], labels: Mapping[str, str]) -> str | None:
    """The field's cross-field and calendar rules; the message names both sides."""
    if value is None or value == []:
        return None
    for name, config in f.rules:
        if name == "confirmed":
            if value is not True:
                return f"{f.label}：必须确认（勾选）后才能提交"
        elif name == "workingDay":
            if isinstance(value, date) and not hooks.working_day(value):
                return f"{f.label}（{value}，星期{_WEEKDAYS[value.weekday()]}）不是工作日，请选择工作日"
        elif name == "daytime":
            start, end = daytime_bounds(config)
            clock = clock_of(value)
            if clock is None:
                return f"{f.label}：请写明时间（时:分），例如 09:30"
            if not start <= clock < end:
                return f"{f.label}（{clock}）须在白天（{start}至{end}之前），不得在夜间实施"
        else:
            ref, condition = parse_reference(config)
            if condition is not None and not _holds(condition, case):
                continue
            if ref == "today":
                other, other_label = scripting.today(), "今天"
            else:
                other, other_label = _comparable(value, case.get(ref)), labels.get(ref, ref)
            if other is None:
                continue
            if name == "equals" and value != other:
                return f"{f.label}（{_shown(value)}）应当等于{other_label}（{_shown(other)}）"
            try:
                if name == "notBefore" and value < other:
                    return f"{f.label}（{_shown(value)}）不能早于{other_label}（{_shown(other)}）"
                if name == "notAfter" and value > other:
                    if ref == "today":
                        return f"{f.label}（{_shown(value)}）不能晚于今天（{other}）：已经发生的事项不能填写将来的日期"
                    return f"{f.label}（{_shown(value)}）不能晚于{other_label}（{_shown(other)}）"
            except TypeError:
                continue
    return None


def _holds(condition: str, case: Mapping[str, Any]) -> bool:
    """A rule's ``if`` condition; one that cannot be evaluated yet (a variable not set) does not hold."""
    try:
        return bool(_SANDBOX.evaluate(condition, dict(case)))
    except Exception:
        return False


_labels_of: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # spec → its labels (specs never change)


def variable_labels(specs) -> dict[str, str]:
    """Field id → label over every form of the given process specs (first label wins)."""
    labels: dict[str, str] = {}
    for spec in specs:
        if spec not in _labels_of:
            own: dict[str, str] = {}
            for ts in spec.task_specs.values():
                for f in form_of(ts).fields:
                    own.setdefault(f.id, f.label)
            _labels_of[spec] = own
        for fid, label in _labels_of[spec].items():
            labels.setdefault(fid, label)
    return labels


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
    if f.type in ("file", "officers"):
        if _empty(raw):
            return []
        items = raw if isinstance(raw, list) else str(raw).split(",")
        ids = [str(i).strip() for i in items if str(i).strip()]
        if not all(i.isascii() and i.isdigit() and len(i) <= 9 for i in ids):  # (ids are positive and fit a 32-bit column)
            raise ValueError("附件编号无效" if f.type == "file" else "请从名单中选择人员")
        if f.type == "officers" and len(set(ids)) != len(ids):
            raise ValueError("同一人只能选择一次，请选择不同的人员")
        return [int(i) for i in ids]
    if _empty(raw):
        return None
    if f.type in ("string", "textarea"):
        return str(raw).strip() if f.type == "string" else str(raw).replace("\r\n", "\n")
    if f.type == "long":
        if isinstance(raw, bool):
            raise ValueError("请输入整数")
        if isinstance(raw, int) and abs(raw) < 10 ** MAX_LONG_DIGITS:
            return raw
        text = str(raw).strip().replace(",", "")
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError("请输入整数")
        if len(text.lstrip("+-").lstrip("0")) > MAX_LONG_DIGITS:
            raise ValueError(f"整数超出范围（最多 {MAX_LONG_DIGITS} 位）")
        return int(text)
    if f.type == "money":
        text = str(raw).strip().replace(",", "").replace("，", "")
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):  # no exponent, NaN or Infinity
            raise ValueError("请输入金额（元），例如 5000 或 5000.50")
        amount = Decimal(text)
        if abs(amount) >= MAX_MONEY:
            raise ValueError("金额超出范围（须小于 1 万亿元）")
        if amount != amount.quantize(Decimal("0.01")):
            raise ValueError("金额最多两位小数")
        if amount < 0:
            raise ValueError("金额不能为负数")
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
    if f.type == "officers" and f.min is not None and value and len(value) < f.min:
        return f"至少选择 {_fmt(f.min)} 名人员"
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
