"""Validation beyond the schema, shared by the CLI, the 流程部署 page and the modeler's
Deploy button: each rule of the issue list, on a model legal staff could plausibly save."""
from __future__ import annotations

import pytest

from engine.deploy import repository
from engine.spec.problems import ModelInvalid
from tests.conftest import FIXTURES

ENGINE = FIXTURES / "engine"
CASE_FLOW = (ENGINE / "case_flow.bpmn").read_text()
RULE = (ENGINE / "test_review_rule.dmn").read_text()
INSPECT = '<bpmn:userTask id="Task_inspect" name="现场检查"'
ESCALATE = '<bpmn:userTask id="Task_escalate" name="超期督办" camunda:candidateGroups="leadership.deputy">'
CONDITION = "${violation &amp;&amp; !empty party_name}"

CASES = {
    "candidate group that does not exist": (
        ESCALATE, ESCALATE.replace("leadership.deputy", "leadership.nobody"),
        "Task_escalate", "候选岗位 “leadership.nobody” 不存在"),
    "lane name used as a post that does not exist": (
        '<bpmn:lane id="Lane_investigate" name="supervision.investigate">',
        '<bpmn:lane id="Lane_investigate" name="调查岗">', "Task_inspect", "候选岗位 “调查岗” 不存在"),
    "form field id that is not an identifier": (
        'id="inspected_on"', 'id="检查日期"', "检查日期", "必须是英文标识符"),
    "form field type we do not support": (
        'id="violation" label="发现违法行为" type="boolean"', 'id="violation" label="发现违法行为" type="checkbox"',
        "violation", "不支持的字段类型 “checkbox”"),
    "embedded form (formKey)": (
        ESCALATE, ESCALATE[:-1] + ' camunda:formKey="embedded:app:forms/escalate.html">', "Task_escalate",
        "不支持 camunda:formKey"),
    "gateway flow without condition": (
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{CONDITION}</bpmn:conditionExpression>', "",
        "Flow_violation", "网关的非默认出口必须有条件表达式"),
    "condition that does not parse": (
        CONDITION, "${violation &amp;&amp; (party_name}", "Flow_violation", "条件表达式"),
    "timer that does not parse": (
        "P3D", "三天", "Timer_review", "定时器 “三天” 既不是 ISO 8601 时间"),
    "timer duration that is not ISO 8601": (
        "P3D", "P3X", "Timer_review", "定时器表达式无法解析"),
    "called process that does not exist": (
        ESCALATE, '<bpmn:callActivity id="Task_escalate" name="超期督办" calledElement="no_such_process">'
        '<bpmn:incoming>Flow_5</bpmn:incoming><bpmn:outgoing>Flow_6</bpmn:outgoing></bpmn:callActivity>'
        '<bpmn:userTask id="Task_unused" name="x" camunda:candidateGroups="leadership.deputy">',
        "Task_escalate", "调用的流程 “no_such_process” 不存在"),
    "decision that does not exist": (
        'camunda:decisionRef="test_review_rule"', 'camunda:decisionRef="no_such_table"', "Rule_fine",
        "引用的决策表 “no_such_table” 不存在"),
    "Java class": (
        ESCALATE, ESCALATE[:-1] + ' camunda:class="gov.lushan.Escalate">', "Task_escalate", "不支持Java 类（camunda:class）"),
    "delegate expression": (
        ESCALATE, ESCALATE[:-1] + ' camunda:delegateExpression="${escalator}">', "Task_escalate", "委托表达式"),
    "external task": (
        '<bpmn:businessRuleTask id="Rule_fine" name="判断是否需要法制审核" camunda:decisionRef="test_review_rule">',
        '<bpmn:businessRuleTask id="Rule_fine" name="判断是否需要法制审核" camunda:decisionRef="test_review_rule" camunda:type="external" camunda:topic="fine">',
        "Rule_fine", "不支持外部任务"),
    "CMMN case": (
        ESCALATE, ESCALATE[:-1] + ' camunda:caseRef="escalation_case">', "Task_escalate", "CMMN"),
    "task listener": (
        '<bpmn:documentation>到现场检查并记录。</bpmn:documentation>',
        '<bpmn:documentation>到现场检查并记录。</bpmn:documentation><bpmn:extensionElements>'
        '<camunda:taskListener class="gov.lushan.Notify" event="create" /></bpmn:extensionElements>',
        "Task_inspect", "不支持监听器"),
}


def deploy(db, bpmn: str, dmn: str = RULE):
    sources = [repository.Source("test_review_rule.dmn", dmn.encode()), repository.Source("case_flow.bpmn", bpmn.encode())]
    with db.transaction() as session:
        return repository.deploy(session, sources, source="cli")


@pytest.mark.parametrize("case", list(CASES))
def test_a_rule_names_the_element_and_explains(db, org, case):
    old, new, element, message = CASES[case]
    assert old in CASE_FLOW, case
    with pytest.raises(ModelInvalid) as raised:
        deploy(db, CASE_FLOW.replace(old, new, 1))
    found = [p for p in raised.value.problems if p.element_id == element and message in p.message]
    assert found, [str(p) for p in raised.value.problems]
    assert found[0].line and found[0].file == "case_flow.bpmn"


def test_a_user_task_nobody_can_see(db, org):
    bpmn = CASE_FLOW.replace(ESCALATE, '<bpmn:userTask id="Task_escalate" name="超期督办">')
    bpmn = bpmn.replace("<bpmn:flowNodeRef>Task_escalate</bpmn:flowNodeRef>", "")
    with pytest.raises(ModelInvalid) as raised:
        deploy(db, bpmn)
    assert any(p.element_id == "Task_escalate" and "用户任务没有办理岗位" in p.message for p in raised.value.problems)


def test_a_non_python_script_is_refused(db, org):
    script = ('<bpmn:scriptTask id="Script_js" name="计算" scriptFormat="javascript"><bpmn:incoming>Flow_5</bpmn:incoming>'
              '<bpmn:outgoing>Flow_5b</bpmn:outgoing><bpmn:script>var x = 1;</bpmn:script></bpmn:scriptTask>'
              '<bpmn:sequenceFlow id="Flow_5b" sourceRef="Script_js" targetRef="Task_escalate" />')
    bpmn = CASE_FLOW.replace('<bpmn:sequenceFlow id="Flow_5" sourceRef="Ev_overdue" targetRef="Task_escalate" />',
                             '<bpmn:sequenceFlow id="Flow_5" sourceRef="Ev_overdue" targetRef="Script_js" />' + script)
    with pytest.raises(ModelInvalid) as raised:
        deploy(db, bpmn)
    assert any(p.element_id == "Script_js" and "不支持脚本语言 javascript" in p.message for p in raised.value.problems)


def test_a_dmn_cell_that_does_not_parse(db, org):
    with pytest.raises(ModelInvalid) as raised:
        deploy(db, CASE_FLOW, RULE.replace("&gt;= 50000", "&gt;= [50000"))
    assert any(p.file == "test_review_rule.dmn" and p.element_id == "E2b" for p in raised.value.problems), \
        [str(p) for p in raised.value.problems]


def test_the_unchanged_model_deploys(db, org):
    assert deploy(db, CASE_FLOW).changed


INCLUSIVE_LOOP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs_checks" targetNamespace="http://zhifa.test">
  <bpmn:process id="checks" name="测试选择核实" isExecutable="true">
    <bpmn:startEvent id="Ev_start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="Gw_merge"><bpmn:incoming>F1</bpmn:incoming><bpmn:incoming>F_again</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:inclusiveGateway id="Gw_pick" name="选择核实" default="F_b"><bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F_a</bpmn:outgoing><bpmn:outgoing>F_b</bpmn:outgoing></bpmn:inclusiveGateway>
    <bpmn:userTask id="Task_a" name="询问当事人" camunda:candidateGroups="supervision.investigate"><bpmn:incoming>F_a</bpmn:incoming><bpmn:outgoing>F_a2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="Task_b" name="监测采样" camunda:candidateGroups="supervision.investigate"><bpmn:incoming>F_b</bpmn:incoming><bpmn:outgoing>F_b2</bpmn:outgoing></bpmn:userTask>
    <bpmn:inclusiveGateway id="Gw_joined" name="核实完毕"><bpmn:incoming>F_a2</bpmn:incoming><bpmn:incoming>F_b2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing></bpmn:inclusiveGateway>
    <bpmn:userTask id="Task_check" name="审查" camunda:candidateGroups="supervision.investigate"><bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F4</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="Gw_more" default="F_end"><bpmn:incoming>F4</bpmn:incoming><bpmn:outgoing>F_again</bpmn:outgoing><bpmn:outgoing>F_end</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="Ev_end"><bpmn:incoming>F_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Ev_start" targetRef="Gw_merge" />
    <bpmn:sequenceFlow id="F2" sourceRef="Gw_merge" targetRef="Gw_pick" />
    <bpmn:sequenceFlow id="F_a" sourceRef="Gw_pick" targetRef="Task_a"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${ask}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F_b" sourceRef="Gw_pick" targetRef="Task_b" />
    <bpmn:sequenceFlow id="F_a2" sourceRef="Task_a" targetRef="Gw_joined" />
    <bpmn:sequenceFlow id="F_b2" sourceRef="Task_b" targetRef="Gw_joined" />
    <bpmn:sequenceFlow id="F3" sourceRef="Gw_joined" targetRef="Task_check" />
    <bpmn:sequenceFlow id="F4" sourceRef="Task_check" targetRef="Gw_more" />
    <bpmn:sequenceFlow id="F_again" sourceRef="Gw_more" targetRef="Gw_merge"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${again}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F_end" sourceRef="Gw_more" targetRef="Ev_end" />
  </bpmn:process>
</bpmn:definitions>
"""


PARALLEL_LOOP = (INCLUSIVE_LOOP.replace("inclusiveGateway", "parallelGateway").replace(' default="F_b"', "")
                 .replace('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${ask}</bpmn:conditionExpression>', ""))
AGAIN = ('<bpmn:sequenceFlow id="F_again" sourceRef="Gw_more" targetRef="Gw_merge"><bpmn:conditionExpression '
         'xsi:type="bpmn:tFormalExpression">${again}</bpmn:conditionExpression></bpmn:sequenceFlow>')


@pytest.mark.parametrize("model, kind", [(INCLUSIVE_LOOP, "包容网关"), (PARALLEL_LOOP, "并行网关")],
                         ids=["inclusive", "parallel"])
def test_a_join_in_a_loop_is_refused_and_one_outside_a_loop_is_not(db, org, model, kind):
    # SpiffWorkflow 3.2 would merge at the first branch from the second pass on
    assert AGAIN in model
    with pytest.raises(ModelInvalid) as raised:
        with db.transaction() as session:
            repository.deploy(session, [repository.Source("checks.bpmn", model.encode())], source="cli")
    [problem] = raised.value.problems
    assert problem.element_id == "Gw_joined" and f"合并分支的{kind}“核实完毕”不能位于循环中" in problem.message
    without_loop = (model.replace(AGAIN, "").replace("<bpmn:incoming>F_again</bpmn:incoming>", "")
                    .replace("<bpmn:outgoing>F_again</bpmn:outgoing>", ""))
    with db.transaction() as session:
        result = repository.deploy(session, [repository.Source("checks.bpmn", without_loop.encode())], source="cli")
    assert [p.key for p in result.processes] == ["checks"]
