"""A model cannot reach the operating system: not from a script task, not from a gateway
condition, not from a decision table cell. Attacks written into a model are refused at
deploy time; attacks smuggled in through what an officer types into a form fail at run
time, naming the step, and leave the case as it was. Nothing on disk changes."""
from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from engine.deploy import repository
from engine.execution import runtime
from engine.execution.errors import EngineStepFailed
from engine.inbox import tasks
from engine.spec.problems import ModelInvalid
from engine.store.models import AuditEvent, DecisionDefinition, HumanTask, ProcessDefinition, ProcessInstance
from tests.conftest import FIXTURES

SANDBOX = FIXTURES / "sandbox"
FLOW = (SANDBOX / "sandbox_flow.bpmn").read_text()
RULE = (SANDBOX / "sandbox_rule.dmn").read_text()


@pytest.fixture
def sentinel(tmp_path):
    """A file each attack tries to delete or overwrite; it must survive untouched."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    path = folder / "询问笔录.txt"
    path.write_text("原件，请勿改动")
    yield path
    assert path.read_text() == "原件，请勿改动"
    assert [p.name for p in folder.iterdir()] == [path.name]


def attacks(victim: Path) -> dict[str, str]:
    return {
        "dunder_import": f"__import__('os').remove({str(victim)!r})",
        "open": f"open({str(victim)!r}, 'w').write('owned')",
        "subclasses": "().__class__.__base__.__subclasses__()",
    }


ATTACK_IDS = ["dunder_import", "open", "subclasses"]


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def in_script(attack: str):
    return _replace(FLOW, "summary = template.format(party_name)", escape(f"summary = {attack}")), RULE, \
        "Script_summary", "脚本不被允许"


def in_condition(attack: str):
    return _replace(FLOW, "${template.format(party_name) != ''}", escape(attack)), RULE, "Flow_check_yes", \
        "条件表达式不被允许"


def in_juel_condition(attack: str):
    return _replace(FLOW, "${template.format(party_name) != ''}", escape("${" + attack + "}")), RULE, \
        "Flow_check_yes", "条件表达式不被允许"


def in_dmn_input_cell(attack: str):
    return FLOW, _replace(RULE, '<inputEntry id="Cell_in"><text>-</text>',
                          f'<inputEntry id="Cell_in"><text>{escape("? == " + attack)}</text>'), "Cell_in", \
        "不被允许"


def in_dmn_output_cell(attack: str):  # not FEEL: the translator refuses it before the sandbox check
    return FLOW, _replace(RULE, '<outputEntry id="Cell_out"><text>"已生成"</text>',
                          f'<outputEntry id="Cell_out"><text>{escape(attack)}</text>'), "Cell_out", \
        "无法翻译"


def in_dmn_python_input_expression(attack: str):
    return FLOW, _replace(RULE, '<inputExpression id="InExpr_summary" typeRef="string"><text>'
                                'template.format(party_name)</text>',
                          '<inputExpression id="InExpr_summary" typeRef="string" expressionLanguage="python">'
                          f'<text>{escape(attack)}</text>'), "In_summary", "摘要"


PLACES = {"script_task": in_script, "gateway_condition": in_condition, "juel_condition": in_juel_condition,
          "dmn_input_cell": in_dmn_input_cell, "dmn_output_cell": in_dmn_output_cell,
          "dmn_python_input_expression": in_dmn_python_input_expression}
SANDBOX_REASONS = ("is not allowed", "invalid attribute name")


def deployed_count(db) -> int:
    with db.reading() as session:
        return (session.scalar(select(func.count()).select_from(ProcessDefinition))
                + session.scalar(select(func.count()).select_from(DecisionDefinition)))


@pytest.mark.parametrize("attack", ATTACK_IDS)
@pytest.mark.parametrize("place", PLACES.values(), ids=PLACES.keys())
def test_an_attack_written_into_a_model_is_refused_at_deploy_time(place, attack, db, org, sentinel, tmp_path):
    bpmn, dmn, element_id, fragment = place(attacks(sentinel)[attack])
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "sandbox_flow.bpmn").write_text(bpmn)
    (upload / "sandbox_rule.dmn").write_text(dmn)

    with pytest.raises(ModelInvalid) as err:
        with db.transaction() as session:
            repository.deploy(session, repository.read_paths([upload]), source="cli")

    problems = [p for p in err.value.problems if p.element_id == element_id]
    assert problems, [str(p) for p in err.value.problems]
    assert all(p.line and p.file.endswith((".bpmn", ".dmn")) for p in problems)
    assert any(fragment in p.message for p in problems), [str(p) for p in problems]
    if place is not in_dmn_output_cell:  # refused by the sandbox's own static check
        assert any(r in p.message for p in problems for r in SANDBOX_REASONS), [str(p) for p in problems]
    assert deployed_count(db) == 0


# -- at run time: the template comes from the form an officer submits ------------------

FORMAT_TRICKS = {
    "class_mro": "{0.__class__.__mro__}",
    "globals": "{0.__init__.__globals__}",
    "subclasses": "{0.__class__.__base__.__subclasses__}",
    "nested_spec": "{0:{0.__class__}}",
}
STEPS = {"script": "Script_summary", "condition": "Gw_check", "decision": "Rule_summary"}


@pytest.fixture
def sandbox_flow(db, org):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([SANDBOX]), source="cli")


def _start(db, user):
    with db.transaction() as session:
        return runtime.start(session, "sandbox_flow", user("supervision_investigate1"), {})


def _snapshot(db, instance_id: int):
    with db.reading() as session:
        row = session.get(ProcessInstance, instance_id)
        human = [(t.id, t.element_id, t.state, t.assignee, t.completed_by) for t in session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.id))]
        events = session.scalar(select(func.count()).select_from(AuditEvent))
        return row.state, row.status, row.updated_at, human, events


@pytest.mark.parametrize("trick", FORMAT_TRICKS.values(), ids=FORMAT_TRICKS.keys())
@pytest.mark.parametrize("route", STEPS)
def test_a_template_typed_into_a_form_cannot_walk_to_python_internals(route, trick, db, sandbox_flow, user,
                                                                      sentinel):
    case = _start(db, user)
    with db.reading() as session:
        [draft] = tasks.ready_tasks(session, case.id)
    before = _snapshot(db, case.id)

    with pytest.raises(EngineStepFailed) as err:
        with db.transaction() as session:
            tasks.complete(session, draft.id, user("supervision_investigate1"),
                           {"party_name": "鲁山县某化工有限公司", "template": trick, "route": route})

    assert err.value.element_id == STEPS[route]
    assert STEPS[route] in str(err.value) and "操作已撤销" in str(err.value)
    assert "__" in err.value.reason and "not accessible" in err.value.reason
    assert _snapshot(db, case.id) == before


@pytest.mark.parametrize("route", STEPS)
def test_an_ordinary_template_still_works_after_a_refused_one(route, db, sandbox_flow, user):
    officer = user("supervision_investigate1")
    case = _start(db, user)
    with db.reading() as session:
        [draft] = tasks.ready_tasks(session, case.id)
    with pytest.raises(EngineStepFailed):
        with db.transaction() as session:
            tasks.complete(session, draft.id, officer, {"party_name": "某公司", "template": "{0.__class__}",
                                                        "route": route})
    with db.transaction() as session:
        tasks.complete(session, draft.id, officer,
                       {"party_name": "鲁山县某化工有限公司", "template": "关于{0}的行政处罚决定书", "route": route})
    with db.reading() as session:
        [sign] = tasks.ready_tasks(session, case.id)
        data = runtime.case_data(runtime.load(session, session.get(ProcessInstance, case.id), None).workflow)
    assert sign.element_id == "Task_sign"
    expected = {"script": "关于鲁山县某化工有限公司的行政处罚决定书", "decision": "已生成"}
    assert data.get("summary") == expected.get(route)

