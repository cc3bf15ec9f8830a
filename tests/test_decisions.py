"""DMN: translation problems, every hit policy, and a businessRuleTask in a real BPMN."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.sandbox import expressions
from engine.sandbox.scripting import make_script_engine
from engine.spec.dmn import (PARSER_OVERRIDES, SERIALIZER_CONFIG, DecisionError, DecisionTask, evaluate_table,
                             load_table, parse_xml, register_converters, translate_dmn)

FIXTURES = Path(__file__).parent / "fixtures" / "decisions"
REPO = Path(__file__).parent.parent
ENGINE = make_script_engine({})
NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def make_dmn(inputs, outputs, rules, hit_policy="UNIQUE", aggregation=None, extra="") -> bytes:
    """inputs: [expression]; outputs: [name or (name, outputValues)]; rules: [(cells, outs)]."""
    agg = f' aggregation="{aggregation}"' if aggregation else ""
    x = [f'<definitions xmlns="{NS}" id="defs" name="DRD" namespace="http://camunda.org/schema/1.0/dmn">',
         '<decision id="d1" name="测试决策">',
         f'<decisionTable id="dt1" hitPolicy="{hit_policy}"{agg}>']
    for i, expr in enumerate(inputs):
        x.append(f'<input id="in{i}" label="输入{i}"><inputExpression id="ie{i}" typeRef="string">'
                 f'<text>{escape(expr)}</text></inputExpression></input>')
    for i, out in enumerate(outputs):
        name, values = out if isinstance(out, tuple) else (out, None)
        body = (f'<outputValues id="ov{i}"><text>{escape(values)}</text></outputValues>' if values else "")
        x.append(f'<output id="out{i}" label="{name}" name="{name}" typeRef="string">{body}</output>')
    for r, (cells, outs) in enumerate(rules):
        x.append(f'<rule id="r{r + 1}">')
        x += [f'<inputEntry id="r{r + 1}i{i}"><text>{escape(c)}</text></inputEntry>' for i, c in enumerate(cells)]
        x += [f'<outputEntry id="r{r + 1}o{i}"><text>{escape(c)}</text></outputEntry>' for i, c in enumerate(outs)]
        x.append("</rule>")
    x += ["</decisionTable>", extra, "</decision>", "</definitions>"]
    return "\n".join(x).encode()


def table_of(xml: bytes):
    table, problems = load_table(xml, "t.dmn")
    assert problems == [], [str(p) for p in problems]
    return table


THREE = [(["[0..1000]"], ['"A"', "1"]), ([">= 10"], ['"B"', "2"]), ([">= 100"], ['"C"', "3"])]


def evaluate(policy, amount, aggregation=None, rules=THREE, outputs=("label", "score")):
    table = table_of(make_dmn(["amount"], list(outputs), rules, policy, aggregation))
    return evaluate_table(table, {"amount": amount}, ENGINE)


# --- hit policies ------------------------------------------------------------------

def test_unique_single_match():
    result = evaluate("UNIQUE", 5)
    assert result.outputs == {"label": "A", "score": 1}
    assert result.matched == [("r1", 1)]


def test_unique_violation_names_the_rules():
    with pytest.raises(DecisionError) as info:
        evaluate("UNIQUE", 150)
    message = str(info.value)
    assert "UNIQUE" in message and "测试决策" in message
    assert "rule 1 (r1)" in message and "rule 3 (r3)" in message


def test_first():
    result = evaluate("FIRST", 150)
    assert result.outputs == {"label": "A", "score": 1} and result.matched == [("r1", 1)]


def test_priority_uses_output_values_order():
    rules = THREE
    table = table_of(make_dmn(["amount"], [("label", '"C","B","A"'), "score"], rules, "PRIORITY"))
    result = evaluate_table(table, {"amount": 150}, ENGINE)
    assert result.outputs == {"label": "C", "score": 3}
    assert result.matched == [("r3", 3), ("r2", 2), ("r1", 1)]
    result = evaluate_table(table, {"amount": 50}, ENGINE)
    assert result.outputs == {"label": "B", "score": 2}


def test_priority_needs_output_values():
    _, problems = load_table(make_dmn(["amount"], ["label", "score"], THREE, "PRIORITY"), "p.dmn")
    assert any("取值列表" in p.message for p in problems)


def test_any_agreeing_and_disagreeing():
    same = [(["> 0"], ['"ok"']), ([">= 10"], ['"ok"'])]
    result = evaluate("ANY", 50, rules=same, outputs=("label",))
    assert result.outputs == {"label": "ok"} and len(result.matched) == 2
    with pytest.raises(DecisionError) as info:
        evaluate("ANY", 150)
    assert "ANY" in str(info.value)


def test_collect_returns_every_match():
    result = evaluate("COLLECT", 150)
    assert result.outputs == [{"label": "A", "score": 1}, {"label": "B", "score": 2},
                              {"label": "C", "score": 3}]
    assert result.variables() == {"label": ["A", "B", "C"], "score": [1, 2, 3]}


SCORES = [(cells, [outs[1]]) for cells, outs in THREE]


@pytest.mark.parametrize("aggregation, expected", [("SUM", 6), ("MIN", 1), ("MAX", 3), ("COUNT", 3)])
def test_collect_aggregations(aggregation, expected):
    result = evaluate("COLLECT", 150, aggregation, rules=SCORES, outputs=("score",))
    assert result.outputs == {"score": expected}
    assert result.variables() == {"score": expected}
    assert result.matched == [("r1", 1), ("r2", 2), ("r3", 3)]


def test_aggregation_needs_a_single_numeric_output():
    _, problems = load_table(make_dmn(["amount"], ["label", "score"], THREE, "COLLECT", "SUM"), "a.dmn")
    assert any("恰好一个输出列" in p.message for p in problems)
    with pytest.raises(DecisionError) as info:
        evaluate("COLLECT", 150, "SUM", rules=[(["> 0"], ['"A"']), (["> 1"], ["2"])], outputs=("x",))
    assert "cannot SUM" in str(info.value)


def test_collect_sum_of_money_stays_decimal():
    rules = [(["> 0"], ["1000.50"]), (["> 10"], ["2000.25"])]
    result = evaluate("COLLECT", 50, "SUM", rules=rules, outputs=("fine",))
    assert result.outputs == {"fine": Decimal("3000.75")}


def test_rule_order_and_output_order():
    result = evaluate("RULE ORDER", 150)
    assert [row["label"] for row in result.outputs] == ["A", "B", "C"]
    table = table_of(make_dmn(["amount"], [("label", '"C","A","B"'), "score"], THREE, "OUTPUT ORDER"))
    result = evaluate_table(table, {"amount": 150}, ENGINE)
    assert [row["label"] for row in result.outputs] == ["C", "A", "B"]
    assert result.variables() == {"label": ["C", "A", "B"], "score": [3, 1, 2]}


@pytest.mark.parametrize("policy, aggregation, variables", [
    ("UNIQUE", None, {"label": None, "score": None}),
    ("FIRST", None, {"label": None, "score": None}),
    ("PRIORITY", None, {"label": None, "score": None}),
    ("ANY", None, {"label": None, "score": None}),
    ("COLLECT", None, {"label": [], "score": []}),
    ("RULE ORDER", None, {"label": [], "score": []}),
    ("COLLECT", "COUNT", {"score": 0}),
    ("COLLECT", "SUM", {"score": None}),
    ("COLLECT", "MAX", {"score": None}),
])
def test_no_match(policy, aggregation, variables):
    outputs, rules = [("label", '"A","B","C"'), "score"], THREE
    if aggregation:
        outputs, rules = ["score"], SCORES
    table = table_of(make_dmn(["amount"], outputs, rules, policy, aggregation))
    result = evaluate_table(table, {"amount": -1}, ENGINE)
    assert result.variables() == variables and result.matched == []


# --- cells --------------------------------------------------------------------------

def test_money_boundaries_through_a_table():
    table = table_of(make_dmn(["fine_amount"], ["band"], [
        (["< 5000"], ['"small"']), (["[5000..50000)"], ['"medium"']), ([">= 50000"], ['"large"'])]))
    band = lambda v: evaluate_table(table, {"fine_amount": v}, ENGINE).outputs["band"]  # noqa: E731
    assert band(Decimal("4999.99")) == "small"
    assert band(Decimal("5000.00")) == "medium"
    assert band(Decimal("49999.99")) == "medium"
    assert band(Decimal("50000")) == "large"


def test_several_inputs_lists_not_and_any():
    table = table_of(make_dmn(["party_type", "fine_amount", "category"], ["review"], [
        (['"citizen"', ">= 5000", "-"], ["true"]),
        (['"organization","other"', ">= 50000", 'not("coercion")'], ["true"]),
        (["", "", '"coercion"'], ["true"]),
    ], "FIRST"))
    decide = lambda **d: evaluate_table(table, d, ENGINE).outputs["review"]  # noqa: E731
    assert decide(party_type="citizen", fine_amount=5000, category="penalty") is True
    assert decide(party_type="citizen", fine_amount=4999, category="penalty") is None
    assert decide(party_type="other", fine_amount=60000, category="penalty") is True
    assert decide(party_type="other", fine_amount=100, category="coercion") is True


def test_input_expressions_are_translated():
    table = table_of(make_dmn(["${fine_amount * 2}", "party.type"], ["x"], [([">= 10", '"org"'], ["1"])]))
    assert [i.expression for i in table.inputs] == ["fine_amount * 2", "party['type']"]
    assert evaluate_table(table, {"fine_amount": 5, "party": {"type": "org"}}, ENGINE).outputs == {"x": 1}


def test_null_input_does_not_match_comparisons():
    table = table_of(make_dmn(["fine_amount"], ["x"], [([">= 5000"], ["1"]), (["null"], ["2"])], "FIRST"))
    assert evaluate_table(table, {"fine_amount": None}, ENGINE).outputs == {"x": 2}


def test_cell_error_names_decision_and_rule():
    table = table_of(make_dmn(["fine_amount"], ["x"], [(['"a"'], ["1"]), ([">= 5000"], ["2"])], "FIRST"))
    with pytest.raises(DecisionError) as info:
        evaluate_table(table, {"fine_amount": "lots"}, ENGINE)
    message = str(info.value)
    assert "测试决策" in message and "rule 2 (r2)" in message and ">= 5000" in message


def test_missing_input_variable_is_reported():
    table = table_of(make_dmn(["fine_amount"], ["x"], [(["> 1"], ["1"])]))
    with pytest.raises(DecisionError) as info:
        evaluate_table(table, {}, ENGINE)
    assert "fine_amount" in str(info.value) and "NameError" in str(info.value)


def test_output_error_names_rule():
    table = table_of(make_dmn(["a"], ["x"], [(["-"], ["a / 0"])]))
    with pytest.raises(DecisionError) as info:
        evaluate_table(table, {"a": 1}, ENGINE)
    assert "rule 1 (r1)" in str(info.value) and "ZeroDivisionError" in str(info.value)


# --- deploy-time problems ------------------------------------------------------------

def problems_of(xml: bytes) -> list:
    root = parse_xml(xml)
    return translate_dmn(root, "bad.dmn")


def test_translation_problems_are_reported_with_line_and_id():
    xml = make_dmn(["amount", "kind"], ["label"], [
        (["[1..", '"a"'], ['"x"']),
        (["> 1", 'starts with("a")'], ['"y"']),
        (["> 1", "-"], ["{1: 2}"]),
        (["? == __import__('os')", "-"], ['"z"']),
    ])
    problems = problems_of(xml)
    by_id = {p.element_id: p for p in problems}
    assert set(by_id) == {"r1i0", "r2i1", "r3o0", "r4i0"}
    assert all(p.line and p.file == "bad.dmn" for p in problems)
    assert "第 1 条规则" in by_id["r1i0"].message and "输入0" in by_id["r1i0"].message
    assert "不被允许" in by_id["r4i0"].message
    assert str(by_id["r1i0"]).startswith("bad.dmn:")


def test_structure_problems():
    two = make_dmn(["a"], ["x"], []).replace(  # several decisions (a DRD) are fine since #11; each is checked
        b"</definitions>", b'<decision id="d2" name="second"><literalExpression id="le2"><text>1</text>'
                           b'</literalExpression></decision></definitions>')
    assert {p.element_id for p in problems_of(two)} == {"d2"}

    literal = (f'<definitions xmlns="{NS}" id="d" name="n" namespace="x"><decision id="lit" name="l">'
               '<literalExpression id="le"><text>1</text></literalExpression></decision></definitions>').encode()
    assert any("不支持文字表达式决策" in p.message for p in problems_of(literal))

    no_ids = make_dmn(["a"], ["x"], [(["1"], ["2"])]).replace(b' id="r1"', b"").replace(b' id="in0"', b"")
    messages = [p.message for p in problems_of(no_ids)]
    assert any("第 1 条规则缺少 id" in m for m in messages) and any("输入列缺少 id" in m for m in messages)

    assert any("不支持命中策略 'WHATEVER'" in p.message for p in problems_of(make_dmn(["a"], ["x"], [], "WHATEVER")))
    assert any("聚合" in p.message for p in problems_of(make_dmn(["a"], ["x"], [], "FIRST", "SUM")))
    assert any("聚合" in p.message for p in problems_of(make_dmn(["a"], ["x"], [], "COLLECT", "AVG")))
    bad_name = make_dmn(["a"], ["x"], []).replace(b'name="x"', b'name="needs review"').replace(
        b'label="x"', b'label="needs review"')
    assert any("变量名" in p.message for p in problems_of(bad_name))
    short = make_dmn(["a", "b"], ["x"], [(["1"], ["2"])])
    assert any("有 1 个输入单元格" in p.message for p in problems_of(short))
    no_expr = make_dmn([""], ["x"], [])
    assert any("没有表达式" in p.message for p in problems_of(no_expr))
    prefixed = make_dmn(["a"], ["x"], []).replace(b'xmlns="', b'xmlns:semantic="').replace(
        b"<", b"<semantic:").replace(b"<semantic:/", b"</semantic:")
    assert any("命名空间" in p.message for p in problems_of(prefixed))


def test_load_table_rejects_unsafe_or_broken_xml():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "boom">]>'
            b'<definitions xmlns="' + NS.encode() + b'">&x;</definitions>')
    table, problems = load_table(bomb, "bomb.dmn")
    assert table is None and problems
    table, problems = load_table(b"<definitions", "broken.dmn")
    assert table is None and "XML 格式错误" in problems[0].message
    table, problems = load_table(make_dmn(["a"], ["x"], [(["[1.."], ["1"])]), "cell.dmn")
    assert table is None and problems[0].element_id == "r1i0"


def test_translate_is_idempotent():
    root = parse_xml(make_dmn(["amount"], ["x"], [(["[1..5]"], ['"a"'])]))
    assert translate_dmn(root, "t.dmn") == []
    before = etree.tostring(root)
    assert translate_dmn(root, "t.dmn") == []
    assert etree.tostring(root) == before
    table, problems = load_table(root, "t.dmn")
    assert problems == [] and table.rules[0].inputEntries[0].lhs == ["1 <= ? <= 5"]


@pytest.mark.parametrize("path", sorted((REPO / "dmn").glob("*.dmn")), ids=lambda p: p.name)
def test_repository_decision_tables_load(path):
    table, problems = load_table(path.read_bytes(), str(path))
    assert problems == [], [str(p) for p in problems]
    assert table.rules


# --- a businessRuleTask in a real process ----------------------------------------------

class Parser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {**CamundaParser.OVERRIDE_PARSER_CLASSES, **PARSER_OVERRIDES}


def serializer() -> BpmnWorkflowSerializer:
    registry = BpmnWorkflowSerializer.configure(register_converters(dict(DEFAULT_CONFIG)))
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    return BpmnWorkflowSerializer(registry)


def load_process():
    parser = Parser()
    bpmn = etree.parse(str(FIXTURES / "legal_review_test.bpmn")).getroot()
    for cond in bpmn.iter("{*}conditionExpression"):  # what the repository does at deploy time
        cond.text = expressions.to_python(cond.text)
    parser.add_bpmn_xml(bpmn, "legal_review_test.bpmn")
    dmn = parse_xml((FIXTURES / "legal_review_test.dmn").read_bytes())
    assert translate_dmn(dmn, "legal_review_test.dmn") == []
    parser.add_dmn_xml(dmn, "legal_review_test.dmn")
    return parser.get_spec("penalty_review")


def start(data: dict, round_trip: bool = True) -> BpmnWorkflow:
    ser = serializer()
    wf = BpmnWorkflow(load_process(), script_engine=ENGINE)
    wf.do_engine_steps()
    if round_trip:  # as the web app does between requests
        wf = ser.deserialize_json(ser.serialize_json(wf))
        wf.script_engine = ENGINE
    task = wf.get_next_task(state=TaskState.READY, manual=True)
    assert task.task_spec.name == "Enter_fine"
    task.set_data(**data)
    task.run()
    wf.do_engine_steps()
    return wf


def ready(wf) -> list[str]:
    return [t.task_spec.name for t in wf.get_tasks(state=TaskState.READY, manual=True)]


def test_parser_translates_a_dmn_added_without_translation():
    parser = Parser()
    parser.add_bpmn_file(str(FIXTURES / "legal_review_test.bpmn"))
    parser.add_dmn_file(str(FIXTURES / "legal_review_test.dmn"))
    spec = parser.get_spec("penalty_review")
    table = spec.task_specs["Decide_review"].dmnEngine.decision_table
    assert table.rules[2].inputEntries[1].lhs == ["50000 <= ? <= 1000000000"]


def test_unknown_decision_ref_is_a_validation_error():
    from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
    parser = Parser()
    parser.add_bpmn_file(str(FIXTURES / "legal_review_test.bpmn"))
    with pytest.raises(ValidationException) as info:
        parser.get_spec("penalty_review")
    assert "review_needed" in str(info.value)


def test_decision_task_is_used_by_the_parser():
    spec = load_process()
    assert isinstance(spec.task_specs["Decide_review"], DecisionTask)
    assert SERIALIZER_CONFIG[DecisionTask]


def test_an_organisation_fined_50000_goes_to_legal_review():
    wf = start({"party_type": "organization", "fine_amount": Decimal("50000.00")})
    assert ready(wf) == ["Legal_review"]
    data = wf.get_next_task(state=TaskState.READY, manual=True).data
    assert data["needs_review"] is True and data["review_reason"] == "组织5万元以上"


def test_a_citizen_fined_4999_99_is_decided_directly():
    wf = start({"party_type": "citizen", "fine_amount": Decimal("4999.99")})
    assert ready(wf) == ["Decide_directly"]


def test_no_matching_rule_sets_outputs_to_none_and_takes_the_default_flow():
    wf = start({"party_type": "unknown", "fine_amount": Decimal("1")})
    assert ready(wf) == ["Decide_directly"]
    data = wf.get_next_task(state=TaskState.READY, manual=True).data
    assert data["needs_review"] is None and data["review_reason"] is None


def test_cell_error_in_a_process_names_task_decision_and_rule():
    with pytest.raises(WorkflowTaskException) as info:
        start({"party_type": "citizen", "fine_amount": "很多"})
    message = str(info.value)
    assert "是否法制审核" in message and "rule 1 (Rule_citizen_big)" in message
    assert info.value.task.task_spec.name == "Decide_review"


def test_decision_task_survives_serializer_round_trip_after_running():
    ser = serializer()
    wf = start({"party_type": "citizen", "fine_amount": Decimal("5000")})
    text = ser.serialize_json(wf)
    assert '"DecisionTask"' in text and '"priorities"' in text
    json.loads(text)
    restored = ser.deserialize_json(text)
    restored.script_engine = ENGINE
    spec = restored.spec.task_specs["Decide_review"]
    assert isinstance(spec, DecisionTask)
    table = spec.dmnEngine.decision_table
    assert table.decision_name == "是否法制审核" and table.hit_policy == "UNIQUE"
    assert evaluate_table(table, {"party_type": "organization", "fine_amount": 10}, ENGINE).outputs == \
        {"needs_review": False, "review_reason": "不足5万元"}
    assert ready(restored) == ["Legal_review"]
    assert restored.get_next_task(state=TaskState.READY, manual=True).data["needs_review"] is True


def test_aggregation_and_priorities_survive_serialization():
    xml = make_dmn(["amount"], [("score", "3, 2, 1")], SCORES, "COLLECT", "SUM")
    table = table_of(xml)
    from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

    from engine.spec.dmn import DecisionTaskConverter
    converter = DecisionTaskConverter(DecisionTask, BpmnWorkflowSerializer.configure(dict(DEFAULT_CONFIG)))
    restored = converter.decision_table_from_dict(json.loads(json.dumps(converter.decision_table_to_dict(table))))
    assert restored.aggregation == "SUM" and restored.priorities == [["3", "2", "1"]]
    assert evaluate_table(restored, {"amount": 150}, ENGINE).outputs == {"score": 6}
    assert DMNEngine(restored).decision_table is restored
