"""Versions of a process: legal staff change a form field and add a step; the diff says so;
running cases keep their version until migrated; a dry run lists what would move and what
cannot; a migrated case continues on the new diagram; a case whose current step vanished
is refused with the reason."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.access.identity import NotPermitted
from engine.admin import catalog, instance_migration
from engine.deploy import diff, repository
from engine.execution import runtime
from engine.inbox import tasks
from engine.store.models import AuditEvent, ProcessDefinition, ProcessInstance
from tests.conftest import FIXTURES

ENGINE = FIXTURES / "engine"
V1 = (ENGINE / "case_flow.bpmn").read_text()
ZHIFA = Path(sys.executable).parent / "zhifa"
INSPECTION = {"party_name": "鲁山县某化工有限公司", "party_type": "organization", "fine_amount": "60000",
              "violation": "true", "inspected_on": "2026-11-20"}


def sub(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


def version_2(text: str = V1) -> str:
    """A wider 当事人名称 field and a new step 整理材料 after 现场检查."""
    text = sub(text, '<camunda:formField id="party_name" label="当事人名称" type="string">',
               '<camunda:formField id="party_name" label="当事人名称（全称）" type="string">')
    text = sub(text, '<camunda:constraint name="maxlength" config="100" />', '<camunda:constraint name="maxlength" config="200" />')
    text = sub(text, '<bpmn:sequenceFlow id="Flow_2" sourceRef="Task_inspect" targetRef="Rule_fine" />',
               '<bpmn:sequenceFlow id="Flow_2" sourceRef="Task_inspect" targetRef="Task_prepare" />\n'
               '    <bpmn:sequenceFlow id="Flow_2b" sourceRef="Task_prepare" targetRef="Rule_fine" />')
    text = sub(text, '<bpmn:businessRuleTask id="Rule_fine" name="判断是否需要法制审核" camunda:decisionRef="test_review_rule">\n'
                     '      <bpmn:incoming>Flow_2</bpmn:incoming>',
               '<bpmn:userTask id="Task_prepare" name="整理材料" camunda:candidateGroups="supervision.investigate">\n'
               '      <bpmn:incoming>Flow_2</bpmn:incoming>\n      <bpmn:outgoing>Flow_2b</bpmn:outgoing>\n'
               '    </bpmn:userTask>\n'
               '    <bpmn:businessRuleTask id="Rule_fine" name="判断是否需要法制审核" camunda:decisionRef="test_review_rule">\n'
               '      <bpmn:incoming>Flow_2b</bpmn:incoming>')
    text = sub(text, "<bpmn:flowNodeRef>Task_inspect</bpmn:flowNodeRef>",
               "<bpmn:flowNodeRef>Task_inspect</bpmn:flowNodeRef>\n        <bpmn:flowNodeRef>Task_prepare</bpmn:flowNodeRef>")
    return text


def deploy_text(db, folder: Path, text: str):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "case_flow.bpmn").write_text(text, encoding="utf-8")
    with db.transaction() as session:
        return repository.deploy(session, repository.read_paths([folder / "case_flow.bpmn"]), source="cli")


@pytest.fixture
def v1(db, org):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([ENGINE]), source="cli")


def start(db, user):
    with db.transaction() as session:
        instance = runtime.start(session, "case_flow", user("supervision_investigate1"), {})
        return instance.id, instance.business_key


def ready(db, instance_id):
    with db.reading() as session:
        return tasks.ready_tasks(session, instance_id)


def complete(db, task, username, user, data):
    with db.transaction() as session:
        tasks.complete(session, task.id, user(username), data)


def definition_of(db, instance_id) -> tuple[int, str]:
    with db.reading() as session:
        instance = session.get(ProcessInstance, instance_id)
        return session.get(ProcessDefinition, instance.definition_id).version, \
            session.scalar(select(ProcessInstance.state).where(ProcessInstance.id == instance_id))


def test_the_diff_lists_a_changed_form_field_and_an_added_task(db, v1, tmp_path):
    deploy_text(db, tmp_path / "v2", version_2())
    with db.reading() as session:
        old, new = (session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == "case_flow",
                                                                   ProcessDefinition.version == v)) for v in (1, 2))
        changes = diff.diff_versions(session, old, new)
    found = {(c.category, c.change, c.element_id) for c in changes}
    assert ("任务", "added", "Task_prepare") in found
    assert ("表单字段", "changed", "Task_inspect") in found
    assert ("顺序流", "added", "Flow_2b") in found and ("顺序流", "changed", "Flow_2") in found
    field = next(c for c in changes if c.category == "表单字段")
    assert "party_name" in field.label and "maxlength=100" in field.before and "maxlength=200" in field.after
    assert "当事人名称（全称）" in field.after
    added = next(c for c in changes if c.element_id == "Task_prepare")
    assert added.label == "整理材料（用户任务）" and "supervision.investigate" in added.after
    # Conditions and timers are compared too.
    v3 = sub(sub(version_2(), "P3D", "P5D"), "${violation &amp;&amp; !empty party_name}", "${violation}")
    kinds = {(c.category, c.change, c.element_id) for c in diff.diff_xml(version_2().encode(), v3.encode(), "case_flow")}
    assert kinds == {("定时器", "changed", "Ev_overdue"), ("条件", "changed", "Flow_violation")}


def test_running_cases_keep_their_version_until_migrated(db, v1, user, tmp_path):
    case_id, _ = start(db, user)
    deploy_text(db, tmp_path / "v2", version_2())
    assert definition_of(db, case_id)[0] == 1
    complete(db, ready(db, case_id)[0], "supervision_investigate1", user, INSPECTION)
    assert [t.element_id for t in ready(db, case_id)] == ["Task_review"]  # v1 has no 整理材料
    new_case, _ = start(db, user)
    assert definition_of(db, new_case)[0] == 2


def test_dry_run_then_migration_and_the_case_continues_on_the_new_version(db, v1, user, tmp_path):
    at_inspection, key_a = start(db, user)
    at_review, key_b = start(db, user)
    complete(db, ready(db, at_review)[0], "supervision_investigate1", user, INSPECTION)
    assert [t.element_id for t in ready(db, at_review)] == ["Task_review"]
    # Version 2 also renames 审查 (Task_review → Task_legal): a case standing there cannot move.
    deploy_text(db, tmp_path / "v2", sub(version_2(), "Task_review", "Task_legal"))
    before = {i: definition_of(db, i) for i in (at_inspection, at_review)}

    with db.transaction() as session:
        dry = instance_migration.plan(session, "case_flow", 2, user("legal_review1"))
    assert [c.instance.business_key for c in dry.movable] == [key_a]
    assert dry.movable[0].current == ["现场检查（Task_inspect）"]
    assert [c.instance.business_key for c in dry.refused] == [key_b]
    assert "审查" in dry.refused[0].reason and "Task_review" in dry.refused[0].reason and "第 2 版中已不存在" in dry.refused[0].reason
    assert {i: definition_of(db, i) for i in (at_inspection, at_review)} == before  # a dry run changes nothing

    with db.transaction() as session:
        done = instance_migration.migrate(session, "case_flow", 2, user("legal_review1"))
    assert [c.instance.business_key for c in done.movable] == [key_a]
    assert [c.instance.business_key for c in done.refused] == [key_b]
    assert definition_of(db, at_inspection)[0] == 2 and definition_of(db, at_review) == before[at_review]
    with db.reading() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "migrate", AuditEvent.instance_id == at_inspection))
        assert event.actor == "legal_review1" and '"from": "case_flow:1"' in event.details and '"to": "case_flow:2"' in event.details

    # The migrated case continues along version 2: after 现场检查 comes the new 整理材料.
    task = ready(db, at_inspection)[0]
    assert task.element_id == "Task_inspect"
    complete(db, task, "supervision_investigate1", user, INSPECTION)
    assert [(t.element_id, t.name) for t in ready(db, at_inspection)] == [("Task_prepare", "整理材料")]
    complete(db, ready(db, at_inspection)[0], "supervision_investigate1", user, {})
    assert [t.element_id for t in ready(db, at_inspection)] == ["Task_legal"]
    # The refused case still runs on version 1.
    complete(db, ready(db, at_review)[0], "legal_review1", user, {"opinion": "同意立案处罚"})
    with db.reading() as session:
        assert session.get(ProcessInstance, at_review).status == "completed"


def test_an_officer_may_not_migrate_and_a_missing_version_is_named(db, v1, user, tmp_path):
    deploy_text(db, tmp_path / "v2", version_2())
    with db.transaction() as session, pytest.raises(NotPermitted):
        instance_migration.plan(session, "case_flow", 2, user("supervision_investigate1"))
    with db.transaction() as session, pytest.raises(catalog.VersionNotFound, match="没有第 7 版"):
        instance_migration.plan(session, "case_flow", 7, user("legal_review1"))


def test_the_migrate_command(db, v1, user, tmp_path, cli_env):
    case_id, key = start(db, user)
    deploy_text(db, tmp_path / "v2", version_2())
    dry = subprocess.run([str(ZHIFA), "migrate", "case_flow", "--to", "2", "--dry-run", "--as", "legal_review1"],
                         env=cli_env, capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert "可迁移 1 件，不能迁移 0 件（试运行，未做任何改动）" in dry.stdout and key in dry.stdout
    assert definition_of(db, case_id)[0] == 1
    real = subprocess.run([str(ZHIFA), "migrate", "case_flow", "--to", "2"], env=cli_env, capture_output=True,
                          text=True, timeout=120)
    assert real.returncode == 0, real.stderr
    assert "已迁移 1 件" in real.stdout and definition_of(db, case_id)[0] == 2
    bad = subprocess.run([str(ZHIFA), "migrate", "case_flow", "--to", "9"], env=cli_env, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 1 and "没有第 9 版" in bad.stderr
