"""Deploying models: legal staff upload what Camunda Modeler saved; a broken model is
refused with `FILE:LINE: ELEMENT_ID: message`, nothing is deployed and the version
the bureau is running stays the one new cases start on."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from engine.spec.problems import ModelInvalid
from engine.store.models import DecisionDefinition, Deployment, ProcessDefinition, ProcessInstance, Resource
from tests.conftest import FIXTURES

ENGINE = FIXTURES / "engine"
CASE_FLOW = (ENGINE / "case_flow.bpmn").read_text()
RECEIVER = (ENGINE / "case_receiver.bpmn").read_text()
RULE = (ENGINE / "test_review_rule.dmn").read_text()
ZHIFA = Path(sys.executable).parent / "zhifa"
PROBLEM_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<element>\S+): (?P<message>.+)$")
CJK = re.compile(r"[\u4e00-\u9fff]")

INSPECTION = {"party_name": "鲁山县某化工有限公司", "party_type": "citizen", "fine_amount": "4000",
              "violation": "true", "inspected_on": "2026-11-20"}

END_OK = """    <bpmn:endEvent id="Ev_end_ok" name="合规结案">
      <bpmn:incoming>Flow_ok</bpmn:incoming>
    </bpmn:endEvent>
"""


def zhifa(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(ZHIFA), *map(str, args)], env=env, capture_output=True, text=True, timeout=120)


def write(folder: Path, name: str, content: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(content, encoding="utf-8")
    return path


def replace(text_: str, old: str, new: str) -> str:
    assert old in text_, old
    return text_.replace(old, new, 1)


def line_of(content: str, marker: str) -> int:
    return next(n for n, line in enumerate(content.splitlines(), 1) if marker in line)


def deploy(db, *paths):
    with db.transaction() as session:
        return repository.deploy(session, repository.read_paths(list(paths)), source="cli")


def problems_of(db, *paths) -> list:
    with pytest.raises(ModelInvalid) as err:
        deploy(db, *paths)
    return err.value.problems


def versions(db) -> dict[str, int]:
    with db.reading() as session:
        return {**{d.key: d.version for d in repository.latest_processes(session)},
                **{d.key: d.version for d in repository.latest_decisions(session)}}


def counts(db) -> tuple[int, ...]:
    with db.reading() as session:
        return tuple(session.scalar(select(func.count()).select_from(m))
                     for m in (Deployment, Resource, ProcessDefinition, DecisionDefinition))


def start_case(db, user, key="case_flow"):
    with db.transaction() as session:
        instance = runtime.start(session, key, user("supervision_investigate1"), {})
        return instance, session.get(ProcessDefinition, instance.definition_id).version


@pytest.fixture
def v1(db, org):
    """The bureau runs version 1 of the test models."""
    deploy(db, ENGINE)
    assert versions(db) == {"case_flow": 1, "case_receiver": 1, "test_review_rule": 1}
    return counts(db)


# -- what is rejected ------------------------------------------------------------------

def _malformed():
    return replace(CASE_FLOW, '<bpmn:endEvent id="Ev_end_ok" name="合规结案">',
                   '<bpmn:endEvent id="Ev_end_ok" name="合规结案"'), '"合规结案"', "-", "XML 格式错误"


def _unknown_element():
    return replace(CASE_FLOW, END_OK, '    <bpmn:fancyTask id="Task_fancy" name="花哨任务" />\n' + END_OK), \
        "Task_fancy", "Task_fancy", "不符合 BPMN 标准"


def _dangling_flow():
    return replace(CASE_FLOW, 'sourceRef="Task_escalate" targetRef="Ev_end_escalated"',
                   'sourceRef="Task_escalate" targetRef="Ev_nowhere"'), '"Flow_6"', "Flow_6", "Ev_nowhere"


def _decision_ref_absent():
    return replace(CASE_FLOW, ' camunda:decisionRef="test_review_rule"', ""), '"Rule_fine"', "Rule_fine", \
        "decisionRef"


def _decision_ref_unknown():
    return replace(CASE_FLOW, 'camunda:decisionRef="test_review_rule"', 'camunda:decisionRef="no_such_rule"'), \
        '"Rule_fine"', "Rule_fine", "no_such_rule"


def _script_syntax_error():
    return replace(CASE_FLOW, END_OK, """    <bpmn:scriptTask id="Script_total" name="计算罚款" scriptFormat="python">
      <bpmn:incoming>Flow_ok</bpmn:incoming>
      <bpmn:outgoing>Flow_total</bpmn:outgoing>
      <bpmn:script>total = (fine_amount +
      </bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="Ev_end_ok" name="合规结案">
      <bpmn:incoming>Flow_total</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_total" sourceRef="Script_total" targetRef="Ev_end_ok" />
"""), "<bpmn:script>", "Script_total", "语法错误"


REJECTED = {
    "malformed_xml": _malformed,
    "unknown_element": _unknown_element,
    "dangling_sequence_flow": _dangling_flow,
    "decision_ref_absent": _decision_ref_absent,
    "decision_ref_unknown": _decision_ref_unknown,
    "script_syntax_error": _script_syntax_error,
}


@pytest.mark.parametrize("case", REJECTED.values(), ids=REJECTED.keys())
def test_a_broken_model_is_refused_and_version_1_stays_in_force(case, db, v1, user, cli_env, tmp_path):
    content, marker, element_id, fragment = case()
    bad = write(tmp_path / "upload", "case_flow.bpmn", content)

    result = zhifa(cli_env, "deploy", bad)

    assert result.returncode == 1, result
    assert "版本" not in result.stdout and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines, result
    parsed = [PROBLEM_LINE.match(line) for line in lines]
    assert all(parsed), lines
    first = parsed[0]
    assert (first["file"], first["element"]) == (str(bad), element_id), lines
    expected_line = line_of(content, marker)
    assert int(first["line"]) in (expected_line, expected_line + 1), (lines, expected_line)
    assert fragment in first["message"] and CJK.search(first["message"]), lines
    # nothing deployed; a new case still starts on version 1
    assert counts(db) == v1
    assert versions(db)["case_flow"] == 1
    assert start_case(db, user)[1] == 1


@pytest.mark.parametrize("payload", [
    '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE x SYSTEM "file:///etc/passwd">',
    '<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
], ids=["external_entity", "external_dtd", "parameter_entity"])
def test_an_xxe_payload_is_refused_and_the_file_never_leaks(payload, db, v1, user, cli_env, tmp_path):
    secret = Path("/etc/passwd").read_text().splitlines()[0]
    assert secret
    content = replace(CASE_FLOW, "<bpmn:definitions", payload + "\n<bpmn:definitions")
    content = replace(content, 'name="开始"', 'name="&e;"') if "ENTITY e" in payload else content
    bad = write(tmp_path / "upload", "case_flow.bpmn", content)

    result = zhifa(cli_env, "deploy", bad)

    assert result.returncode == 1, result
    match = PROBLEM_LINE.match(result.stderr.strip().splitlines()[0])
    assert match and match["file"] == str(bad) and int(match["line"]) == 2, result.stderr
    assert "XXE" in match["message"] and CJK.search(match["message"])
    assert secret not in result.stdout + result.stderr
    assert counts(db) == v1 and start_case(db, user)[1] == 1
    with db.reading() as session:
        tables = inspect(session.connection()).get_table_names()
        assert "process_definitions" in tables and "audit_events" in tables
        for table in tables:
            for row in session.execute(text(f'SELECT * FROM "{table}"')):
                assert secret not in repr(tuple(row)), table


@pytest.mark.parametrize("where", ["attribute", "text"])
def test_an_xxe_payload_in_utf16_is_refused_too(where, db, v1, user, tmp_path):
    """The DOCTYPE check must not rely on the bytes being ASCII-compatible (it once crashed the deploy)."""
    secret = Path("/etc/passwd").read_text().splitlines()[0]
    content = replace(CASE_FLOW, '<?xml version="1.0" encoding="UTF-8"?>',
                      '<?xml version="1.0" encoding="UTF-16"?>\n'
                      '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>')
    content = replace(content, 'name="开始"', 'name="&e;"') if where == "attribute" else \
        replace(content, "到现场检查并记录。", "&e;")
    bad = tmp_path / "case_flow.bpmn"
    bad.write_bytes(content.encode("utf-16"))
    [problem] = problems_of(db, bad)
    assert (problem.file, problem.element_id) == (str(bad), None)
    assert "UTF-8" in problem.message and secret not in str(problem)
    assert counts(db) == v1 and start_case(db, user)[1] == 1


def test_every_problem_of_a_deploy_is_listed(db, v1, cli_env, tmp_path):
    content = _decision_ref_absent()[0]
    content = replace(content, 'sourceRef="Task_escalate" targetRef="Ev_end_escalated"',
                      'sourceRef="Task_escalate" targetRef="Ev_nowhere"')
    content = replace(content, 'camunda:candidateGroups="leadership.deputy"',
                      'camunda:candidateGroups="leadership.deputy" camunda:priority="high"')
    flow = write(tmp_path / "upload", "case_flow.bpmn", content)
    receiver = write(tmp_path / "upload", "case_receiver.bpmn",
                     replace(RECEIVER, "source_case = violation['source_business_key']",
                             "source_case = violation['source_business_key'"))

    result = zhifa(cli_env, "deploy", tmp_path / "upload")

    assert result.returncode == 1, result
    found = {(m["file"], m["element"]) for m in map(PROBLEM_LINE.match, result.stderr.strip().splitlines())}
    assert found >= {(str(flow), "Rule_fine"), (str(flow), "Flow_6"), (str(flow), "Task_escalate"),
                     (str(receiver), "Script_copy")}, result.stderr
    assert counts(db) == v1


def test_a_good_file_deployed_with_a_bad_one_is_not_deployed(db, v1, user, tmp_path):
    upload = tmp_path / "upload"
    write(upload, "case_receiver.bpmn", RECEIVER.replace('name="立案"', 'name="立案登记"'))
    write(upload, "case_flow.bpmn", _dangling_flow()[0])
    problems = problems_of(db, upload)
    assert [p.element_id for p in problems] == ["Flow_6"]
    assert counts(db) == v1 and versions(db)["case_receiver"] == 1


def test_deploying_the_same_files_again_makes_no_new_version(db, v1, cli_env):
    result = zhifa(cli_env, "deploy", ENGINE)
    assert result.returncode == 0, result
    assert "没有变化" in result.stdout and "版本" not in result.stdout.replace("未产生新版本", "")
    assert counts(db) == v1


def test_a_changed_decision_table_makes_a_new_case_flow_while_a_running_case_keeps_v1(db, v1, user, tmp_path):
    running, version = start_case(db, user)
    assert version == 1
    # 法制股 lowers the citizen threshold from 5,000 to 3,000 yuan
    stricter = write(tmp_path / "upload", "test_review_rule.dmn",
                     replace(RULE, "<text>&gt;= 5000</text>", "<text>&gt;= 3000</text>"))
    result = deploy(db, stricter)
    assert sorted((d.key, d.version) for d in result.processes) == [("case_flow", 2)]
    assert [(d.key, d.version) for d in result.decisions] == [("test_review_rule", 2)]
    assert versions(db) == {"case_flow": 2, "case_receiver": 1, "test_review_rule": 2}

    fresh, version = start_case(db, user)
    assert version == 2
    inspector = user("supervision_investigate1")
    for case in (running, fresh):
        with db.reading() as session:
            [task] = tasks.ready_tasks(session, case.id)
        with db.transaction() as session:
            tasks.complete(session, task.id, inspector, INSPECTION)  # a citizen fined 4,000 yuan
    with db.reading() as session:
        review = {case.id: tasks.ready_tasks(session, case.id)[0].candidate_groups for case in (running, fresh)}
        assert session.get(ProcessInstance, running.id).definition.version == 1
    assert review == {running.id: "supervision.review", fresh.id: "legal.review"}


UNSUPPORTED = {
    "java_class_service_task": (
        '<bpmn:serviceTask id="Task_java" name="调用接口" camunda:class="gov.bureau.Notify">'
        '<bpmn:incoming>Flow_ok</bpmn:incoming><bpmn:outgoing>Flow_x</bpmn:outgoing></bpmn:serviceTask>',
        "Task_java", "Java"),
    "external_task": (
        '<bpmn:serviceTask id="Task_ext" name="外部系统" camunda:type="external" camunda:topic="notify">'
        '<bpmn:incoming>Flow_ok</bpmn:incoming><bpmn:outgoing>Flow_x</bpmn:outgoing></bpmn:serviceTask>',
        "Task_ext", "外部任务"),
    "javascript": (
        '<bpmn:scriptTask id="Script_js" name="计算" scriptFormat="javascript">'
        '<bpmn:incoming>Flow_ok</bpmn:incoming><bpmn:outgoing>Flow_x</bpmn:outgoing>'
        '<bpmn:script>var total = 1;</bpmn:script></bpmn:scriptTask>',
        "Script_js", "javascript"),
    "task_listener": (
        '<bpmn:userTask id="Task_listened" name="登记" camunda:candidateGroups="supervision.file">'
        '<bpmn:extensionElements><camunda:taskListener class="gov.bureau.Listener" event="create" />'
        '</bpmn:extensionElements><bpmn:incoming>Flow_ok</bpmn:incoming><bpmn:outgoing>Flow_x</bpmn:outgoing>'
        '</bpmn:userTask>',
        "Task_listened", "监听器"),
}


def _with_step(step_xml: str) -> str:
    target = re.search(r'<bpmn:\w+ id="(\w+)"', step_xml).group(1)
    return replace(CASE_FLOW, END_OK, f"""    {step_xml}
    <bpmn:endEvent id="Ev_end_ok" name="合规结案">
      <bpmn:incoming>Flow_x</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_x" sourceRef="{target}" targetRef="Ev_end_ok" />
""")


@pytest.mark.parametrize("construct", UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_constructs_zhifa_does_not_run_are_refused_in_chinese(construct, db, v1, tmp_path):
    step_xml, element_id, fragment = construct
    problems = problems_of(db, write(tmp_path, "case_flow.bpmn", _with_step(step_xml)))
    mine = [p for p in problems if p.element_id == element_id]
    assert mine, [str(p) for p in problems]
    assert any(fragment in p.message and CJK.search(p.message) for p in mine), [str(p) for p in mine]
    assert all(p.line for p in mine)
    assert counts(db) == v1


def test_an_unknown_candidate_group_is_refused(db, v1, tmp_path):
    content = replace(CASE_FLOW, 'camunda:candidateGroups="leadership.deputy"',
                      'camunda:candidateGroups="leadership.deputy,leadership.secretary"')
    [problem] = problems_of(db, write(tmp_path, "case_flow.bpmn", content))
    assert (problem.element_id, problem.line) == ("Task_escalate", line_of(content, 'id="Task_escalate"'))
    assert "leadership.secretary" in problem.message and "岗位" in problem.message
    assert counts(db) == v1


def test_juel_conditions_and_unquoted_timers_as_the_modeler_writes_them_are_accepted(db, org, user, clock, tmp_path):
    content = replace(CASE_FLOW, "${violation &amp;&amp; !empty party_name}",
                      "${violation and fine_amount gt 0 and party_type eq &quot;citizen&quot;}")
    assert '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P3D</bpmn:timeDuration>' in content
    deploy(db, ENGINE / "test_review_rule.dmn", ENGINE / "case_receiver.bpmn")
    result = deploy(db, write(tmp_path, "case_flow.bpmn", content))
    assert [(d.key, d.version) for d in result.processes] == [("case_flow", 1)]

    case, _ = start_case(db, user)
    with db.reading() as session:
        [task] = tasks.ready_tasks(session, case.id)
    before = clock.now()
    with db.transaction() as session:
        tasks.complete(session, task.id, user("supervision_investigate1"), INSPECTION)
    with db.reading() as session:
        [review] = tasks.ready_tasks(session, case.id)  # the JUEL condition chose the violation branch
        due = session.get(ProcessInstance, case.id).next_timer_at
    assert review.element_id == "Task_review"
    assert abs((due - before).total_seconds() - 3 * 86400) < 120  # P3D: three days from now
