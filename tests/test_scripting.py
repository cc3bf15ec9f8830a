"""The restricted script environment: attacks fail everywhere, ordinary scripts work."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.util.task import TaskState

from engine.sandbox.scripting import ScriptRejected, check_source, make_script_engine
from engine.spec.dmn import evaluate_table, load_table


def add_days(start, n):
    return (date.fromisoformat(start) if isinstance(start, str) else start) + timedelta(days=n)


ENGINE = make_script_engine({"add_days": add_days})


def script_bpmn(script: str, condition: str = "True") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="Script" name="计算" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="Gw" default="f_no"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="Yes"><bpmn:incoming>f_yes</bpmn:incoming></bpmn:userTask>
    <bpmn:userTask id="No"><bpmn:incoming>f_no</bpmn:incoming></bpmn:userTask>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Script" />
    <bpmn:sequenceFlow id="f2" sourceRef="Script" targetRef="Gw" />
    <bpmn:sequenceFlow id="f_yes" sourceRef="Gw" targetRef="Yes"><bpmn:conditionExpression
      xsi:type="bpmn:tFormalExpression">{escape(condition)}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="Gw" targetRef="No" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def run(script: str, condition: str = "True", data: dict | None = None) -> BpmnWorkflow:
    parser = CamundaParser()
    parser.add_bpmn_str(script_bpmn(script, condition))
    wf = BpmnWorkflow(parser.get_spec("p"), script_engine=ENGINE)
    wf.task_tree.data.update(data or {})
    wf.do_engine_steps()
    return wf


def ready(wf: BpmnWorkflow) -> list[str]:
    return [t.task_spec.name for t in wf.get_tasks(state=TaskState.READY)]


def ready_data(wf: BpmnWorkflow) -> dict:
    return wf.get_tasks(state=TaskState.READY)[0].data


def cell_dmn(cell: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="d" namespace="x">
  <decision id="attack" name="attack"><decisionTable id="t" hitPolicy="FIRST">
    <input id="i" label="x"><inputExpression id="ie" typeRef="string"><text>x</text></inputExpression></input>
    <output id="o" name="out" typeRef="string" />
    <rule id="r1"><inputEntry id="c1"><text>{escape(cell)}</text></inputEntry>
      <outputEntry id="o1"><text>"hit"</text></outputEntry></rule>
  </decisionTable></decision>
</definitions>""".encode()


# Each attack is written so that it would delete or create VICTIM if it ran.
ATTACKS = {
    "dunder_import": "__import__('os').remove(VICTIM)",
    "open": "open(VICTIM, 'w').write('owned')",
    "subclasses": "().__class__.__base__.__subclasses__()",
    "getattr": "getattr(x, '__class__')",
    "format_attribute": "'{0.__class__}'.format(1)",
    "format_map_attribute": "'{v.__class__.__init__.__globals__}'.format_map({'v': x})",
    "str_format_unbound": "str.format('{0.__class__}', 1)",
    "generator_frame": "[g.gi_frame.f_back for g in [(i for i in [1])]]",
    "eval": "eval('1')",
    "exec": "exec('y = 1')",
    "compile": "compile('1', 'x', 'eval')",
    "globals": "globals()",
    "type": "type(x).mro()",
}


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_text("untouched")
    yield str(path)
    assert path.read_text() == "untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim.txt"]


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_attack_fails_in_a_script_task(attack, victim):
    with pytest.raises(WorkflowTaskException) as info:
        run(f"result = {attack}", data={"x": 1, "VICTIM": victim})
    assert "rejected" in str(info.value) or "not" in str(info.value)


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_attack_fails_in_a_gateway_condition(attack, victim):
    with pytest.raises(WorkflowTaskException):
        run("y = 1", condition=attack, data={"x": 1, "VICTIM": victim})


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_attack_fails_in_a_dmn_cell(attack, victim):
    table, problems = load_table(cell_dmn(f"? == {attack}"), "attack.dmn")
    assert table is None and problems, "deploy-time check must reject the cell"
    # and even if it slipped through deployment, evaluation refuses it
    table, problems = load_table(cell_dmn("? == 1"), "ok.dmn")
    table.rules[0].inputEntries[0].lhs = [f"? == {attack}"]
    with pytest.raises(Exception) as info:
        evaluate_table(table, {"x": 1, "VICTIM": victim}, ENGINE)
    assert "rule 1" in str(info.value)


def test_import_statement_rejected_in_script():
    with pytest.raises(WorkflowTaskException) as info:
        run("import os\nfiles = os.listdir('/')")
    assert "import is not allowed" in str(info.value)


def test_check_source_reports_reasons():
    assert check_source("a + 1", "eval") is None
    assert check_source("total = 0\nfor i in x:\n    total += i", "exec") is None
    assert "import" in check_source("import os", "exec")
    assert "import" in check_source("from os import path", "exec")
    assert "'open'" in check_source("open('/etc/passwd')", "eval")
    assert "__class__" in check_source("().__class__", "eval")
    assert "'getattr'" in check_source("getattr(x, '__class__')", "eval")
    assert "syntax error" in check_source("a +", "eval")
    assert "syntax error" in check_source("x = ", "exec")
    assert check_source("", "eval") == "empty expression"
    assert "class" in check_source("class A:\n    pass", "exec")


def test_ordinary_script_works():
    script = """
total = 0
for amount in fines:
    total += amount
total *= 2
labels = ['%s: %d' % (k, v) for k, v in sorted(counts.items())]
squares = {str(n): n * n for n in range(3)}
first, *rest = fines
summary = f'{party_name} 共 {len(fines)} 项，合计 {total} 元'
formatted = '{} / {name}'.format(1, name=party_name)
money = Decimal('1234.50') * 2 + Decimal('0.01')
deadline = add_days(filed_on, 15)
same_day = date(2026, 3, 2) + timedelta(days=1)
ok = all(isinstance(f, int) for f in fines) and any(f > 100 for f in fines)
biggest = max(fines)
rounded = round(Decimal('2.675'), 2)
def double(v):
    return v * 2
doubled = list(map(double, fines))
"""
    wf = run(script, condition="total > 500 and ok", data={
        "fines": [100, 200, 300], "counts": {"a": 1, "b": 2}, "party_name": "张三",
        "filed_on": "2026-03-02"})
    assert ready(wf) == ["Yes"]
    data = ready_data(wf)
    assert data["total"] == 1200
    assert data["labels"] == ["a: 1", "b: 2"]
    assert data["squares"] == {"0": 0, "1": 1, "2": 4}
    assert (data["first"], data["rest"]) == (100, [200, 300])
    assert data["summary"] == "张三 共 3 项，合计 1200 元"
    assert data["formatted"] == "1 / 张三"
    assert data["money"] == Decimal("2469.01")
    assert data["deadline"] == date(2026, 3, 17)
    assert data["same_day"] == date(2026, 3, 3)
    assert data["biggest"] == 300 and data["doubled"] == [200, 400, 600]
    assert "double" not in data  # script-local functions do not reach task data
    assert not any(k.startswith("_") for k in data)


def test_all_inplace_operators():
    env = ENGINE.environment
    ctx = {"a": 7, "s": {1}, "l": [1]}
    env.execute("a += 1\na -= 2\na *= 3\na //= 4\na **= 2\na %= 7\na <<= 2\na >>= 1\n"
                "a |= 1\na &= 7\na ^= 2\nb = 10\nb /= 4\ns |= {2}\nl += [2]", ctx)
    assert ctx["a"] == ((((((7 + 1 - 2) * 3 // 4) ** 2 % 7) << 2 >> 1) | 1) & 7) ^ 2
    assert ctx["b"] == 2.5 and ctx["s"] == {1, 2} and ctx["l"] == [1, 2]


def test_today_and_now_are_in_shanghai():
    env = ENGINE.environment
    assert isinstance(env.evaluate("today()", {}), date)
    assert env.evaluate("now().utcoffset()", {}) == timedelta(hours=8)


def test_helpers_win_over_task_data_without_overwrite_error():
    # a form field named like a helper neither breaks the script nor shadows the helper
    wf = run("d = date(2026, 1, 2)\nn = add_days(d, 1)", data={"date": "字段", "add_days": 3})
    data = ready_data(wf)
    assert data["n"] == date(2026, 1, 3)
    assert data["date"] == "字段" and data["add_days"] == 3


def test_assigning_a_helper_name_is_rejected():
    with pytest.raises(WorkflowTaskException) as info:
        run("date = '2026-01-01'")
    assert "helper name" in str(info.value)


def test_only_plain_data_is_copied_back():
    with pytest.raises(WorkflowTaskException) as info:
        run("r = range(3)")
    assert "range" in str(info.value)
    with pytest.raises(WorkflowTaskException):
        run("g = (i for i in [1])")
    wf = run("x = 1\nf = lambda v: v\ndel old", data={"old": 1})
    data = ready_data(wf)
    assert data["x"] == 1 and "f" not in data and "old" not in data


def test_syntax_error_message_survives_spiff():
    # Spiff crashes formatting a SyntaxError whose lineno is None; ours is a ScriptRejected
    with pytest.raises(WorkflowTaskException) as info:
        run("x = = 1")
    assert "syntax error" in str(info.value)
    with pytest.raises(WorkflowTaskException) as info:
        run("x = 1", condition="a &&& b")
    assert "syntax error" in str(info.value)


def test_runtime_violation_message_survives_spiff():
    with pytest.raises(WorkflowTaskException) as info:  # built at run time: no deploy check can see it
        run("fmt = '{0.' + '_' + '_class__}'\nt = fmt.format(1)")
    assert "'__class__' is not accessible" in str(info.value)
    assert info.value.task.task_spec.name == "Script"


def test_condition_errors_keep_the_cause():
    with pytest.raises(WorkflowTaskException) as info:
        run("x = 1", condition="open('/etc/passwd')")
    assert "'open' is not allowed" in str(info.value)
    assert isinstance(info.value.__cause__, ScriptRejected)
    with pytest.raises(WorkflowTaskException) as info:
        run("x = 1", condition="missing > 1")
    assert "NameError" in str(info.value) and info.value.task.task_spec.name == "Gw"


def test_exceptions_with_non_string_args_do_not_crash_spiff():
    with pytest.raises(WorkflowTaskException) as info:
        run("x = {}\ny = x[5]")
    assert "KeyError" in str(info.value) and info.value.line_number == 2


def test_indented_script_from_xml_runs():
    wf = run("\n        total = 1\n        if total:\n            total += 1\n")
    assert ready_data(wf)["total"] == 2


def test_print_is_harmless():
    wf = run("print('hello')\nx = 1")
    assert ready_data(wf)["x"] == 1


def test_attribute_write_on_helper_is_blocked():
    with pytest.raises(WorkflowTaskException):
        run("date.today = 1")


def test_script_rejected_keeps_reason():
    err = ScriptRejected("import is not allowed")
    assert err.reason == "import is not allowed"
    assert "import is not allowed" in str(err)


def test_datetime_values_round_trip_as_plain():
    wf = run("when = datetime(2026, 1, 1, 9, 30)\nspan = timedelta(days=2)")
    data = ready_data(wf)
    assert data["when"] == datetime(2026, 1, 1, 9, 30) and data["span"] == timedelta(days=2)
