"""Every model in bpmn/ and dmn/ opens in Camunda Modeler: it validates against the OMG
BPMN 2.0 / DMN 1.3 schemas shipped with SpiffWorkflow, imports with bpmn-moddle / dmn-moddle
plus the Camunda extensions without a warning, and every flow element has a diagram shape."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import SpiffWorkflow
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
SPIFF = Path(SpiffWorkflow.__file__).parent
MODELS = sorted((ROOT / "bpmn").glob("*.bpmn")) + sorted((ROOT / "dmn").glob("*.dmn"))
IDS = [str(p.relative_to(ROOT)) for p in MODELS]


@pytest.fixture(scope="module")
def schemas():
    return {".bpmn": etree.XMLSchema(etree.parse(str(SPIFF / "bpmn/parser/schema/BPMN20.xsd"))),
            ".dmn": etree.XMLSchema(etree.parse(str(SPIFF / "dmn/parser/schema/DMN13.xsd")))}


@pytest.fixture(scope="module")
def moddle_report():
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "bpmn-moddle").is_dir():
        pytest.skip("node and the npm dev dependencies (npm ci) are needed for the modeler check")
    out = subprocess.run([node, str(ROOT / "tests" / "modeler_check.mjs"), *IDS], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def test_there_are_models():
    assert any(p.suffix == ".bpmn" for p in MODELS) and any(p.suffix == ".dmn" for p in MODELS)


@pytest.mark.parametrize("path", MODELS, ids=IDS)
def test_validates_against_the_omg_schema(path, schemas):
    schema = schemas[path.suffix]
    ok = schema.validate(etree.parse(str(path)))
    assert ok, "\n".join(f"{e.line}: {e.message}" for e in schema.error_log)


@pytest.mark.parametrize("path", MODELS, ids=IDS)
def test_imports_in_the_modeler_libraries_without_warnings(path, moddle_report):
    result = moddle_report[str(path.relative_to(ROOT))]
    assert result["error"] is None
    assert result["warnings"] == []
    assert result["elements"] > 0
    assert result["missing_di"] == [], "elements without a diagram shape or edge"


@pytest.mark.parametrize("path", [p for p in MODELS if p.suffix == ".bpmn"], ids=[i for i in IDS if i.endswith(".bpmn")])
def test_written_like_the_modeler(path):
    root = etree.parse(str(path)).getroot()
    assert root.get("exporter") == "Camunda Modeler"
    assert root.get("{http://camunda.org/schema/modeler/1.0}executionPlatform") == "Camunda Platform"


def test_the_modeler_keeps_rules_loop_back_reasons_officers_fields_and_drds():
    """What issue #11 adds to models (docs/modeling.md) survives Camunda Modeler's import and save."""
    import os
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "bpmn-moddle").is_dir():
        pytest.skip("node and the npm dev dependencies (npm ci) are needed for the modeler check")
    files = ["tests/fixtures/rules/rules_flow.bpmn", "tests/fixtures/drd/dinner.dmn"]
    out = subprocess.run([node, str(ROOT / "tests" / "modeler_check.mjs"), *files], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True, env={**os.environ, "ZHIFA_ROUNDTRIP": "1"})
    report = json.loads(out.stdout)
    for name in files:
        assert report[name]["error"] is None and report[name]["warnings"] == [], name
    saved = etree.fromstring(report[files[0]]["xml"].encode())
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "camunda": "http://camunda.org/schema/1.0/bpmn"}
    constraints = {(c.get("name"), c.get("config")) for c in saved.iterfind(".//camunda:constraint", ns)}
    assert {("notBefore", "inspected_on"), ("notAfter", "today"), ("workingDay", None), ("daytime", "08:00-18:00"),
            ("confirmed", None), ("equals", "fine_amount if payment_status == 'paid'"), ("min", "2")} <= constraints
    reasons = saved.xpath("//bpmn:sequenceFlow/bpmn:extensionElements/camunda:properties/camunda:property"
                          "[@name='returnReason']/@value", namespaces=ns)
    assert "听证通知送达日距听证日不足7个工作日（{notice_days}日），请重新安排" in reasons
    assert saved.xpath("//camunda:formField[@type='officers']/camunda:properties/camunda:property[@id='posts']/@value",
                       namespaces=ns) == ["supervision.investigate,supervision.review"]
    assert saved.xpath("//camunda:property[@name='excludeActorsOf']/@value", namespaces=ns)[0] == "Task_investigate,investigators"
    drd = etree.fromstring(report[files[1]]["xml"].encode())
    assert drd.xpath("//*[local-name()='requiredDecision']/@href") == ["#dish"]
