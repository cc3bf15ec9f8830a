"""The helper functions every model expression and script may call (docs/modeling.md).

The engine's own are here; domain packages add theirs through ``engine.hooks.script_helpers``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from engine import hooks
from engine.sandbox.expressions import timer_value

if TYPE_CHECKING:
    from engine.execution.runtime import Action


def helpers_for(action: Action) -> dict[str, Callable[..., Any]]:
    """Helpers bound to one action: they may read its session and leave notes on it."""

    def notify(recipients: str | list[str], text: str) -> None:
        for r in ([recipients] if isinstance(recipients, str) else recipients):
            action.notifications.append((str(r), str(text)))

    found: dict[str, Callable[..., Any]] = {"notify": notify, "timer_value": timer_value}
    for factory in hooks.script_helpers:
        found.update(factory(action))
    return found
