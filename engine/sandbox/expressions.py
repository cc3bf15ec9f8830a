"""Translate what Camunda Modeler users write into the Python SpiffWorkflow evaluates.

Done once, at deploy time: JUEL (``${a >= 5000 && b == 'x'}``) becomes Python,
unquoted ISO timers (``P5D``) become string literals, timer expressions are wrapped in
``timer_value`` (a helper the script engine must expose), and ``due_value`` turns the
result of a ``camunda:dueDate``/``followUpDate`` into an aware datetime.
"""
from __future__ import annotations

import ast
import re
from calendar import monthrange
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

TZ = ZoneInfo("Asia/Shanghai")
TIMER_KINDS = ("timeDuration", "timeDate", "timeCycle")


class ExpressionError(ValueError):
    """An expression that cannot be translated; the message says why."""


# --- JUEL -------------------------------------------------------------------------

_WORD_OPS = {
    "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=",
    "and": "and", "or": "or", "not": "not", "empty": "not", "div": "/", "mod": "%",
    "true": "True", "false": "False", "null": "None",
}
_SYMBOL_OPS = {"&&": "and", "||": "or"}
_IDENT = re.compile(r"[^\W\d]\w*")


def _string_end(text: str, start: int) -> int:
    """Index just after the string literal opening at ``start``."""
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    raise ExpressionError(f"unterminated string literal in {text!r}")


def _split_template(text: str) -> list[tuple[bool, str]]:
    """``[(is_expression, text)]`` for a JUEL composite such as ``a-${x}-b``."""
    parts: list[tuple[bool, str]] = []
    i = literal_start = 0
    while i < len(text):
        if text.startswith(("${", "#{"), i):
            if i > literal_start:
                parts.append((False, text[literal_start:i]))
            depth, j = 1, i + 2
            while j < len(text) and depth:
                ch = text[j]
                if ch in "'\"":
                    j = _string_end(text, j)
                    continue
                depth += {"{": 1, "}": -1}.get(ch, 0)
                j += 1
            if depth:
                raise ExpressionError(f"missing '}}' in {text!r}")
            parts.append((True, text[i + 2:j - 1]))
            i = literal_start = j
        else:
            i += 1
    if literal_start < len(text):
        parts.append((False, text[literal_start:]))
    return parts


def _juel(expr: str) -> str:
    """One JUEL expression body (inside ``${}``) as Python; string literals kept verbatim."""
    out: list[str] = []
    i = 0
    while i < len(expr):
        ch = expr[i]
        if ch in "'\"":
            j = _string_end(expr, i)
            out.append(expr[i:j])
            i = j
        elif expr.startswith(("&&", "||"), i):
            out.append(f" {_SYMBOL_OPS[expr[i:i + 2]]} ")
            i += 2
        elif ch == "!" and not expr.startswith("!=", i):
            out.append(" not ")
            i += 1
        elif ch == "?":
            raise ExpressionError("the JUEL conditional 'a ? b : c' is not supported; "
                                  "write Python: 'b if a else c'")
        elif m := _IDENT.match(expr, i):
            word = m.group()
            after_dot = expr[:i].rstrip().endswith(".")
            if word == "instanceof":
                raise ExpressionError("JUEL 'instanceof' is not supported")
            out.append(f" {_WORD_OPS[word]} " if word in _WORD_OPS and not after_dot else word)
            i = m.end()
        else:
            out.append(ch)
            i += 1
    return _tidy("".join(out))


def _tidy(code: str) -> str:
    """Collapse runs of spaces outside string literals."""
    pieces, i, start = [], 0, 0
    while i < len(code):
        if code[i] in "'\"":
            pieces.append(re.sub(r" {2,}", " ", code[start:i]))
            j = _string_end(code, i)
            pieces.append(code[i:j])
            i = start = j
        else:
            i += 1
    pieces.append(re.sub(r" {2,}", " ", code[start:]))
    return "".join(pieces).strip()


def to_python(text: str) -> str:
    """JUEL ``${...}``/``#{...}`` (or a composite with text around it) as Python; plain
    Python passes through unchanged (the caller still runs ``check_source``)."""
    if text is None or not text.strip():
        raise ExpressionError("empty expression")
    text = text.strip()
    parts = _split_template(text)
    if not any(is_expr for is_expr, _ in parts):
        return text
    pieces = []
    for is_expr, piece in parts:
        if not is_expr:
            pieces.append(repr(piece))
            continue
        if not piece.strip():
            raise ExpressionError(f"empty ${{}} in {text!r}")
        code = _juel(piece)
        try:
            ast.parse(code, mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(f"cannot translate {text!r}: {exc.msg} in {code!r}") from None
        pieces.append(code if len(parts) == 1 else f"str({code})")
    return pieces[0] if len(pieces) == 1 else " + ".join(pieces)


# --- timers -----------------------------------------------------------------------

_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(
    rf"P(?=[\dT])(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?"
    rf"(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?", re.I)
_ISO_LIKE = re.compile(r"^(?:[Pp](?=[\dTt])|R\d*/|R$|\d{4}-\d\d)")


def is_duration(text: str) -> bool:
    return bool(_DURATION.fullmatch(text.strip()))


def _check_duration(text: str) -> str:
    text = text.strip().upper()
    if not _DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as 'P5D' or 'PT1H'")
    try:
        TimerEventDefinition.parse_iso_duration(text)
    except Exception:
        raise ValueError(f"{text!r} is not a valid ISO 8601 duration") from None
    return text


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=TZ) if value.tzinfo is None else value


def _date_end(day: date) -> datetime:
    """A date as a timer means the whole day: it fires at 00:00 of the next day."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), TZ)


def _check_datetime(text: str) -> str:
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
            return _date_end(date.fromisoformat(text)).isoformat()
        return _aware(datetime.fromisoformat(text)).isoformat()
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date-time such as "
                         "'2026-12-01T09:00:00+08:00'") from None


def _check_cycle(text: str) -> str:
    text = text.strip()
    parts = text.split("/")
    if not re.fullmatch(r"R\d*", parts[0]) or len(parts) not in (2, 3):
        raise ValueError(f"{text!r} is not an ISO 8601 repeating interval such as 'R3/PT10M' "
                         "(cron expressions are not supported)")
    out = [parts[0]]
    for part in parts[1:]:
        out.append(_check_duration(part) if part.strip().upper().startswith("P") else _check_datetime(part))
    if all(p.startswith("P") for p in out[1:]) and len(out) == 3:
        raise ValueError(f"{text!r}: a repeating interval cannot have two durations")
    return "/".join(out)


def normalize_timer(kind: str, text: str) -> str:
    """The ISO string Spiff needs for ``kind``; naive times get +08:00. ValueError if invalid."""
    if kind == "timeDuration":
        return _check_duration(text)
    if kind == "timeDate":
        return _check_datetime(text)
    if kind == "timeCycle":
        return _check_cycle(text)
    raise ValueError(f"unknown timer kind {kind!r}; expected one of {', '.join(TIMER_KINDS)}")


def timer_to_python(kind: str, text: str) -> str:
    """A timer definition as the Python expression Spiff evaluates."""
    if kind not in TIMER_KINDS:
        raise ExpressionError(f"unknown timer kind {kind!r}")
    if text is None or not text.strip():
        raise ExpressionError(f"{kind}: empty timer definition")
    text = text.strip()
    try:
        if "${" in text or "#{" in text:
            return f"timer_value({to_python(text)}, {kind!r})"
        if text[0] in "'\"":
            value = ast.literal_eval(text)
            if not isinstance(value, str):
                raise ValueError(f"{text!r} is not a string")
            return repr(normalize_timer(kind, value))
        if _ISO_LIKE.match(text):
            return repr(normalize_timer(kind, text))
    except (ValueError, SyntaxError) as exc:
        raise ExpressionError(f"{kind}: {exc}") from None
    try:  # a plain Python expression
        ast.parse(text, mode="eval")
    except SyntaxError:
        hint = " (cron expressions are not supported; use 'R/P1D')" if kind == "timeCycle" else ""
        raise ExpressionError(f"{kind}: {text!r} is neither ISO 8601 nor an expression{hint}") from None
    return f"timer_value({text}, {kind!r})"


def _timedelta_iso(value: timedelta) -> str:
    if value < timedelta(0):
        raise ValueError(f"negative timer duration {value}")
    seconds = value.seconds + value.microseconds / 1e6
    sec = f"{seconds:g}" if value.microseconds else str(value.seconds)
    return f"P{value.days}DT{sec}S"


def timer_value(value: Any, kind: str = "timeDate") -> str:
    """Helper for timer expressions: a date (= end of that day), a datetime (naive means
    Asia/Shanghai), a timedelta (durations) or an ISO string → the ISO string Spiff needs."""
    if isinstance(value, str):
        return normalize_timer(kind, value)
    if kind == "timeDuration":
        if isinstance(value, timedelta):
            return _timedelta_iso(value)
        raise ValueError(f"timeDuration needs a duration such as 'P5D', got {value!r}; "
                         "use timeDate for a date or date-time")
    if kind == "timeDate":
        if isinstance(value, datetime):
            return _aware(value).isoformat()
        if isinstance(value, date):
            return _date_end(value).isoformat()
    raise ValueError(f"{kind} cannot be computed from {value!r} ({type(value).__name__})")


# --- task due dates ------------------------------------------------------------

def _add_duration(start: datetime, parsed: dict[str, float]) -> datetime:
    """Calendar months (31 Jan + P1M = 28/29 Feb, as Camunda does), then the rest."""
    months = parsed.pop("years", 0) * 12 + parsed.pop("months", 0)
    if months != int(months):
        raise ValueError("fractional years or months are not supported in due dates")
    if months:
        index = start.year * 12 + start.month - 1 + int(months)
        year, month = divmod(index, 12)
        last_day = monthrange(year, month + 1)[1]
        start = start.replace(year=year, month=month + 1, day=min(start.day, last_day))
    return start + timedelta(**parsed)


def due_value(value: Any, ready_at: datetime) -> datetime | None:
    """A ``camunda:dueDate``/``followUpDate`` result as an aware datetime: an ISO duration
    counts from ``ready_at``; a date means the end of that day (23:59:59 Asia/Shanghai)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    ready_at = _aware(ready_at)
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "Pp":
            return _add_duration(ready_at, TimerEventDefinition.parse_iso_duration(_check_duration(text)))
        try:
            if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
                value = date.fromisoformat(text)
            else:
                value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is neither an ISO duration nor an ISO date/date-time") from None
    if isinstance(value, timedelta):
        return ready_at + value
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59), TZ)
    raise ValueError(f"a due date cannot be computed from {value!r} ({type(value).__name__})")
