"""The Camunda 7 REST subset Camunda Modeler calls ("Deploy diagram" → Camunda Platform 7).

Only what the modeler uses is exposed under /engine-rest: the connection check
(``GET /deployment?maxResults=0``), ``GET /version``, ``POST /deployment/create`` and
``POST /process-definition/{id}/start``. Every request authenticates with HTTP Basic
(username and password) or a bearer token (``zhifa tokens create``); session cookies
are ignored here, which is why CSRF does not apply. Only users whose post holds the
deploy permission (法制股) get further than 403.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime, timezone
from decimal import Decimal

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select

from engine.access import api_tokens, identity, login_guard
from engine.admin import catalog
from engine.deploy import repository
from engine.execution import runtime
from engine.execution.errors import EngineStepFailed
from engine.spec.forms import FormInvalid
from engine.spec.problems import ModelInvalid
from engine.store.models import Deployment, ProcessDefinition, ProcessInstance

from . import csrf
from .auth import client_address
from .database import get_db
from .security import parse_id

bp = Blueprint("rest", __name__, url_prefix="/engine-rest")
csrf.exempt(bp)

# Camunda Modeler 5 checks the engine version it deploys to; we speak the 7.x REST dialect.
ENGINE_VERSION = "7.21.0"
PARSE_ERROR_PREFIX = "ENGINE-09005 Could not parse BPMN process. Errors: "
_TRUE = ("true", "1", "yes", "on")


def _error(status: int, kind: str, message: str, **extra):
    response = jsonify({"type": kind, "message": message, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="zhifa engine-rest", charset="UTF-8"'
    return response


def _credentials() -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return "bearer", value.strip()
    if scheme.lower() == "basic" and value.strip():
        try:
            return "basic", base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


@bp.before_request
def authenticate():
    found = _credentials()
    if found is None:
        return _error(401, "AuthenticationException", "需要身份验证：请在 Camunda Modeler 中选择 HTTP Basic（用户名和密码）或 Bearer token")
    kind, value = found
    if kind == "basic":
        username, sep, password = value.partition(":")
        if not sep:
            return _error(401, "AuthenticationException", "用户名、密码或令牌不正确")
        with get_db().transaction() as session:  # failures are counted even though we answer 401
            outcome = login_guard.login(session, login_guard.Attempt(username[:100], client_address(), "rest"),
                                        password)
        if outcome.locked:
            return _error(429, "AuthenticationException", str(outcome.locked))
        user = outcome.user
    with get_db().reading() as session:
        if kind == "bearer":
            user = api_tokens.authenticate(session, value)
        if user is None:
            return _error(401, "AuthenticationException", "用户名、密码或令牌不正确")
        if not identity.has_permission(session, user, identity.DEPLOY):
            return _error(403, "AuthorizationException",
                          f"用户 {user.username} 没有部署权限：只有法制股等具有部署权限的岗位可以使用此接口")
    g.rest_user = user


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def _definition_id(d: ProcessDefinition) -> str:
    return f"{d.key}:{d.version}:{d.id}"


def _deployment_json(d: Deployment | None, fallback_name: str | None = None) -> dict:
    return {"links": [], "id": str(d.id) if d else None, "name": d.name if d else fallback_name,
            "source": d.source if d else None, "deploymentTime": _time(d.deployed_at) if d else None,
            "tenantId": None}


def _process_json(d: ProcessDefinition) -> dict:
    return {"id": _definition_id(d), "key": d.key, "category": "http://bpmn.io/schema/bpmn", "description": None,
            "name": d.name, "version": d.version, "resource": d.resource.name if d.resource else None,
            "deploymentId": str(d.deployment_id), "diagram": None, "suspended": False, "tenantId": None,
            "versionTag": None, "historyTimeToLive": None, "startableInTasklist": True}


def _decision_json(d) -> dict:
    return {"id": f"{d.key}:{d.version}:{d.id}", "key": d.key, "category": "http://camunda.org/schema/1.0/dmn",
            "name": d.name, "version": d.version, "resource": d.resource.name if d.resource else None,
            "deploymentId": str(d.deployment_id), "decisionRequirementsDefinitionId": None,
            "decisionRequirementsDefinitionKey": None, "tenantId": None, "versionTag": None,
            "historyTimeToLive": None}


@bp.get("/version")
def version():
    return jsonify({"version": ENGINE_VERSION})


@bp.get("/deployment")
def deployments():
    """Deployments, newest first (the modeler asks ``maxResults=0`` to check the connection)."""
    try:
        first = min(10**9, max(0, int(request.args.get("firstResult", 0))))
        limit = min(1000, max(0, int(request.args.get("maxResults", 100))))
    except ValueError:
        return _error(400, "InvalidRequestException", "firstResult 和 maxResults 必须是整数")
    if limit == 0:
        return jsonify([])
    with get_db().reading() as session:
        rows = session.scalars(select(Deployment).order_by(Deployment.id.desc()).offset(first).limit(limit))
        return jsonify([_deployment_json(d) for d in rows])


def _problems_message(problems) -> tuple[str, dict]:
    lines, details = [], {}
    for p in problems:
        where = f" | resource {p.file}" + (f" | line {p.line}" if p.line else "")
        lines.append(f"* {p.element_id or '-'}: {p.message}{where}")
        details.setdefault(p.file, {"errors": [], "warnings": []})["errors"].append(
            {"message": p.message, "line": p.line or 0, "column": 0, "mainElementId": p.element_id,
             "elementIds": [p.element_id] if p.element_id else []})
    return PARSE_ERROR_PREFIX + "\n" + "\n".join(lines), details


@bp.post("/deployment/create")
def create_deployment():
    """Camunda Modeler: deployment-name, deployment-source, enable-duplicate-filtering,
    optional tenant-id (ignored: one bureau, one tenant), and one file part per diagram."""
    sources = [repository.Source(f.filename or name, f.read()) for name, f in request.files.items(multi=True)]
    if not sources:
        return _error(400, "InvalidRequestException", "请求中没有 .bpmn 或 .dmn 文件")
    name = (request.form.get("deployment-name") or "").strip()[:200] or None
    filtering = any((request.form.get(flag) or "").strip().lower() in _TRUE
                    for flag in ("enable-duplicate-filtering", "deploy-changed-only"))
    try:
        with get_db().transaction() as session:
            outcome = catalog.deploy(session, sources, user=g.rest_user, source="modeler", name=name,
                                      duplicate_filtering=filtering)
            body = _deployment_json(outcome.deployment, name)
            body.update({
                "deployedProcessDefinitions": {_definition_id(d): _process_json(d) for d in outcome.processes} or None,
                "deployedCaseDefinitions": None,
                "deployedDecisionDefinitions": {f"{d.key}:{d.version}:{d.id}": _decision_json(d)
                                                for d in outcome.decisions} or None,
                "deployedDecisionRequirementsDefinitions": None,
            })
    except ModelInvalid as e:
        message, details = _problems_message(e.problems)
        return _error(400, "ParseException", message, details=details)
    except identity.NotPermitted as e:
        return _error(403, "AuthorizationException", str(e))
    return jsonify(body)


_INT_TYPES = ("integer", "long", "short")


def _variable(name: str, spec) -> object:
    """A Camunda typed variable ``{"value": ..., "type": ...}`` as a Python value."""
    if not isinstance(spec, dict):
        raise ValueError(f"变量 {name} 必须是 {{\"value\": ..., \"type\": ...}}")
    value, kind = spec.get("value"), str(spec.get("type") or "").lower()
    if value is None or kind == "null":
        return None
    if kind in ("", "string"):
        return value if isinstance(value, str) or kind == "" else str(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
    elif kind in _INT_TYPES:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if re.fullmatch(r"[+-]?[0-9]{1,18}", str(value)):  # Camunda's Long is 64-bit
            return int(value)
    elif kind == "double":
        try:
            return Decimal(str(value))
        except ArithmeticError:
            pass
    elif kind == "date":
        text = str(value)
        if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # 2026-01-02T09:00:00.000+0800
            text = text[:-2] + ":" + text[-2:]
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    elif kind == "json":
        try:
            return json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            pass
    else:
        raise ValueError(f"变量 {name} 的类型 {spec.get('type')} 不受支持（可用 String、Boolean、Integer、Long、Double、Date、Json）")
    raise ValueError(f"变量 {name} 的值 {value!r} 不是 {spec.get('type')} 类型")


def _definition(session, definition_id: str) -> ProcessDefinition | None:
    key, _, rest = definition_id.partition(":")
    version, _, row_id = rest.partition(":")
    if parse_id(row_id) is None:
        return None
    d = session.get(ProcessDefinition, parse_id(row_id))
    return d if d is not None and d.key == key and str(d.version) == version else None


@bp.post("/process-definition/<definition_id>/start")
def start(definition_id: str):
    """Start a case on the latest version of the process (zhifa starts new cases on the latest)."""
    payload = request.get_json(silent=True)
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        return _error(400, "InvalidRequestException", "请求体必须是 JSON 对象")
    raw_vars = payload.get("variables") or {}
    if not isinstance(raw_vars, dict):
        return _error(400, "InvalidRequestException", "variables 必须是对象")
    try:
        data = {name: _variable(name, spec) for name, spec in raw_vars.items()}
    except ValueError as e:
        return _error(400, "InvalidRequestException", str(e))
    business_key = str(payload.get("businessKey") or "").strip() or None
    try:
        with get_db().transaction() as session:
            definition = _definition(session, definition_id)
            if definition is None:
                return _error(404, "RestException", f"流程定义 {definition_id} 不存在")
            if business_key and session.scalar(select(ProcessInstance.id).where(
                    ProcessInstance.business_key == business_key)) is not None:
                return _error(400, "InvalidRequestException", f"业务编号（businessKey）{business_key} 已被其他案件使用")
            instance = runtime.start(session, definition.key, g.rest_user, data, business_key=business_key)
            body = {"links": [], "id": str(instance.id), "definitionId": _definition_id(instance.definition),
                    "businessKey": instance.business_key, "caseInstanceId": None,
                    "ended": instance.status == "completed", "suspended": False, "tenantId": None}
    except FormInvalid as e:
        return _error(400, "InvalidRequestException", "开始表单校验未通过：" + "；".join(e.errors.values()))
    except identity.NotPermitted as e:
        return _error(403, "AuthorizationException", str(e))
    except (runtime.NoSuchProcess, EngineStepFailed) as e:
        return _error(400, "RestException", str(e))
    return jsonify(body)


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def not_offered(rest: str):
    return _error(404, "RestException", f"zhifa 只提供 Camunda Modeler 部署所需的接口，不提供 /{rest}")


def _json_errors(e):
    return _error(e.code or 500, "RestException", e.description or "")


for _code in (400, 405, 413):
    bp.register_error_handler(_code, _json_errors)
