"""Batch draws for an 抽查计划, recorded so that anyone can recompute them.

A draw stores both lists as they were (canonical JSON and its SHA-256), a 256-bit seed from the
operating system's random source (``secrets``) and the algorithm version. Algorithm
``zhifa-draw-v1``, in words (docs/disclosure.md):

1. score(label, id) = SHA-256 of the UTF-8 text ``seed|label|id``, as hex;
2. targets: for each category in the plan, k = ceil(N × ratio ÷ 100) of its N entities, those with the
   smallest score("entity", 统一社会信用代码);
3. teams: for each drawn entity in that order, ``team_size`` inspectors, ranked by (teams already
   given to them in this draw, score("team:" + 统一社会信用代码, 执法证号)) — random, and spread evenly;
4. a recusal redraw keeps the team members not recused and fills the places from the inspectors not
   recused, ranked by score("recusal:" + 统一社会信用代码, 执法证号) with the redraw's own seed.

Nobody can choose the outcome (the seed is unpredictable until drawn), and everyone can check it:
``verify`` recomputes the hashes and the selection from the record.
"""
from __future__ import annotations

import hashlib
import json
import math
import secrets
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure import masking, publications
from disclosure.models import Publication
from engine.execution import runtime
from engine.store.models import ProcessInstance, User, utcnow
from workdays.calendar import TZ

from . import directory
from .models import CATEGORIES, Draw, DrawCase, PlanQuota, SpotPlan

ALGORITHM = "zhifa-draw-v1"
DRAWN_MESSAGE = "spot_check_drawn"  # caught by bpmn/inspection.bpmn's start event 抽查计划抽中
MIN_TEAM = 2  # 河南省行政执法条例 第24条: 执法人员不得少于两人


class DrawRefused(ValueError):
    """A draw the rules do not allow; the message names the rule."""


def canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def score(seed: str, label: str, ident: str) -> str:
    return sha256(f"{seed}|{label}|{ident}")


def quota_count(total: int, ratio: Decimal) -> int:
    return min(total, math.ceil(total * Decimal(ratio) / 100))


def select_targets(seed: str, entities: list[dict], quotas: dict[str, str]) -> list[str]:
    drawn = []
    for category in sorted(quotas):
        members = sorted((e["credit_code"] for e in entities if e["category"] == category),
                         key=lambda code: score(seed, "entity", code))
        drawn += members[:quota_count(len(members), Decimal(quotas[category]))]
    return drawn


def assign_teams(seed: str, targets: list[str], inspectors: list[dict], team_size: int) -> list[dict]:
    load = {i["cert_no"]: 0 for i in inspectors}
    result = []
    for code in targets:
        ranked = sorted(load, key=lambda cert: (load[cert], score(seed, "team:" + code, cert)))
        team = ranked[:team_size]
        for cert in team:
            load[cert] += 1
        result.append({"credit_code": code, "inspectors": team})
    return result


def refill_team(seed: str, code: str, team: list[str], recused: list[str], inspectors: list[dict]) -> list[str]:
    kept = [c for c in team if c not in recused]
    candidates = sorted((i["cert_no"] for i in inspectors if i["cert_no"] not in recused and i["cert_no"] not in kept),
                        key=lambda cert: score(seed, "recusal:" + code, cert))
    return kept + candidates[:len(team) - len(kept)]


def _entities_snapshot(session: Session) -> list[dict]:
    return [{"credit_code": e.credit_code, "name": e.name, "category": e.category, "township": e.township}
            for e in directory.entities(session, active_only=True)]


def _inspectors_snapshot(session: Session, on: date) -> list[dict]:
    # Only what the 执法人员名单 publishes: the snapshot is published as it is, to be recomputed.
    return [{"cert_no": u.cert_no, "name": u.full_name} for u in directory.inspector_pool(session, on)]


def _new_draw(plan: SpotPlan, kind: str, entities: list[dict], inspectors: list[dict], parameters: dict,
              result: list[dict], seed: str, actor: str | None, parent: Draw | None = None,
              reason: str | None = None) -> Draw:
    es, ins = canonical(entities), canonical(inspectors)
    return Draw(plan_id=plan.id, parent_id=parent.id if parent else None, kind=kind, algorithm=ALGORITHM, seed=seed,
                entities_snapshot=es, entities_hash=sha256(es), inspectors_snapshot=ins, inspectors_hash=sha256(ins),
                parameters=canonical(parameters), result=canonical(result), result_hash=sha256(canonical(result)),
                reason=reason, drawn_by=actor)


def run(session: Session, plan: SpotPlan, actor: str | None, on: date) -> Draw:
    """Draw the plan's targets and their teams now."""
    if plan.team_size < MIN_TEAM:
        raise DrawRefused("每个检查组不得少于2名执法人员（河南省行政执法条例第24条）")
    if not plan.quotas:
        raise DrawRefused("抽查计划没有设定各类检查对象的抽查比例")
    entities = _entities_snapshot(session)
    inspectors = _inspectors_snapshot(session, on)
    if len(inspectors) < plan.team_size:
        raise DrawRefused(f"执法检查人员名录库只有 {len(inspectors)} 名持有效执法证的人员，不足一个检查组"
                          f"（{plan.team_size} 人）")
    quotas = {q.category: str(q.ratio) for q in plan.quotas}
    seed = secrets.token_hex(32)
    targets = select_targets(seed, entities, quotas)
    if not targets:
        raise DrawRefused("按计划比例未抽中任何检查对象（名录库中没有该类别的在册对象）")
    parameters = {"quotas": quotas, "team_size": plan.team_size, "on": on.isoformat()}
    draw = _new_draw(plan, "batch", entities, inspectors, parameters,
                     assign_teams(seed, targets, inspectors, plan.team_size), seed, actor)
    session.add(draw)
    session.flush()
    return draw


def current_teams(session: Session, draw: Draw) -> dict[str, list[str]]:
    """The teams after every recusal redraw of this batch, by 统一社会信用代码."""
    teams = {r["credit_code"]: r["inspectors"] for r in json.loads(draw.result)}
    for redraw in redraws(session, draw):
        for r in json.loads(redraw.result):
            teams[r["credit_code"]] = r["inspectors"]
    return teams


def redraws(session: Session, draw: Draw) -> list[Draw]:
    return list(session.scalars(select(Draw).where(Draw.parent_id == draw.id).order_by(Draw.id)))


def recuse(session: Session, draw: Draw, credit_code: str, recused_cert: str, reason: str, actor: str | None,
           on: date) -> Draw:
    """回避: an inspector with an interest in the target leaves its team; a recorded redraw fills the place."""
    if draw.confirmed_at is not None:
        raise DrawRefused("抽取结果已确认并生成检查案件，不能再申请回避重新抽取")
    if not (reason or "").strip():
        raise DrawRefused("回避须写明理由（河南省行政执法条例第23条）")
    teams = current_teams(session, draw)
    if credit_code not in teams or recused_cert not in teams[credit_code]:
        raise DrawRefused("该执法人员不在此检查对象的检查组中")
    earlier = [c for r in redraws(session, draw) for p in [json.loads(r.parameters)]
               if p["credit_code"] == credit_code for c in p["recused"]]
    recused = sorted(set(earlier) | {recused_cert})
    inspectors = _inspectors_snapshot(session, on)
    seed = secrets.token_hex(32)
    team = refill_team(seed, credit_code, teams[credit_code], recused, inspectors)
    if len(team) < len(teams[credit_code]):
        raise DrawRefused("回避后持有效执法证的执法人员不足，无法组成不少于2人的检查组")
    parameters = {"credit_code": credit_code, "team": teams[credit_code], "recused": recused, "on": on.isoformat()}
    plan = session.get(SpotPlan, draw.plan_id)
    redraw = _new_draw(plan, "recusal", [], inspectors, parameters, [{"credit_code": credit_code, "inspectors": team}],
                       seed, actor, parent=draw, reason=reason.strip())
    session.add(redraw)
    session.flush()
    return redraw


@dataclass
class Verification:
    draw_id: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def recompute(draw: Draw) -> list[dict]:
    params = json.loads(draw.parameters)
    entities, inspectors = json.loads(draw.entities_snapshot), json.loads(draw.inspectors_snapshot)
    if draw.kind == "batch":
        return assign_teams(draw.seed, select_targets(draw.seed, entities, params["quotas"]), inspectors,
                            params["team_size"])
    return [{"credit_code": params["credit_code"],
             "inspectors": refill_team(draw.seed, params["credit_code"], params["team"], params["recused"],
                                       inspectors)}]


def verify(session: Session, draw_id: int) -> Verification:
    """Recompute a draw from its record: the lists' hashes, then the selection, then the published copy."""
    draw = session.get(Draw, draw_id)
    if draw is None:
        raise DrawRefused(f"抽取记录 {draw_id} 不存在")
    check = Verification(draw.id)
    if draw.algorithm != ALGORITHM:
        check.problems.append(f"未知的抽取算法版本 {draw.algorithm}")
        return check
    for label, text, digest in (("检查对象名录快照", draw.entities_snapshot, draw.entities_hash),
                                ("执法检查人员名录快照", draw.inspectors_snapshot, draw.inspectors_hash)):
        if sha256(text) != digest:
            check.problems.append(f"{label}与记录的哈希值不符（快照被改动）")
    if sha256(draw.result) != draw.result_hash:
        check.problems.append("抽取结果与记录的哈希值不符（结果被改动）")
    try:
        if canonical(recompute(draw)) != draw.result:
            check.problems.append("按记录的种子和名录重新计算，抽取结果不一致")
    except (KeyError, ValueError, TypeError) as e:
        check.problems.append(f"抽取记录无法重新计算（{type(e).__name__}）")
    published = _published_digests(session, draw)
    if published is not None and published != (draw.entities_hash, draw.inspectors_hash, draw.seed, draw.result_hash):
        check.problems.append("记录与已公示的抽取记录（哈希值、种子）不一致")
    return check


def _published_digests(session: Session, draw: Draw) -> tuple | None:
    root = session.get(Draw, draw.parent_id) if draw.parent_id else draw
    if root.publication_id is None:
        return None
    content = json.loads(session.get(Publication, root.publication_id).content)
    for d in content.get("draws", []):
        if d["id"] == draw.id:
            return d["entities_hash"], d["inspectors_hash"], d["seed"], d["result_hash"]
    return None


def publish_record(session: Session, draw: Draw, actor: str | None):
    """The draw record on the public site: both snapshots exactly as hashed, seeds, algorithm, results."""
    plan = session.get(SpotPlan, draw.plan_id)
    entities = {e["credit_code"]: e["name"] for e in json.loads(draw.entities_snapshot)}
    records = []
    for d in [draw, *redraws(session, draw)]:
        inspectors = {i["cert_no"]: i["name"] for i in json.loads(d.inspectors_snapshot)}
        records.append({
            "id": d.id, "kind": d.kind, "algorithm": d.algorithm, "seed": d.seed,
            "drawn_at": d.drawn_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S"),
            "recused": [inspectors.get(c, c) for c in json.loads(d.parameters).get("recused", [])],
            "entities_hash": d.entities_hash, "inspectors_hash": d.inspectors_hash, "result_hash": d.result_hash,
            "parameters": d.parameters, "result": d.result, "reason": masking.mask_text(d.reason or ""),
            "entities_snapshot": d.entities_snapshot, "inspectors_snapshot": d.inspectors_snapshot,
            "teams": [{"entity": entities.get(r["credit_code"], r["credit_code"]), "credit_code": r["credit_code"],
                       "inspectors": [f"{inspectors.get(c, '')}（{c}）" for c in r["inspectors"]]}
                      for r in json.loads(d.result)]})
    content = {"plan": plan.name, "item": plan.item.name, "period": [plan.period_start.isoformat(),
                                                                      plan.period_end.isoformat()],
               "quotas": plan_quotas_label(plan.quotas), "team_size": plan.team_size, "draws": records}
    publication = publications.publish_snapshot(session, "draw", f"draw:{draw.id}",
                                                f"{plan.name}双随机抽取记录（第{draw.id}号）", content, actor)
    draw.publication_id = publication.id
    return publication


def batches(session: Session) -> list[Draw]:
    return list(session.scalars(select(Draw).where(Draw.kind == "batch").order_by(Draw.id.desc())))


def describe(session: Session, draw: Draw) -> dict[str, Any]:
    """A batch as its page shows it: the plan, each drawn entity with its team (after recusals) and case."""
    entities = {e["credit_code"]: e for e in json.loads(draw.entities_snapshot)}
    later = redraws(session, draw)
    names = {i["cert_no"]: i["name"] for d in [draw, *later] for i in json.loads(d.inspectors_snapshot)}
    cases = {c.credit_code: c.instance_id for c in session.scalars(select(DrawCase).where(DrawCase.draw_id == draw.id))}
    keys = dict(session.execute(select(ProcessInstance.id, ProcessInstance.business_key)
                                .where(ProcessInstance.id.in_(cases.values()))).all()) if cases else {}
    rows = [{"credit_code": code, "name": entities[code]["name"], "category": entities[code]["category"],
             "team": [(cert, names.get(cert, cert)) for cert in team], "instance_id": cases.get(code),
             "business_key": keys.get(cases.get(code))}
            for code, team in current_teams(session, draw).items()]
    return {"draw": draw, "plan": session.get(SpotPlan, draw.plan_id), "rows": rows,
            "entity_names": {code: e["name"] for code, e in entities.items()},
            "redraws": [(d, json.loads(d.parameters)) for d in later],
            "entity_count": len(entities), "inspector_count": len(json.loads(draw.inspectors_snapshot)),
            "names": names}


def plan_quotas_label(quotas: list[PlanQuota]) -> str:
    ordered = sorted(quotas, key=lambda q: list(CATEGORIES).index(q.category))
    return "；".join(f"{CATEGORIES[q.category]} {q.ratio.normalize():f}%（{q.frequency}）" for q in ordered)


def confirm(session: Session, draw: Draw, actor: User) -> list[DrawCase]:
    """Accept the draw after 回避审查: one inspection case per drawn entity with its team, started by the
    message the inspection model catches; then the draw record is published."""
    if draw.kind != "batch":
        raise DrawRefused("只能确认批次抽取记录")
    if draw.confirmed_at is not None:
        raise DrawRefused("该批次已确认，检查案件已生成")
    entities = {e["credit_code"]: e for e in json.loads(draw.entities_snapshot)}
    plan = session.get(SpotPlan, draw.plan_id)
    addresses = {e.credit_code: e.address for e in directory.entities(session)}
    made = []
    teams = current_teams(session, draw)
    people = dict(session.execute(select(User.cert_no, User.id).where(
        User.cert_no.in_({c for team in teams.values() for c in team}))).all())
    gone = sorted({c for team in teams.values() for c in team} - set(people))
    if gone:  # a certificate renumbered or its holder removed since the draw
        raise DrawRefused(f"执法证号 {'、'.join(gone)} 已不在人员名录中，请对相关检查组回避重抽后再确认")
    for code, team in teams.items():
        instance = runtime.start_by_message(session, DRAWN_MESSAGE, {
            "draw_id": draw.id, "draw_record": f"双随机抽取记录第{draw.id}号（{ALGORITHM}，种子 {draw.seed[:16]}…）",
            "inspection_matter": plan.item.name, "target_category": entities[code]["category"],
            "party_name": entities[code]["name"], "credit_code": code, "party_address": addresses.get(code, ""),
            "inspectors": [people[c] for c in team],  # the officers field takes user ids
        }, actor)
        made.append(DrawCase(draw_id=draw.id, credit_code=code, instance_id=instance.id))
    session.add_all(made)
    draw.confirmed_at = utcnow()
    session.flush()
    publish_record(session, draw, actor.username)
    return made
