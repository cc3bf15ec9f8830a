"""The modeling loop of legal staff: deploy (from the web page or Camunda Modeler),
preview a deployment, list deployments and versions, download every version, and try
a decision table with entered inputs.

Deployment itself is ``repository.deploy``; this module adds the deploy permission,
the answer for an unchanged upload (the versions already current), a preview that
deploys inside a savepoint and rolls it back, and read models for the pages.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.access.identity import DEPLOY, NotPermitted, has_permission
from engine.deploy import repository
from engine.deploy.repository import Source
from engine.execution import decide
from engine.spec import dmn
from engine.spec.xmlsafe import local, parse
from engine.store.models import DecisionDefinition, Deployment, ProcessDefinition, Resource, StatusCount, User

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


class VersionNotFound(LookupError):
    pass


def require_deployer(session: Session, user: User | None) -> None:
    if user is None or not has_permission(session, user, DEPLOY):
        raise NotPermitted("只有具有部署权限的岗位（法制股）可以部署流程模型和决策表")


@dataclass
class DeployOutcome:
    deployment: Deployment | None
    processes: list[ProcessDefinition] = field(default_factory=list)
    decisions: list[DecisionDefinition] = field(default_factory=list)
    created: bool = False  # False: nothing changed, these are the versions already current


def defined_ids(sources: list[Source]) -> tuple[list[str], list[str]]:
    """(executable process ids, decision ids) the files define, in file order."""
    processes, decisions = [], []
    for s in sources:
        tree, problems = parse(s.data, s.name)
        if tree is None:
            continue
        root = tree.getroot()
        for el in root:
            if not isinstance(el.tag, str) or not el.get("id"):
                continue
            if local(el) == "process" and el.get("isExecutable", "true") != "false":
                processes.append(el.get("id"))
            elif local(el) == "decision":
                decisions.append(el.get("id"))
    return processes, decisions


def deploy(session: Session, sources: list[Source], *, user: User, source: str, name: str | None = None,
           duplicate_filtering: bool = True) -> DeployOutcome:
    """Deploy as ``user`` (who needs the deploy permission); raises ModelInvalid listing every problem.

    When nothing changed, no deployment is made and the outcome names the versions
    already current for what the files define (as Camunda returns the existing deployment).
    """
    require_deployer(session, user)
    result = repository.deploy(session, sources, source=source, user=user, name=name,
                               duplicate_filtering=duplicate_filtering)
    if result.changed:
        return DeployOutcome(result.deployment, result.processes, result.decisions, True)
    process_ids, decision_ids = defined_ids(sources)
    processes = [d for d in (repository.latest_definition(session, k) for k in process_ids) if d is not None]
    decisions = []
    for key in decision_ids:
        try:
            decisions.append(decide.latest_decision(session, key))
        except decide.NoSuchDecision:
            pass
    first = (processes + decisions)[:1]
    deployment = session.get(Deployment, first[0].deployment_id) if first else None
    return DeployOutcome(deployment, processes, decisions, False)


@dataclass
class PreviewItem:
    kind: str  # 流程 | 决策表
    key: str
    name: str
    version: int
    previous: int | None


def preview(session: Session, sources: list[Source], *, user: User) -> list[PreviewItem]:
    """The versions a deployment of ``sources`` would create, without creating them.

    Raises ModelInvalid with every problem, exactly as deploying would.
    """
    require_deployer(session, user)
    savepoint = session.begin_nested()
    try:
        result = repository.deploy(session, sources, source="web", user=user)
        items = [PreviewItem("流程", d.key, d.name, d.version, d.version - 1 or None) for d in result.processes]
        items += [PreviewItem("决策表", d.key, d.name, d.version, d.version - 1 or None) for d in result.decisions]
    finally:
        savepoint.rollback()
    return items


# --- read models for the pages ------------------------------------------------------

@dataclass
class DeploymentRow:
    deployment: Deployment
    deployed_by: str | None
    resources: list[Resource]
    processes: list[ProcessDefinition]
    decisions: list[DecisionDefinition]


def deployments(session: Session, limit: int = 200) -> list[DeploymentRow]:
    rows = []
    for d in session.scalars(select(Deployment).order_by(Deployment.id.desc()).limit(limit)):
        by = session.get(User, d.deployed_by) if d.deployed_by else None
        rows.append(DeploymentRow(
            d, f"{by.full_name}（{by.username}）" if by else None, list(d.resources),
            list(session.scalars(select(ProcessDefinition).where(ProcessDefinition.deployment_id == d.id)
                                 .order_by(ProcessDefinition.key))),
            list(session.scalars(select(DecisionDefinition).where(DecisionDefinition.deployment_id == d.id)
                                 .order_by(DecisionDefinition.key)))))
    return rows


@dataclass
class VersionRow:
    definition: ProcessDefinition | DecisionDefinition
    deployment: Deployment
    running: int = 0  # running or suspended cases on this version (processes only)


def process_versions(session: Session) -> dict[str, list[VersionRow]]:
    """Every version of every process, newest first, with its running cases."""
    running = dict(session.execute(  # the kept counts (engine/execution/status_counts.py), not every case
        select(StatusCount.definition_id, func.sum(StatusCount.count))
        .where(StatusCount.status.in_(("running", "suspended"))).group_by(StatusCount.definition_id)).all())
    out: dict[str, list[VersionRow]] = {}
    for d in session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version.desc())):
        out.setdefault(d.key, []).append(VersionRow(d, session.get(Deployment, d.deployment_id), running.get(d.id, 0)))
    return out


def decision_versions(session: Session) -> dict[str, list[VersionRow]]:
    out: dict[str, list[VersionRow]] = {}
    for d in session.scalars(select(DecisionDefinition).order_by(DecisionDefinition.key, DecisionDefinition.version.desc())):
        out.setdefault(d.key, []).append(VersionRow(d, session.get(Deployment, d.deployment_id)))
    return out


@dataclass
class RefusedVersion:
    """A deployed version whose file today's modelling rules refuse."""
    row: VersionRow
    kind: str  # 流程 | 决策表
    problems: list


def refused_versions(session: Session, processes: dict[str, list[VersionRow]],
                     decisions: dict[str, list[VersionRow]]) -> list[RefusedVersion]:
    """The current version of each process and decision table, and every process version that
    cases still run on, whose file today's rules refuse: a deployment that keeps the file is
    refused until it is fixed, and its cases run as the file says (e.g. a join in a loop that
    merges early)."""
    wanted = [("流程", row) for rows in processes.values() for i, row in enumerate(rows) if i == 0 or row.running]
    wanted += [("决策表", rows[0]) for rows in decisions.values()]
    found = repository.refused_today(session, {row.definition.resource_id for _, row in wanted})
    return [RefusedVersion(row, kind, found[row.definition.resource_id])
            for kind, row in wanted if row.definition.resource_id in found]


def process_version(session: Session, key: str, version: int) -> ProcessDefinition:
    found = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key,
                                                           ProcessDefinition.version == version))
    if found is None:
        raise VersionNotFound(f"流程 “{key}” 没有第 {version} 版")
    return found


def decision_version(session: Session, key: str, version: int | None = None) -> DecisionDefinition:
    query = select(DecisionDefinition).where(DecisionDefinition.key == key)
    query = query.where(DecisionDefinition.version == version) if version else \
        query.order_by(DecisionDefinition.version.desc()).limit(1)
    found = session.scalars(query).first()
    if found is None:
        raise VersionNotFound(f"决策表 “{key}” 没有" + (f"第 {version} 版" if version else "已部署的版本"))
    return found


def download(session: Session, kind: str, key: str, version: int) -> tuple[str, str]:
    """(file name, content) of the file a version was deployed from, byte for byte."""
    definition = process_version(session, key, version) if kind == "process" else decision_version(session, key, version)
    resource = session.get(Resource, definition.resource_id)
    stem, suffix = Path(resource.name).stem, Path(resource.name).suffix or (".bpmn" if kind == "process" else ".dmn")
    return f"{stem}.v{version}{suffix}", resource.content


# --- the decision tester (试算) ---------------------------------------------------------

@dataclass
class TableView:
    definition: DecisionDefinition
    hit_policy: str
    inputs: list[dict[str, str]]  # label, expression, type
    outputs: list[dict[str, str]]  # label, name, type
    rules: list[dict[str, Any]]  # n, id, inputs, outputs, description (cells as the modeler wrote them)
    variables: list[dict[str, Any]]  # name, label, type, choices [(value, label)]: what the 试算 form asks for
    requires: list[str] = field(default_factory=list)  # names of the decisions it requires (a DRD)
    drd: bool = False  # the file holds several decisions
    output_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # output name → value → label


class TrialInvalid(ValueError):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("；".join(errors.values()))


def _text(el) -> str:
    for c in el:
        if isinstance(c.tag, str) and local(c) == "text":
            return (c.text or "").strip()
    return ""


def table_view(session: Session, definition: DecisionDefinition) -> TableView:
    resource = session.get(Resource, definition.resource_id)
    tree, _ = parse(resource.content.encode(), resource.name)
    decisions = [el for el in tree.getroot() if isinstance(el.tag, str) and local(el) == "decision"]
    decision = next(el for el in decisions if el.get("id") == definition.key)
    names = {el.get("id"): el.get("name") or el.get("id") for el in decisions}
    table = next(el for el in decision if isinstance(el.tag, str) and local(el) == "decisionTable")
    kids = [c for c in table if isinstance(c.tag, str)]
    inputs, outputs, rules = [], [], []
    for c in kids:
        if local(c) == "input":
            expr = next((e for e in c if isinstance(e.tag, str) and local(e) == "inputExpression"), None)
            inputs.append({"label": c.get("label") or c.get("id") or "", "expression": _text(expr) if expr is not None else "",
                           "type": (expr.get("typeRef") if expr is not None else "") or ""})
        elif local(c) == "output":
            outputs.append({"label": c.get("label") or c.get("name") or "", "name": c.get("name") or c.get("id") or "",
                            "type": c.get("typeRef") or ""})
    for n, rule in enumerate((c for c in kids if local(c) == "rule"), 1):
        cells = [c for c in rule if isinstance(c.tag, str)]
        description = next((c.text or "" for c in cells if local(c) == "description"), "")
        rules.append({"n": n, "id": rule.get("id"), "description": description.strip(),
                      "inputs": [_text(c) or "-" for c in cells if local(c) == "inputEntry"],
                      "outputs": [_text(c) for c in cells if local(c) == "outputEntry"]})
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    if table.get("aggregation"):
        policy += f" {table.get('aggregation').upper()}"
    labels = _option_labels(session)
    variables = _variables(session, definition, inputs)
    for var in variables:  # an input compared with quoted values is a choice, labelled as the forms label them
        column = next((n for n, i in enumerate(inputs) if i["expression"].strip() == var["name"]), None)
        values = [] if column is None else list(dict.fromkeys(
            v for r in rules if column < len(r["inputs"]) for v in re.findall(r'"([^"]*)"', r["inputs"][column])))
        var["choices"] = [(v, labels.get(var["name"], {}).get(v, v)) for v in values]
    return TableView(definition, policy, inputs, outputs, rules, variables,
                     [names.get(r, r) for r in dmn.requirements(decision)], len(decisions) > 1,
                     {o["name"]: labels[o["name"]] for o in outputs if o["name"] in labels})


def _option_labels(session: Session) -> dict[str, dict[str, str]]:
    """Variable → {value → label} from the enum fields of the deployed processes' forms."""
    from engine.spec import forms
    out: dict[str, dict[str, str]] = {}
    for d in repository.latest_processes(session):
        spec, subs = repository.specs_of(session, d)
        for s in [spec, *subs.values()]:
            for ts in s.task_specs.values():
                for f in forms.form_of(ts).fields:
                    if f.options:
                        out.setdefault(f.id, {}).update(f.option_labels)
    return out


def _variables(session: Session, definition: DecisionDefinition, inputs: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The variables the input expressions read (after translation), labelled by their input —
    of this table and of the decisions it requires (a DRD), less what those decisions output."""
    parsed = decide.table_of(session, definition)
    seen: dict[str, dict[str, str]] = {}
    provided: set[str] = set()

    def collect(table, views: list[dict[str, str]]) -> None:
        for inp, view in zip(table.inputs, views):
            try:
                tree = ast.parse(inp.expression, mode="eval")
            except SyntaxError:
                continue
            called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            names = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in called
                     and n.id not in ("True", "False", "None") and n.id not in provided]
            single = isinstance(tree.body, ast.Name)
            for name in dict.fromkeys(names):
                seen.setdefault(name, {"name": name, "label": view["label"] if single else name,
                                       "type": view["type"] if single else ""})
        for required in getattr(table, "requires", None) or []:
            collect(required, [{"label": i.label or i.id, "type": i.typeRef or ""} for i in required.inputs])

    provided.update(o.name or o.label for t in _required(parsed) for o in t.outputs)
    collect(parsed, inputs)
    return list(seen.values())


def _required(table) -> list:
    """Every table a decision requires, directly or not."""
    out = []
    for required in getattr(table, "requires", None) or []:
        out += [required, *_required(required)]
    return out


_NUMBER_TYPES = ("number", "integer", "long", "double", "int", "decimal")


def _coerce(raw: str, type_ref: str) -> Any:
    text = (raw or "").strip()
    kind = (type_ref or "").lower()
    if text == "":
        return None
    if kind in _NUMBER_TYPES:
        try:
            value = Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise ValueError("请输入数字") from None
        return int(value) if value == value.to_integral_value() and kind in ("integer", "long", "int") else value
    if kind == "boolean":
        if text.lower() in ("true", "是", "1", "yes"):
            return True
        if text.lower() in ("false", "否", "0", "no"):
            return False
        raise ValueError("请选择“是”或“否”")
    if kind == "date":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError("请输入日期，例如 2026-03-02") from None
    if kind == "string":
        return text
    if re.fullmatch(r"[+-]?\d+(\.\d+)?", text):  # no type given: numbers as numbers
        return Decimal(text) if "." in text else int(text)
    return {"true": True, "false": False}.get(text, text)


def try_decision(session: Session, definition: DecisionDefinition, raw: dict[str, str]):
    """Evaluate a deployed table with values typed into the 试算 form.

    Returns (typed inputs, DecisionResult); raises TrialInvalid for a value of the wrong
    type and decisions.DecisionError when the table cannot decide (e.g. UNIQUE violated).
    """
    view = table_view(session, definition)
    values, errors = {}, {}
    for var in view.variables:
        try:
            values[var["name"]] = _coerce(raw.get(var["name"], ""), var["type"])
        except ValueError as e:
            errors[var["name"]] = f"{var['label']}：{e}"
    if errors:
        raise TrialInvalid(errors)
    return values, decide.evaluate(session, definition, values)
