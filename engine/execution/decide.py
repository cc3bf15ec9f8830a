"""Evaluating deployed decision tables on their own (CLI ``zhifa decide``, the
decision tester, the ``deadline`` helper). Parsed tables are cached by content hash and
decision id; a decision of a DRD evaluates the decisions it requires first."""
from __future__ import annotations

import threading
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.execution.helpers import helpers_for
from engine.sandbox.scripting import make_script_engine
from engine.spec import dmn
from engine.store.models import DecisionDefinition, Resource

_tables: dict[str, Any] = {}
_lock = threading.Lock()


class NoSuchDecision(LookupError):
    def __init__(self, key: str):
        super().__init__(f"决策表 “{key}” 尚未部署")


def latest_decision(session: Session, key: str) -> DecisionDefinition:
    found = session.scalars(select(DecisionDefinition).where(DecisionDefinition.key == key)
                            .order_by(DecisionDefinition.version.desc()).limit(1)).first()
    if found is None:
        raise NoSuchDecision(key)
    return found


def table_of(session: Session, definition: DecisionDefinition):
    resource = session.get(Resource, definition.resource_id)
    cache_key = f"{resource.content_hash}:{definition.key}"  # a DRD file holds several decisions
    with _lock:
        table = _tables.get(cache_key)
    if table is None:
        table, problems = dmn.load_table(resource.content.encode(), resource.name, definition.key)
        if table is None:  # deployed tables were valid when deployed
            raise dmn.DecisionError(definition.key, "; ".join(str(p) for p in problems))
        with _lock:
            _tables[cache_key] = table
    return table


def evaluate(session: Session, definition: DecisionDefinition, inputs: Mapping[str, Any]) -> dmn.DecisionResult:
    from engine.execution.runtime import Action  # the helpers need an action; a decision alone has no case
    engine = make_script_engine(helpers_for(Action(session, None, None, None)))
    return dmn.evaluate_table(table_of(session, definition), dict(inputs), engine)


def evaluate_latest(session: Session, key: str, inputs: Mapping[str, Any]) -> dmn.DecisionResult:
    return evaluate(session, latest_decision(session, key), inputs)
