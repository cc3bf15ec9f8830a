"""A case's state as engine/spec/state_writer.py writes it: what SpiffWorkflow's stock serializer
writes, key for key, whether its finished tasks' texts were kept from the last save or not, or a
restore would not give back the case."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.deploy import repository
from engine.execution import runtime
from engine.spec import serialization, state_writer
from engine.store.models import ProcessInstance
from tests.casework import Case
from tests.test_process_penalty import (CITIZEN, INVESTIGATE, draft, investigate_and_review, notify_and_recheck,
                                        start_case, timer_clock)  # noqa: F401 (the fixture)


def _stock(workflow) -> dict:
    """SpiffWorkflow's serializer with the engine's configuration, none of the engine's own converters."""
    registry = BpmnWorkflowSerializer.configure(serialization._config)
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]))
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    stock = json.loads(BpmnWorkflowSerializer(registry).serialize_json(workflow))
    del stock["spec"], stock["subprocess_specs"]  # stored once per version, not in the case's row
    return stock


def _compare(db, case: Case) -> dict:
    with db.reading() as session:
        workflow = runtime.load(session, session.get(ProcessInstance, case.id), None).workflow
        stored = session.scalar(select(ProcessInstance.state).where(ProcessInstance.id == case.id))
    stock = _stock(workflow)
    assert json.loads(stored) == stock  # as the engine wrote it at the last save
    first = json.loads(state_writer.instance_to_json(workflow))
    kept = len(state_writer._memo(workflow).texts)
    again = json.loads(state_writer.instance_to_json(workflow))  # with the finished tasks' texts kept
    assert first == again == stock and kept > 0
    assert list(again["tasks"]) == list(stock["tasks"])  # the order tasks are restored in
    return stock


def test_a_case_in_a_called_process_is_written_as_the_stock_serializer_writes_it(db, deployed, user, timer_clock):
    case = start_case(db, user, CITIZEN)
    investigate_and_review(case, "citizen", 5000)
    notify_and_recheck(case, 5000)
    case.do("UserTask_draft_decision", "supervision_decide1", draft(5000), group="supervision.decide")
    assert case.ready_ids() == ["UserTask_legal_review"]  # inside the called 法制审核
    stock = _compare(db, case)

    assert len(stock["subprocesses"]) == 1 and stock["subprocesses"].popitem()[1]["tasks"]
    tasks = stock["tasks"].values()
    assert any(t["internal_data"] for t in tasks)                      # timers' event values
    assert any(t["delta"] and t["delta"]["updates"] for t in tasks)  # each task's changes to the data
    assert "date" in json.dumps(stock) and "Decimal" in json.dumps(stock)


def test_a_task_given_data_of_every_kind_is_written_as_stock(db, deployed, user, timer_clock):
    case = start_case(db, user, CITIZEN)
    with db.transaction() as session:
        action = runtime.act(session, case.id, None)
        ready = next(t for t in action.workflow.get_tasks() if t.task_spec.name == "UserTask_investigate")
        ready.data.update(nested={"list": [1, 2.5, None, {"d": date(2026, 3, 2)}], "amount": Decimal("5000.50")},
                          text='引号"\\ 换行\n 𠀀')
        del ready.data["violation_date"]  # a deletion against the parent's data
        ready.internal_data["note"] = {"at": date(2026, 3, 2)}
        runtime.save(action)
    stock = _compare(db, case)
    task = next(t for t in stock["tasks"].values() if t["task_spec"] == "UserTask_investigate")
    assert task["delta"]["deletions"] == ["violation_date"]
    assert task["internal_data"] == {"note": {"at": {"value": "2026-03-02", "typename": "date"}}}


def test_a_value_changed_in_place_after_its_task_finished_is_written_and_restored(db, deployed, user, timer_clock,
                                                                                 monkeypatch):
    """SpiffWorkflow copies a task's values one level deep to the next: a list's dicts are shared
    along the chain, and a later task that changes one changes it in the finished tasks too. The
    finished task's text must not be kept from before, or the restored case would lose the change."""
    monkeypatch.setattr(state_writer, "verify", False)  # what is written, not what the check says
    case = start_case(db, user, CITIZEN)
    with db.transaction() as session:
        action = runtime.act(session, case.id, None)
        ready = next(iter(action.workflow.get_tasks(state=TaskState.READY)))
        ready.data["items"] = [{"n": 1}]
        ready.data["tags"] = ["甲"]
        runtime.save(action)
    case.do("UserTask_investigate", "supervision_investigate1", INVESTIGATE, group="supervision.investigate")
    with db.transaction() as session:
        action = runtime.act(session, case.id, None)
        ready = next(iter(action.workflow.get_tasks(state=TaskState.READY)))
        finished = next(t for t in action.workflow.get_tasks() if t.task_spec.name == "UserTask_investigate")
        assert ready.data["items"][0] is finished.data["items"][0]  # shared, as SpiffWorkflow made it
        ready.data["items"][0]["n"] = 2
        runtime.save(action)
    with db.reading() as session:
        state = session.scalar(select(ProcessInstance.state).where(ProcessInstance.id == case.id))
    assert json.loads(state) == _stock(action.workflow)
    assert case.data()["items"] == [{"n": 2}] and case.data()["tags"] == ["甲"]


def test_a_finished_tasks_internal_data_changed_in_place_is_written(db, deployed, user, timer_clock, monkeypatch):
    monkeypatch.setattr(state_writer, "verify", False)
    case = start_case(db, user, CITIZEN)
    with db.transaction() as session:
        action = runtime.act(session, case.id, None)
        next(iter(action.workflow.get_tasks(state=TaskState.READY))).internal_data["mark"] = "甲"
        runtime.save(action)
    case.do("UserTask_investigate", "supervision_investigate1", INVESTIGATE, group="supervision.investigate")
    with db.transaction() as session:
        action = runtime.act(session, case.id, None)
        finished = next(t for t in action.workflow.get_tasks() if t.task_spec.name == "UserTask_investigate")
        assert state_writer._memo(action.workflow).texts.get(finished.id)  # kept at the completion's save
        finished.internal_data["mark"] = "乙"
        runtime.save(action)
    with db.reading() as session:
        state = json.loads(session.scalar(select(ProcessInstance.state).where(ProcessInstance.id == case.id)))
    assert state["tasks"][str(finished.id)]["internal_data"] == {"mark": "乙"}


def test_a_case_restored_again_from_its_row_is_the_same_and_a_damaged_id_is_refused(db, deployed, user, timer_clock):
    """Task ids parsed once are reused by later restores (a worker restoring what the other saved)."""
    case = start_case(db, user, CITIZEN)
    investigate_and_review(case, "citizen", 5000)
    with db.reading() as session:
        instance = session.get(ProcessInstance, case.id)
        spec, subprocess_specs = repository.specs_of(session, instance.definition)
        state = session.scalar(select(ProcessInstance.state).where(ProcessInstance.id == case.id))
    first = serialization.instance_from_json(state, spec, subprocess_specs)
    parsed = serialization._task_converters.UUID.cache_info()
    second = serialization.instance_from_json(state, spec, subprocess_specs)
    assert serialization._task_converters.UUID.cache_info().misses == parsed.misses  # every id parsed before
    assert first is not second and first.tasks is not second.tasks
    assert state_writer.instance_to_json(first) == state_writer.instance_to_json(second) == state
    assert {t.id for t in first.tasks.values()} == {UUID(k) for k in json.loads(state)["tasks"]}
    assert all(type(k) is UUID for k in second.tasks)
    damaged = json.loads(state)
    task_id, task = next(iter(damaged["tasks"].items()))
    damaged["tasks"][task_id] = {**task, "parent": "not-a-uuid"}
    with pytest.raises(ValueError):
        serialization.instance_from_json(json.dumps(damaged), spec, subprocess_specs)
