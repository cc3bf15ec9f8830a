"""Separation of duties (e.g. 查处分离) and 回避: who may not act on a task of a case.

A user task names, in ``camunda:properties`` ``excludeActorsOf``, the steps (element ids)
whose handlers, the start events whose starter, and the ``officers`` fields whose chosen
people may not act on it in the same case (e.g. 调阅: nobody approves their own request); a recorded 回避 removes an officer from every remaining task of the case. The
inbox projection writes one ``task_exclusions`` row per excluded user when the task
becomes ready, so the inbox query, claim, complete and delegation all see the same rule.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from SpiffWorkflow.bpmn.specs.defaults import StartEvent

from engine.store.models import HumanTask, ProcessInstance, Recusal, User

PROPERTY = "excludeActorsOf"


def excluded_steps(task_spec) -> list[str]:
    raw = ((getattr(task_spec, "extensions", None) or {}).get(PROPERTY) or "")
    return [name.strip() for name in raw.split(",") if name.strip()]


def recusals(session: Session, instance_id: int) -> dict[str, str]:
    """username → reason, for everyone who recused themselves from the case (回避)."""
    return {r.username: f"回避：您已在本案回避（{r.reason}），不能办理本案的任务"
            for r in session.scalars(select(Recusal).where(Recusal.instance_id == instance_id).order_by(Recusal.id))}


def excluded(session: Session, instance_id: int, task_name: str, task_spec, data: Mapping[str, Any],
             labels: Callable[[], Mapping[str, str]], recused: Mapping[str, str] | None = None) -> dict[str, str]:
    """username → the Chinese reason they may not act on this task of this case. ``labels`` gives
    the case's field labels (called only when needed); ``recused``: ``recusals()`` if already read."""
    out: dict[str, str] = {}
    names = excluded_steps(task_spec)
    if names:
        for by, step in session.execute(select(HumanTask.completed_by, HumanTask.name).where(
                HumanTask.instance_id == instance_id, HumanTask.state == "completed",
                HumanTask.element_id.in_(names), HumanTask.completed_by.is_not(None)).order_by(HumanTask.completed_at)):
            out.setdefault(by, f"查处分离：您办理过本案的“{step}”，不能办理“{task_name}”")
        starts = [n for n in names if isinstance(task_spec._wf_spec.task_specs.get(n), StartEvent)]
        if starts:
            starter = session.scalar(select(User.username).join(ProcessInstance, ProcessInstance.started_by == User.id)
                                     .where(ProcessInstance.id == instance_id))
            if starter:
                out.setdefault(starter, f"查处分离：本案由您发起（{task_spec._wf_spec.task_specs[starts[0]].bpmn_name or '申请'}），"
                                        f"不能办理“{task_name}”")
        chosen = {name: [i for i in data[name] if isinstance(i, int)] for name in names if isinstance(data.get(name), list)}
        field_labels = labels() if any(chosen.values()) else {}
        for name, ids in chosen.items():
            for username in session.scalars(select(User.username).where(User.id.in_(ids))) if ids else []:
                out.setdefault(username, f"查处分离：您是本案的{field_labels.get(name, name)}，不能办理“{task_name}”")
    out.update(recusals(session, instance_id) if recused is None else recused)
    return out
