"""Deployment of BPMN and DMN files: validate everything, then store new versions.

A deployment is all-or-nothing: one problem anywhere and nothing is written, the
previous versions stay current. Each process spec embeds the called processes and
decision tables it uses, so deploying a changed decision table or called process
also produces new versions of the processes that use them (running cases keep theirs).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.spec import dmn, rules
from engine.spec.parser import ZhifaParser
from engine.spec.problems import ModelInvalid, Problem
from engine.spec.serialization import spec_cache, spec_to_json
from engine.spec.xmlsafe import element_id_at, local, parse
from engine.store import history
from engine.store.models import DecisionDefinition, Deployment, Group, ProcessDefinition, Resource, User

_SCHEMA_DIRS = Path(__import__("SpiffWorkflow").__file__).parent
_DMN_SCHEMAS = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "dmn/parser/schema/DMN.xsd",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "dmn/parser/schema/DMN13.xsd",
}


@dataclass
class Source:
    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class _Model:
    source: Source
    kind: str  # bpmn | dmn
    root: etree._Element
    facts: rules.BpmnFacts | None = None
    decisions: dict[str, str] = field(default_factory=dict)  # DMN: decision id → name (several in a DRD)
    resource: Resource | None = None  # set for models already deployed


@dataclass
class DeployResult:
    deployment: Deployment | None
    processes: list[ProcessDefinition] = field(default_factory=list)
    decisions: list[DecisionDefinition] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.processes or self.decisions)


def read_paths(paths: list[str | Path]) -> list[Source]:
    """The .bpmn/.dmn files named, folders expanded (sorted)."""
    sources = []
    for p in map(Path, paths):
        files = sorted(f for f in p.rglob("*") if f.suffix in (".bpmn", ".dmn")) if p.is_dir() else [p]
        sources += [Source(str(f), f.read_bytes()) for f in files]
    return sources


@lru_cache(maxsize=None)
def _schema(relative: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(_SCHEMA_DIRS / relative)))


def _schema_problems(model: _Model) -> list[Problem]:
    if model.kind == "bpmn":
        schema = _schema("bpmn/parser/schema/BPMN20.xsd")
    else:
        path = _DMN_SCHEMAS.get(etree.QName(model.root).namespace)
        if path is None:  # DMN 1.2's shipped schema is broken; 1.4/1.5 have none
            return []
        schema = _schema(path)
    if schema.validate(model.root):
        return []
    return [Problem(model.source.name, e.line, element_id_at(model.root, e.line), f"不符合 {model.kind.upper()} 标准：{e.message}")
            for e in schema.error_log]


def _load(source: Source, resource: Resource | None = None) -> tuple[_Model | None, list[Problem]]:
    tree, problems = parse(source.data, source.name)
    if tree is None:
        return None, problems
    root = tree.getroot()
    ns = etree.QName(root).namespace or ""
    if local(root) != "definitions" or not (ns == rules.BPMN or "DMN" in ns.upper()):
        return None, [Problem(source.name, root.sourceline, None, "不是 BPMN 2.0 或 DMN 文件")]
    model = _Model(source, "bpmn" if ns == rules.BPMN else "dmn", root, resource=resource)
    problems = _schema_problems(model)
    if model.kind == "bpmn":
        model.facts, more = rules.prepare(root, source.name)
    else:
        more = dmn.translate_dmn(root, source.name)
        model.decisions = {el.get("id"): el.get("name") or el.get("id") for el in root
                           if isinstance(el.tag, str) and local(el) == "decision" and el.get("id")}
    return model, problems + more


def latest_processes(session: Session) -> list[ProcessDefinition]:
    newest = select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v")).group_by(ProcessDefinition.key).subquery()
    return list(session.scalars(select(ProcessDefinition).join(
        newest, (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.v)).order_by(ProcessDefinition.key)))


def latest_decisions(session: Session) -> list[DecisionDefinition]:
    newest = select(DecisionDefinition.key, func.max(DecisionDefinition.version).label("v")).group_by(DecisionDefinition.key).subquery()
    return list(session.scalars(select(DecisionDefinition).join(
        newest, (DecisionDefinition.key == newest.c.key) & (DecisionDefinition.version == newest.c.v)).order_by(DecisionDefinition.key)))


def latest_definition(session: Session, key: str) -> ProcessDefinition | None:
    return session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == key)
                           .order_by(ProcessDefinition.version.desc()).limit(1)).first()


def specs_of(session: Session, definition: ProcessDefinition) -> tuple:
    """The (spec, subprocess specs) of a definition, deserialized once per process."""
    def load():
        return session.scalar(select(ProcessDefinition.spec_json).where(ProcessDefinition.id == definition.id))
    return spec_cache.get(definition.spec_hash, load)


_RECHECKED: dict[str, tuple[Problem, ...]] = {}  # content hash → today's problems (a deployed file never changes)


def refused_today(session: Session, resource_ids: set[int]) -> dict[int, list[Problem]]:
    """Deployed files that today's rules refuse (the rules tightened after they were deployed):
    resource id → problems. The next deployment that keeps such a file is refused with them
    (``_deployed_models``); the 流程部署 page lists them before that happens."""
    rows = session.execute(select(Resource.id, Resource.content_hash).where(Resource.id.in_(resource_ids))).all()
    for resource_id, digest in rows:
        if digest not in _RECHECKED:
            resource = session.get(Resource, resource_id)
            _, problems = _load(Source(resource.name, resource.content.encode()), resource)
            _RECHECKED[digest] = tuple(problems)
    return {resource_id: list(_RECHECKED[digest]) for resource_id, digest in rows if _RECHECKED[digest]}


def _deployed_models(session: Session, new: list[_Model]) -> list[_Model]:
    """Latest deployed files that the new files do not replace (needed to resolve references)."""
    new_processes = {pid for m in new if m.kind == "bpmn" for pid in m.facts.processes}
    new_decisions = {key for m in new if m.kind == "dmn" for key in m.decisions}
    keep: dict[int, Resource] = {}
    for d in latest_processes(session):
        if d.key not in new_processes:
            keep[d.resource_id] = d.resource
    for d in latest_decisions(session):
        if d.key not in new_decisions:
            keep[d.resource_id] = d.resource
    models = []
    for resource in keep.values():
        model, problems = _load(Source(resource.name, resource.content.encode()), resource)
        if model is None or problems:  # deployed files were valid; rules may have tightened since
            raise ModelInvalid(problems or [Problem(resource.name, None, None, "已部署文件无法读取")])
        if model.kind == "bpmn":  # a file replaced in part keeps only processes not redeployed
            model.facts.processes = {k: v for k, v in model.facts.processes.items() if k not in new_processes}
        else:  # likewise decisions of a DRD
            model.decisions = {k: v for k, v in model.decisions.items() if k not in new_decisions}
        models.append(model)
    return models


def _cross_checks(session: Session, models: list[_Model]) -> list[Problem]:
    processes = {pid for m in models if m.kind == "bpmn" for pid in m.facts.processes}
    decision_ids = {key for m in models if m.kind == "dmn" for key in m.decisions}
    groups = set(session.scalars(select(Group.code)))
    actor_sources = {name for m in models if m.kind == "bpmn" for name in m.facts.actor_sources}
    problems = []
    for m in models:
        if m.kind != "bpmn" or m.resource is not None:
            continue
        f = m.source.name
        problems += [Problem(f, line, el, f"调用的流程 “{called}” 不存在（既未部署也不在本次文件中）")
                     for el, line, called in m.facts.called_processes if called not in processes]
        problems += [Problem(f, line, el, f"引用的决策表 “{ref}” 不存在（既未部署也不在本次文件中）")
                     for el, line, ref in m.facts.decision_refs if ref not in decision_ids]
        problems += [Problem(f, line, el, f"候选岗位 “{code}” 不存在：请先在“组织机构”页面创建该岗位，或用 zhifa org import 导入组织机构")
                     for el, line, code in m.facts.candidate_groups if code not in groups]
        problems += [Problem(f, line, el, f"excludeActorsOf 中的 “{name}” 既不是用户任务或开始事件的 id，也不是 officers 类型字段的 id"
                                          "（本文件和已部署的流程中都没有）")
                     for el, line, name in m.facts.exclusion_refs if name not in actor_sources]
    seen: dict[tuple[str, str], str] = {}  # processes and decisions have separate id spaces
    for m in models:
        for key in (m.facts.processes if m.kind == "bpmn" else m.decisions):
            if (m.kind, key) in seen and seen[(m.kind, key)] != m.source.name:
                problems.append(Problem(m.source.name, m.root.sourceline, key, f"“{key}” 同时定义在 {seen[(m.kind, key)]} 中"))
            seen[(m.kind, key)] = m.source.name
    return problems


def _build_specs(models: list[_Model]) -> tuple[dict[str, tuple[str, list[str], _Model]], list[Problem]]:
    """key -> (spec json, start messages, model) for every executable process."""
    parser = ZhifaParser()
    problems: list[Problem] = []
    for m in models:
        try:
            # The bare file name: specs must hash the same whichever path they came from.
            if m.kind == "bpmn":
                parser.add_bpmn_xml(m.root, filename=Path(m.source.name).name)
            else:  # one root per decision of a DRD, each kept from this file
                for key, single in dmn.single_decision_roots(m.root).items():
                    if key in m.decisions:
                        parser.add_dmn_xml(single, filename=Path(m.source.name).name)
        except ValidationException as e:
            problems.append(_from_spiff(e, m.source.name))
    if problems:
        return {}, problems
    built = {}
    for m in models:
        if m.kind != "bpmn":
            continue
        for pid in m.facts.processes:
            try:
                spec = parser.get_spec(pid)
                subs = parser.get_subprocess_specs(pid)
                built[pid] = (spec_to_json(spec, subs), parser.get_process_parser(pid).start_messages(), m)
            except ValidationException as e:
                problems.append(_from_spiff(e, m.source.name))
            except Exception as e:  # SpiffWorkflow raises bare errors on some broken models
                problems.append(Problem(m.source.name, None, pid, f"流程无法解析：{type(e).__name__}: {e}"))
    return built, problems


def _from_spiff(e: ValidationException, file: str) -> Problem:
    message = str(e).split("\n")[0]
    return Problem(e.file_name or file, int(e.line_number) if str(e.line_number).isdigit() else None,
                   e.id or None, f"模型错误：{message}")


def check(session: Session, sources: list[Source]) -> tuple[list[_Model], dict]:
    """Validate the new files together with what is deployed; raise ModelInvalid listing every problem."""
    problems: list[Problem] = []
    new = []
    for s in sources:
        if not s.name.endswith((".bpmn", ".dmn", ".xml")):
            problems.append(Problem(s.name, None, None, "只能部署 .bpmn 或 .dmn 文件"))
            continue
        model, found = _load(s)
        problems += found
        if model is not None:
            new.append(model)
    if problems:
        raise ModelInvalid(problems)
    models = new + _deployed_models(session, new)
    problems = _cross_checks(session, models)
    if problems:
        raise ModelInvalid(problems)
    built, problems = _build_specs(models)
    if problems:
        raise ModelInvalid(problems)
    return new, built


def deploy(session: Session, sources: list[Source], *, source: str, user: User | None = None,
           name: str | None = None, duplicate_filtering: bool = True) -> DeployResult:
    new, built = check(session, sources)
    latest = {d.key: d for d in latest_processes(session)}
    latest_dmn = {d.key: d for d in latest_decisions(session)}
    redeployed = {pid for m in new if m.kind == "bpmn" for pid in m.facts.processes}

    process_changes = []
    for key, (spec_json, starts, model) in built.items():
        spec_hash = hashlib.sha256(spec_json.encode()).hexdigest()
        old = latest.get(key)
        starters = ",".join(model.facts.starter_groups.get(key, []))
        if (old is None or old.spec_hash != spec_hash or old.starter_groups != starters
                or old.in_tasklist != model.facts.in_tasklist.get(key, True)
                or (key in redeployed and not duplicate_filtering)):
            process_changes.append((key, spec_json, spec_hash, starts, model))
    decision_changes = [(key, name, m) for m in new if m.kind == "dmn" for key, name in m.decisions.items() if (
        not duplicate_filtering or key not in latest_dmn
        or latest_dmn[key].resource.content_hash != m.source.sha256)]
    if not process_changes and not decision_changes:
        return DeployResult(None)

    deployment = Deployment(name=name or ", ".join(Path(s.name).name for s in sources)[:200],
                            source=source, deployed_by=user.id if user else None)
    session.add(deployment)
    session.flush()
    resources: dict[int, Resource] = {}

    def resource_of(model: _Model) -> Resource:
        if model.resource is not None:
            return model.resource
        if id(model) not in resources:
            r = Resource(deployment_id=deployment.id, name=Path(model.source.name).name, kind=model.kind,
                         content=model.source.data.decode("utf-8"), content_hash=model.source.sha256)
            session.add(r)
            resources[id(model)] = r
        return resources[id(model)]

    result = DeployResult(deployment)
    for key, name, m in decision_changes:
        old = latest_dmn.get(key)
        d = DecisionDefinition(key=key, version=(old.version + 1) if old else 1, name=name,
                               deployment_id=deployment.id, resource=resource_of(m))
        session.add(d)
        result.decisions.append(d)
    for key, spec_json, spec_hash, starts, model in process_changes:
        old = latest.get(key)
        d = ProcessDefinition(key=key, version=(old.version + 1) if old else 1, name=model.facts.processes[key],
                              deployment_id=deployment.id, resource=resource_of(model), spec_json=spec_json,
                              spec_hash=spec_hash, start_messages=",".join(starts),
                              starter_groups=",".join(model.facts.starter_groups.get(key, [])),
                              in_tasklist=model.facts.in_tasklist.get(key, True))
        session.add(d)
        result.processes.append(d)
    session.flush()
    history.record(session, "deploy", user, details={
        "deployment": deployment.id, "source": source,
        "files": {Path(s.name).name: s.sha256 for s in sources},
        "processes": [f"{d.key}:{d.version}" for d in result.processes],
        "decisions": [f"{d.key}:{d.version}" for d in result.decisions]})
    return result
