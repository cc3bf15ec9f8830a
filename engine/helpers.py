"""The helper functions every model expression and script may call (docs/modeling.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from . import calendar
from .expressions import timer_value

if TYPE_CHECKING:
    from .runtime import Action

_PERIOD_FUNCTIONS = {"working_days": calendar.add_working_days, "days": calendar.add_days,
                     "months": calendar.add_months}


def helpers_for(action: Action) -> dict[str, Callable[..., Any]]:
    """Helpers bound to one action: ``deadline`` reads the deployed period table,
    ``notify`` queues a notification written when the action saves."""
    from .decide import evaluate_latest

    def deadline(step: str, start: Any):
        result = evaluate_latest(action.session, "statutory_periods", {"step": step})
        amount, unit = result.outputs.get("period_amount"), result.outputs.get("period_unit")
        if amount is None or unit not in _PERIOD_FUNCTIONS:
            raise ValueError(f"法定期限表（statutory_periods）中没有环节 {step} 的期限")
        return _PERIOD_FUNCTIONS[unit](start, int(amount))

    def notify(recipients: str | list[str], text: str) -> None:
        for r in ([recipients] if isinstance(recipients, str) else recipients):
            action.notifications.append((str(r), str(text)))

    return {
        "add_working_days": calendar.add_working_days,
        "add_days": calendar.add_days,
        "add_months": calendar.add_months,
        "working_days_between": calendar.working_days_between,
        "deadline": deadline,
        "notify": notify,
        "timer_value": timer_value,
    }
