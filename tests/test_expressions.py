"""JUEL → Python, timers, due dates."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.camunda.parser import CamundaParser

from engine.sandbox.expressions import TZ, ExpressionError, due_value, timer_to_python, timer_value, to_python
from engine.sandbox.scripting import check_source, make_script_engine


@pytest.mark.parametrize("juel, python", [
    ("${fine_amount >= 5000 && party_type == 'citizen'}", "fine_amount >= 5000 and party_type == 'citizen'"),
    ("${a || !b}", "a or not b"),
    ("${a != b}", "a != b"),
    ("${!(a && b)}", "not (a and b)"),
    ("${x eq 1 and y ne 2}", "x == 1 and y != 2"),
    ("${x lt 1 || x gt 9 || x le 2 || x ge 3}", "x < 1 or x > 9 or x <= 2 or x >= 3"),
    ("${empty remarks}", "not remarks"),
    ("${not empty remarks}", "not not remarks"),
    ("${approved == true && rejected == false || other == null}",
     "approved == True and rejected == False or other == None"),
    ("${amount div 2 mod 3}", "amount / 2 % 3"),
    ("#{a lt 3}", "a < 3"),
    ("  ${ x }  ", "x"),
    # string literal contents are never touched
    ("${note == 'a && b || !c eq d'}", "note == 'a && b || !c eq d'"),
    ('${note == "it\'s && true" || x}', 'note == "it\'s && true" or x'),
    ("${note == 'say \\'hi\\' && go'}", "note == 'say \\'hi\\' && go'"),
    # attribute names that look like operators stay attributes
    ("${result.empty}", "result.empty"),
    # plain Python passes through
    ("fine_amount >= 5000 and party_type == 'citizen'", "fine_amount >= 5000 and party_type == 'citizen'"),
    ("add_working_days(filed_on, 15)", "add_working_days(filed_on, 15)"),
    # composite expressions concatenate
    ("${permit_department + '.accept'}", "permit_department + '.accept'"),
    ("${dept}.accept", "str(dept) + '.accept'"),
    ("case-${n}-${m}", "'case-' + str(n) + '-' + str(m)"),
])
def test_juel_to_python(juel, python):
    assert to_python(juel) == python
    assert check_source(python, "eval") is None


def test_translated_juel_evaluates():
    env = make_script_engine({}).environment
    code = to_python("${fine_amount >= 5000 && party_type == 'citizen' && !empty party_name}")
    assert env.evaluate(code, {"fine_amount": 5000, "party_type": "citizen", "party_name": "张三"}) is True
    assert env.evaluate(code, {"fine_amount": 4999, "party_type": "citizen", "party_name": "张三"}) is False
    assert env.evaluate(to_python("${dept}.accept"), {"dept": "permit"}) == "permit.accept"


@pytest.mark.parametrize("text, message", [
    ("${a ? b : c}", "conditional"),
    ("${a &&}", "cannot translate"),
    ("${a", "missing"),
    ("${'unterminated}", "unterminated"),
    ("${}", "empty"),
    ("", "empty"),
    ("${x instanceof y}", "instanceof"),
])
def test_juel_errors(text, message):
    with pytest.raises(ExpressionError) as info:
        to_python(text)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("kind, text, python", [
    ("timeDuration", "P5D", "'P5D'"),
    ("timeDuration", "PT1H", "'PT1H'"),
    ("timeDuration", "P1W", "'P1W'"),
    ("timeDuration", "PT1.5H", "'PT1.5H'"),
    ("timeDuration", "p2d", "'P2D'"),
    ("timeDuration", "'PT1H'", "'PT1H'"),
    ("timeDuration", '"P3D"', "'P3D'"),
    ("timeCycle", "R3/PT10M", "'R3/PT10M'"),
    ("timeCycle", "R/P1D", "'R/P1D'"),
    ("timeCycle", "R2/2026-03-01T09:00:00/P1D", "'R2/2026-03-01T09:00:00+08:00/P1D'"),
    ("timeDate", "2026-12-01T09:00:00+08:00", "'2026-12-01T09:00:00+08:00'"),
    ("timeDate", "2026-12-01T01:00:00Z", "'2026-12-01T01:00:00+00:00'"),
    ("timeDate", "2026-12-01T09:00:00", "'2026-12-01T09:00:00+08:00'"),
    ("timeDate", "2026-12-01", "'2026-12-02T00:00:00+08:00'"),  # a date = the whole day
    ("timeDate", "${add_working_days(filed_on, 15)}", "timer_value(add_working_days(filed_on, 15), 'timeDate')"),
    ("timeDuration", "${reminder}", "timer_value(reminder, 'timeDuration')"),
    ("timeDuration", "reminder_after", "timer_value(reminder_after, 'timeDuration')"),
])
def test_timer_to_python(kind, text, python):
    assert timer_to_python(kind, text) == python
    assert check_source(python, "eval") is None


@pytest.mark.parametrize("kind, text", [
    ("timeDuration", "P5X"),
    ("timeDuration", "P1W2D"),
    ("timeDuration", "PT"),
    ("timeDuration", "2026-12-01"),
    ("timeDate", "2026-13-01"),
    ("timeDate", "P5D"),
    ("timeCycle", "0 0 9 * * ?"),
    ("timeCycle", "PT1H"),
    ("timeCycle", "R3/P1D/P2D"),
    ("timeDuration", ""),
    ("timeDuration", "'5 days'"),
    ("timeOfDay", "P1D"),
])
def test_timer_errors(kind, text):
    with pytest.raises(ExpressionError):
        timer_to_python(kind, text)


def test_timer_value():
    assert timer_value(date(2026, 3, 2)) == "2026-03-03T00:00:00+08:00"
    assert timer_value(datetime(2026, 3, 2, 9, 30)) == "2026-03-02T09:30:00+08:00"
    aware = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    assert timer_value(aware) == "2026-03-02T01:00:00+00:00"
    assert timer_value("2026-03-02") == "2026-03-03T00:00:00+08:00"
    assert timer_value("2026-03-02T10:00:00") == "2026-03-02T10:00:00+08:00"
    assert timer_value("P2D", "timeDuration") == "P2D"
    assert timer_value(timedelta(days=2, hours=3), "timeDuration") == "P2DT10800S"
    assert timer_value("R3/PT10M", "timeCycle") == "R3/PT10M"
    for bad in [(date(2026, 1, 1), "timeDuration"), (timedelta(days=-1), "timeDuration"),
                (5, "timeDate"), ("tomorrow", "timeDate"), (date(2026, 1, 1), "timeCycle")]:
        with pytest.raises(ValueError):
            timer_value(*bad)


TIMER_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="timer_p" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Wait" name="等待期限"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="T1"><bpmn:{kind}>{text}</bpmn:{kind}></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="After"><bpmn:incoming>f2</bpmn:incoming></bpmn:userTask>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Wait" />
    <bpmn:sequenceFlow id="f2" sourceRef="Wait" targetRef="After" />
  </bpmn:process>
</bpmn:definitions>"""


def _timer_fire_at(kind: str, modeler_text: str, data: dict) -> datetime:
    parser = CamundaParser()
    parser.add_bpmn_str(TIMER_BPMN.format(kind=kind, text=timer_to_python(kind, modeler_text)).encode())
    engine = make_script_engine({"timer_value": timer_value})
    wf = BpmnWorkflow(parser.get_spec("timer_p"), script_engine=engine)
    wf.task_tree.data.update(data)
    wf.do_engine_steps()
    (event,) = wf.waiting_events()
    return datetime.fromisoformat(event.value)


@freeze_time("2026-03-02T01:00:00Z")
def test_timers_run_in_spiff():
    utc = timezone.utc
    assert _timer_fire_at("timeDuration", "P5D", {}) == datetime(2026, 3, 7, 1, tzinfo=utc)
    # a date from an expression fires when that day is over in Shanghai
    assert _timer_fire_at("timeDate", "${deadline}", {"deadline": date(2026, 3, 4)}) == \
        datetime(2026, 3, 4, 16, tzinfo=utc)
    assert _timer_fire_at("timeDate", "2026-03-05T09:00:00", {}) == datetime(2026, 3, 5, 1, tzinfo=utc)
    assert _timer_fire_at("timeDuration", "${wait}", {"wait": "PT2H"}) == datetime(2026, 3, 2, 3, tzinfo=utc)


def test_due_value():
    ready = datetime(2026, 1, 31, 10, 0, tzinfo=TZ)
    assert due_value("P5D", ready) == datetime(2026, 2, 5, 10, 0, tzinfo=TZ)
    assert due_value("PT4H", ready) == datetime(2026, 1, 31, 14, 0, tzinfo=TZ)
    assert due_value("P1M", ready) == datetime(2026, 2, 28, 10, 0, tzinfo=TZ)  # calendar month
    assert due_value("P1Y2M3DT4H", ready) == datetime(2027, 4, 3, 14, 0, tzinfo=TZ)
    assert due_value("P2W", ready) == datetime(2026, 2, 14, 10, 0, tzinfo=TZ)
    assert due_value("2026-02-10", ready) == datetime(2026, 2, 10, 23, 59, 59, tzinfo=TZ)
    assert due_value(date(2026, 2, 10), ready) == datetime(2026, 2, 10, 23, 59, 59, tzinfo=TZ)
    assert due_value("2026-02-10T09:00:00", ready) == datetime(2026, 2, 10, 9, tzinfo=TZ)
    assert due_value("2026-02-10T01:00:00Z", ready) == datetime(2026, 2, 10, 9, tzinfo=TZ)
    assert due_value(datetime(2026, 2, 10, 9), ready) == datetime(2026, 2, 10, 9, tzinfo=TZ)
    assert due_value(timedelta(days=1), ready) == datetime(2026, 2, 1, 10, tzinfo=TZ)
    assert due_value(None, ready) is None and due_value("  ", ready) is None
    # a naive ready_at is taken as Shanghai time
    assert due_value("P1D", datetime(2026, 1, 1, 8)) == datetime(2026, 1, 2, 8, tzinfo=TZ)
    assert due_value("P1D", ready).utcoffset() == timedelta(hours=8)
    for bad in ["soon", "P5X", 42]:
        with pytest.raises(ValueError):
            due_value(bad, ready)
