"""The helper functions every model expression and script may call (docs/modeling.md).

The engine's own are here; domain packages add theirs through ``engine.hooks.script_helpers``.
"""
from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any, Callable

from engine import hooks
from engine.sandbox.expressions import timer_value

if TYPE_CHECKING:
    from engine.execution.runtime import Action

_system_random = secrets.SystemRandom()


def random_sample(population, k: int) -> list:
    """``k`` distinct items drawn by the operating system's random source (双随机 draws:
    nobody, not even someone who knows when the draw ran, can predict or replay it)."""
    items = list(population)
    if not 0 <= int(k) <= len(items):
        raise ValueError(f"不能从 {len(items)} 个对象中抽取 {k} 个")
    return _system_random.sample(items, int(k))


def helpers_for(action: Action) -> dict[str, Callable[..., Any]]:
    """Helpers bound to one action: they may read its session and leave notes on it."""

    def notify(recipients: str | list[str], text: str) -> None:
        for r in ([recipients] if isinstance(recipients, str) else recipients):
            action.notifications.append((str(r), str(text)))

    found: dict[str, Callable[..., Any]] = {"random_sample": random_sample, "notify": notify, "timer_value": timer_value}
    for factory in hooks.script_helpers:
        found.update(factory(action))
    return found
