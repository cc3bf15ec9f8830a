"""Working-day helpers for model code: periods on the bureau's calendar (docs/modeling.md)."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable

from engine.execution.decide import evaluate_latest
from workdays import calendar

if TYPE_CHECKING:
    from engine.execution.runtime import Action

log = logging.getLogger(__name__)
_UNITS = ("working_days", "days", "months")

# The deadlines the bureau's models compute into case variables, as task pages and case headers name them.
DEADLINES = {
    "decide_due": "作出处罚决定期限", "decision_due": "作出许可决定期限", "statement_due": "陈述申辩（听证申请）期限",
    "hearing_date": "听证日期", "payment_due": "缴纳罚款期限", "reconsideration_until": "申请行政复议期限",
    "litigation_until": "提起行政诉讼期限", "remedies_lapse_on": "复议、诉讼期限届满日",
    "court_apply_until": "申请法院强制执行期限", "demand_lapse_on": "催告期限届满日", "scheduled_date": "代履行日期",
}


def provisional_note(day) -> str | None:
    """A date in a year whose 节假日 nobody entered was counted Monday–Friday: say so."""
    try:
        year = calendar.as_date(day).year
    except (TypeError, ValueError):
        return None
    return None if calendar.current().knows(year) else f"{year}年节假日安排尚未录入，暂按周一至周五计算"


def helpers_for(action: Action) -> dict[str, Callable[..., Any]]:
    """Date arithmetic bound to one action, which records any provisional calendar it used."""

    def provisional(method: str, *args, party: bool = False):
        """Compute on the calendar; for a year nobody has entered yet, count Monday–Friday
        (``party``: also without every possible holiday, so a party's period is never cut
        short) and say so on the action (shown on the task, logged, audited) instead of
        failing. The date is recomputed when the year is entered (``deadlines.recompute``)."""
        cal = calendar.current()
        for _ in range(3):
            try:
                return getattr(cal, method)(*args)
            except calendar.CalendarUnknown as e:
                how = "周一至周五并除去可能的节假日从宽计算" if party else "周一至周五计算"
                note = f"{e.year}年节假日安排尚未录入，期限暂按{how}，录入后自动重算"
                if note not in action.warnings:
                    action.warnings.append(note)
                    log.warning("%s: %s", action.instance.business_key if action.instance else "-", note)
                cal = cal.assuming(e.year, party)
        return getattr(cal, method)(*args)

    def add_working_days(start, n, party: bool = False):
        return provisional("add_working_days", start, n, party=party)

    def add_days(start, n, party: bool = False):
        return provisional("add_days", start, n, party=party)

    def add_months(start, n, party: bool = False):
        return provisional("add_months", start, n, party=party)

    def working_days_between(a, b):
        return provisional("working_days_between", a, b)

    def deadline(step: str, start: Any, pauses: list | None = None, party: bool = False):
        """The statutory period of ``step`` (from the ``statutory_periods`` table) from ``start``.

        ``pauses``: (from, to) pairs of time the law does not count (专家评审, 听证,
        检测鉴定 — 行政许可法 第45条); the period is extended by their length in its unit.
        """
        result = evaluate_latest(action.session, "statutory_periods", {"step": step})
        amount, unit = result.outputs.get("period_amount"), result.outputs.get("period_unit")
        if amount is None or unit not in _UNITS:
            raise ValueError(f"法定期限表（statutory_periods）中没有环节 {step} 的期限")
        extra = 0
        for a, b in pauses or []:  # both ends of a pause are paused days
            before = calendar.as_date(a) - timedelta(days=1)
            extra += working_days_between(before, b) if unit == "working_days" else (calendar.as_date(b) - before).days
        amount = int(amount)
        if unit == "working_days":
            return add_working_days(start, amount + extra, party)
        end = add_months(start, amount, party) if unit == "months" else add_days(start, amount, party)
        return add_days(end, extra, party) if extra else end

    return {
        "add_working_days": add_working_days,
        "add_days": add_days,
        "add_months": add_months,
        "working_days_between": working_days_between,
        "deadline": deadline,
    }
