"""Camunda Modeler's "Deploy diagram" (Camunda Platform 7) against zhifa's /engine-rest.

The requests below are byte for byte what Camunda Modeler 5 sends (CamundaAPI.js):
a multipart form with deployment-name, deployment-source ("Camunda Modeler"),
enable-duplicate-filtering ("true"), optional tenant-id, then one file part named
after the diagram, with HTTP Basic or bearer authentication.
"""
from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.access import api_tokens, identity
from engine.inbox import tasks
from engine.store.models import AuditEvent, Deployment, ProcessDefinition, ProcessInstance
from tests.conftest import FIXTURES
from tests.webclient import Browser, make_app

ENGINE = FIXTURES / "engine"
CASE_FLOW = (ENGINE / "case_flow.bpmn").read_bytes()
RULE = (ENGINE / "test_review_rule.dmn").read_bytes()
PASSWORD = "zhifa2026"
ZHIFA = Path(sys.executable).parent / "zhifa"


def basic(username, password=PASSWORD):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def modeler_form(diagram_name: str, contents: bytes, *, name="测试部署", filtering="true", tenant=None):
    """The multipart body Camunda Modeler builds, fields in its order."""
    boundary = "----WebKitFormBoundaryZhifaModeler5"
    parts = [("deployment-name", name), ("deployment-source", "Camunda Modeler"),
             ("enable-duplicate-filtering", filtering)]
    if tenant:
        parts.append(("tenant-id", tenant))
    body = b""
    for field, value in parts:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n").encode()
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{diagram_name}\"; filename=\"{diagram_name}\"\r\n"
             f"Content-Type: text/xml\r\n\r\n").encode() + contents + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture
def app(db, org, tmp_path):
    return make_app(db, tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


def deploy(client, file_name, contents, headers=None, **kw):
    return client.post("/engine-rest/deployment/create", headers=headers or basic("legal_review1"),
                       **modeler_form(file_name, contents, **kw))


def versions(db, key):
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(ProcessDefinition).where(ProcessDefinition.key == key))


def test_the_connection_check_and_version(client):
    response = client.get("/engine-rest/deployment?maxResults=0", headers=basic("legal_review1"))
    assert response.status_code == 200 and response.get_json() == []
    response = client.get("/engine-rest/version", headers=basic("legal_review1"))
    assert response.status_code == 200 and response.get_json()["version"].startswith("7.")


def test_the_modeler_deploys_a_decision_then_a_process(client, db):
    response = deploy(client, "test_review_rule.dmn", RULE, name="法制审核规则")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert list(body["deployedDecisionDefinitions"]) == [next(iter(body["deployedDecisionDefinitions"]))]
    decision = next(iter(body["deployedDecisionDefinitions"].values()))
    assert decision["key"] == "test_review_rule" and decision["version"] == 1

    response = deploy(client, "case_flow.bpmn", CASE_FLOW, name="测试检查流程", tenant="lushan")
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "测试检查流程" and body["id"]
    (definition_id, definition), = body["deployedProcessDefinitions"].items()
    assert definition_id.startswith("case_flow:1:") and definition["id"] == definition_id
    assert {k: definition[k] for k in ("key", "name", "version", "deploymentId")} == {
        "key": "case_flow", "name": "测试检查流程", "version": 1, "deploymentId": body["id"]}
    with db.reading() as session:
        deployment = session.get(Deployment, int(body["id"]))
        assert deployment.source == "modeler" and deployment.name == "测试检查流程"
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "deploy", AuditEvent.actor == "legal_review1"
                                                       ).order_by(AuditEvent.id.desc()).limit(1)) is not None
    listed = client.get("/engine-rest/deployment", headers=basic("legal_review1")).get_json()
    assert [d["name"] for d in listed][:2] == ["测试检查流程", "法制审核规则"]


def test_a_second_identical_deploy_with_duplicate_filtering_creates_no_version(client, db):
    deploy(client, "test_review_rule.dmn", RULE)
    first = deploy(client, "case_flow.bpmn", CASE_FLOW).get_json()
    again = deploy(client, "case_flow.bpmn", CASE_FLOW)
    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]
    assert list(again.get_json()["deployedProcessDefinitions"]) == list(first["deployedProcessDefinitions"])
    assert versions(db, "case_flow") == 1
    # Without duplicate filtering an unchanged file is a new version, as in Camunda.
    forced = deploy(client, "case_flow.bpmn", CASE_FLOW, filtering="false").get_json()
    assert next(iter(forced["deployedProcessDefinitions"])).startswith("case_flow:2:")
    assert versions(db, "case_flow") == 2


def test_a_broken_model_is_refused_with_every_problem_named(client, db):
    deploy(client, "test_review_rule.dmn", RULE)
    text = CASE_FLOW.decode()
    broken = text.replace('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${violation &amp;&amp; !empty party_name}</bpmn:conditionExpression>', "")
    broken = broken.replace('<bpmn:userTask id="Task_escalate" name="超期督办"',
                            '<bpmn:userTask id="Task_escalate" name="超期督办" camunda:class="org.example.Escalate"')
    assert broken.count("camunda:class") == 1 and "!empty party_name" not in broken
    response = deploy(client, "case_flow.bpmn", broken.encode())
    assert response.status_code == 400
    body = response.get_json()
    assert body["type"] == "ParseException"
    assert body["message"].startswith("ENGINE-09005 Could not parse BPMN process. Errors: ")
    line = next(n for n, l in enumerate(broken.splitlines(), 1) if 'id="Flow_violation"' in l)
    assert "* Flow_violation: 网关的非默认出口必须有条件表达式" in body["message"]
    assert f"resource case_flow.bpmn | line {line}" in body["message"]
    assert "* Task_escalate: 不支持Java 类（camunda:class）" in body["message"]
    errors = body["details"]["case_flow.bpmn"]["errors"]
    assert {e["mainElementId"] for e in errors} == {"Flow_violation", "Task_escalate"}
    assert versions(db, "case_flow") == 0


def test_bad_credentials_get_401_and_a_post_without_deploy_permission_gets_403(client, db):
    for headers in ({}, basic("legal_review1", "wrong"), basic("nobody"), {"Authorization": "Bearer zf_nope"},
                    {"Authorization": "Basic !!!"}):
        response = deploy(client, "case_flow.bpmn", CASE_FLOW, headers=headers or {"X-None": "1"})
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert response.get_json()["type"] == "AuthenticationException"
    response = deploy(client, "case_flow.bpmn", CASE_FLOW, headers=basic("supervision_investigate1"))
    assert response.status_code == 403 and "没有部署权限" in response.get_json()["message"]
    assert client.get("/engine-rest/deployment?maxResults=0", headers=basic("supervision_investigate1")).status_code == 403
    assert versions(db, "case_flow") == 0


def test_a_browser_session_is_not_enough(app, db):
    browser = Browser(app)
    browser.login("legal_review1")
    response = browser.client.post("/engine-rest/deployment/create", **modeler_form("case_flow.bpmn", CASE_FLOW))
    assert response.status_code == 401


def test_bearer_tokens_from_the_command_line(client, db, cli_env):
    done = subprocess.run([str(ZHIFA), "tokens", "create", "--as", "legal_review1", "--name", "Camunda Modeler"],
                          env=cli_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token.startswith("zf_")
    bearer = {"Authorization": f"Bearer {token}"}
    assert deploy(client, "test_review_rule.dmn", RULE, headers=bearer).status_code == 200
    listed = subprocess.run([str(ZHIFA), "tokens", "list", "--as", "legal_review1"], env=cli_env,
                            capture_output=True, text=True, timeout=120)
    token_id = listed.stdout.split("\t")[0]
    assert token not in listed.stdout and "有效" in listed.stdout
    revoked = subprocess.run([str(ZHIFA), "tokens", "revoke", token_id, "--as", "legal_review1"], env=cli_env,
                             capture_output=True, text=True, timeout=120)
    assert revoked.returncode == 0, revoked.stderr
    assert client.get("/engine-rest/version", headers=bearer).status_code == 401


def test_a_token_of_an_officer_gets_403(client, db, user):
    with db.transaction() as session:
        _, token = api_tokens.create(session, user("supervision_investigate1"))
    response = client.get("/engine-rest/version", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_starting_from_the_modeler_creates_a_case_in_the_inbox(app, client, db):
    deploy(client, "test_review_rule.dmn", RULE)
    definition_id = next(iter(deploy(client, "case_flow.bpmn", CASE_FLOW).get_json()["deployedProcessDefinitions"]))
    response = client.post(f"/engine-rest/process-definition/{definition_id}/start", headers=basic("legal_review1"),
                           data=json.dumps({"businessKey": "鲁环试〔2026〕1号", "variables": {
                               "party_name": {"value": "鲁山县某试验厂", "type": "String"},
                               "fine_amount": {"value": 6000, "type": "Integer"},
                               "violation": {"value": True, "type": "Boolean"}}}),
                           content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["businessKey"] == "鲁环试〔2026〕1号" and body["definitionId"] == definition_id and not body["ended"]
    with db.reading() as session:
        instance = session.get(ProcessInstance, int(body["id"]))
        assert instance.title == "鲁山县某试验厂"
        inbox = tasks.inbox(session, identity.user_by_name(session, "supervision_investigate1"))
        assert [(t.business_key, t.name) for t in inbox] == [("鲁环试〔2026〕1号", "现场检查")]
    # The same business key twice is refused, and nothing is started.
    again = client.post(f"/engine-rest/process-definition/{definition_id}/start", headers=basic("legal_review1"),
                        json={"businessKey": "鲁环试〔2026〕1号"})
    assert again.status_code == 400 and "已被其他案件使用" in again.get_json()["message"]
    bad = client.post(f"/engine-rest/process-definition/{definition_id}/start", headers=basic("legal_review1"),
                      json={"variables": {"fine_amount": {"value": "many", "type": "Integer"}}})
    assert bad.status_code == 400 and "fine_amount" in bad.get_json()["message"]
    missing = client.post("/engine-rest/process-definition/case_flow:9:999/start", headers=basic("legal_review1"), json={})
    assert missing.status_code == 404
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 1


def test_nothing_else_is_exposed(client):
    response = client.get("/engine-rest/task", headers=basic("legal_review1"))
    assert response.status_code == 404 and response.get_json()["type"] == "RestException"
    assert client.get("/engine-rest/task").status_code == 401
    assert client.delete("/engine-rest/deployment/1", headers=basic("legal_review1")).status_code == 404
    assert client.get("/engine-rest/", headers=basic("legal_review1")).get_json()["type"] == "RestException"
