"""Separation of duties (e.g. 查处分离) and 回避: who may not act on a task of a case.

A user task names, in ``camunda:properties`` ``excludeActorsOf``, the steps (element ids)
whose handlers, the start events whose starter, and the ``officers`` fields whose chosen
people may not act on it in the same case (e.g. 调阅: nobody approves their own request); a recorded 回避 removes an officer from every remaining task of the case. The
inbox projection writes one ``task_exclusions`` row per excluded user when the task
becomes ready, so the inbox query, claim, complete and delegation all see the same rule.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from SpiffWorkflow.bpmn.specs.defaults import StartEvent

from engine.store.models import HumanTask, ProcessInstance, Recusal, User

PROPERTY = "excludeActorsOf"


def excluded_steps(task_spec) -> list[str]:
    raw = ((getattr(task_spec, "extensions", None) or {}).get(PROPERTY) or "")
    return [name.strip() for name in raw.split(",") if name.strip()]


def excluded(session: Session, instance_id: int, task_name: str, task_spec, data: Mapping[str, Any],
             labels: Mapping[str, str]) -> dict[str, str]:
    """username → the Chinese reason they may not act on this task of this case."""
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
        for name in names:
            ids = [i for i in (data.get(name) or []) if isinstance(i, int)] if isinstance(data.get(name), list) else []
            for username in session.scalars(select(User.username).where(User.id.in_(ids))) if ids else []:
                out.setdefault(username, f"查处分离：您是本案的{labels.get(name, name)}，不能办理“{task_name}”")
    for r in session.scalars(select(Recusal).where(Recusal.instance_id == instance_id).order_by(Recusal.id)):
        out[r.username] = f"回避：您已在本案回避（{r.reason}），不能办理本案的任务"
    return out
