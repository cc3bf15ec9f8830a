"""双随机一公开: the 名录库 imported and edited with history, plans with ratios per category, batch draws
anyone can recompute (a tampered snapshot is caught), recusal redraws, and the inspection cases a
confirmed draw starts."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select, update

from disclosure import public
from engine.access import identity
from engine.store.models import User
from spot_checks import directory, draws, plans
from spot_checks.models import Draw, DrawCase, RegulatedEntity
from tests.casework import Case
from webui.public import create_public_app

VALID = (date(2024, 1, 1), date(2030, 12, 31))  # 执法证 validity of the extra inspectors

ON = date(2026, 4, 1)
ZHIFA = str(Path(sys.executable).parent / "zhifa")
HEADER = ["统一社会信用代码", "名称", "地址", "行业", "重点排污单位", "特殊监管对象", "风险等级", "所属乡镇"]


def code(n: int) -> str:
    return f"91410423MA{n:08d}"


def rows(key=5, general=20, special=3):
    out = []
    for n in range(key + general + special):
        kind = "key" if n < key else "general" if n < key + general else "special"
        out.append({"credit_code": code(n), "name": f"鲁山县第{n}号企业有限公司", "address": f"鲁山县工业路{n}号",
                    "industry": "化工", "key_polluter": "是" if kind == "key" else "否",
                    "special_supervision": "是" if kind == "special" else "否", "risk_level": "中",
                    "township": "琴台街道"})
    return out


@pytest.fixture
def inspectors(db, org):
    """Six certified investigators (the demo has two) and one whose 执法证 has expired."""
    with db.transaction() as session:
        for n in range(3, 7):
            identity.add_user(session, f"supervision_investigate{n}", "pw", f"检查员{n}", ["supervision.investigate"],
                              cert_no=f"豫环执4104230090{n}", cert_valid=VALID)
        expired = identity.add_user(session, "supervision_investigate9", "pw", "过期员", ["supervision.investigate"],
                                    cert_no="豫环执41042300999", cert_valid=VALID)
        expired.cert_valid_until = date(2025, 12, 31)


@pytest.fixture
def plan(db, org, inspectors):
    with db.transaction() as session:
        directory.import_rows(session, rows(), "legal_head")
        plans.seed_items(session)
        item = plans.items(session)[0]
        return plans.create(session, "2026年第二季度污染源日常监管随机抽查", item.id, date(2026, 4, 1), date(2026, 6, 30), 2,
                            {"key": ("40", "每季度1次"), "general": ("10", "每季度1次"), "special": ("100", "每月1次")},
                            "leadership_chief")


def _draw(db, plan) -> Draw:
    with db.transaction() as session:
        return draws.run(session, session.get(type(plan), plan.id), "supervision_file1", ON)


def test_the_directory_imports_xlsx_and_csv_and_keeps_every_change(db, org):
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    for r in rows(2, 1, 0):
        book.active.append([r["credit_code"], r["name"], r["address"], r["industry"], r["key_polluter"],
                            r["special_supervision"], r["risk_level"], r["township"]])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    with db.transaction() as session:
        assert directory.import_rows(session, directory.read_table(data, "名录.xlsx"), "legal_head") == {
            "added": 3, "updated": 0}
    csv_text = ",".join(HEADER) + "\n" + f"{code(0)},鲁山县第0号企业有限公司,新址1号,化工,是,否,高,张官营镇\n"
    with db.transaction() as session:
        result = directory.import_rows(session, directory.read_table(io.BytesIO(csv_text.encode("gb18030")), "a.csv"),
                                       "legal_head")
        assert result == {"added": 0, "updated": 1}
        entity = session.scalar(select(RegulatedEntity).where(RegulatedEntity.credit_code == code(0)))
        directory.update(session, entity.id, {**rows(1)[0], "risk_level": "低", "address": "新址1号",
                                              "township": "张官营镇"}, "supervision_file1")
    with db.reading() as session:
        entity = session.scalar(select(RegulatedEntity).where(RegulatedEntity.credit_code == code(0)))
        assert (entity.address, entity.risk_level, entity.category) == ("新址1号", "低", "key")
        changes = directory.history(session, entity.id)
        assert [c["actor"] for c in changes] == ["supervision_file1", "legal_head", "legal_head"]
        assert ("风险等级", "高", "低") in changes[0]["changes"] and ("地址", "鲁山县工业路0号", "新址1号") in changes[1]["changes"]
    bad = ",".join(HEADER) + "\n" + f"{code(7)},新企业,,,否,否,中,\n12345,坏代码,,,否,否,极高,\n"
    with db.transaction() as session, pytest.raises(directory.DirectoryInvalid) as refused:
        directory.import_rows(session, directory.read_table(io.BytesIO(bad.encode()), "b.csv"), "legal_head")
    assert "第3行：统一社会信用代码“12345”不是18位有效代码" in refused.value.errors
    assert "第3行：风险等级应为 高/中/低" in refused.value.errors
    with db.reading() as session:  # all rows or none
        assert session.scalar(select(RegulatedEntity).where(RegulatedEntity.credit_code == code(7))) is None


def test_the_inspector_pool_holds_valid_certificates_of_the_inspection_posts(db, org, inspectors):
    with db.reading() as session:
        pool = directory.inspector_pool(session, ON)
    names = {u.username for u in pool}
    assert {"supervision_investigate1", "supervision_investigate3"} <= names
    assert "supervision_investigate9" not in names and "legal_review1" not in names  # expired; not an inspection post


def test_a_batch_draw_respects_the_plan_ratios_and_forms_teams_of_two(db, plan):
    draw = _draw(db, plan)
    result = json.loads(draw.result)
    entities = {e["credit_code"]: e["category"] for e in json.loads(draw.entities_snapshot)}
    drawn = [entities[r["credit_code"]] for r in result]
    # ceil(5 × 40%) = 2 重点, ceil(20 × 10%) = 2 一般, 3 × 100% = 3 特殊监管
    assert (drawn.count("key"), drawn.count("general"), drawn.count("special")) == (2, 2, 3)
    assert draws.quota_count(20, Decimal("10")) == 2 and draws.quota_count(5, Decimal("40")) == 2
    certs = {i["cert_no"] for i in json.loads(draw.inspectors_snapshot)}
    assert "豫环执41042300999" not in certs
    for r in result:
        assert len(set(r["inspectors"])) == 2 and set(r["inspectors"]) <= certs
    loads = [sum(c in r["inspectors"] for r in result) for c in certs]
    assert max(loads) - min(loads) <= 1  # 14 places spread over the pool
    assert len(draw.seed) == 64 and draw.algorithm == "zhifa-draw-v1"


def test_a_draw_is_recomputed_from_its_record_and_a_tampered_snapshot_is_caught(db, plan, cli_env):
    draw = _draw(db, plan)
    with db.reading() as session:
        assert draws.verify(session, draw.id).ok
    ok = subprocess.run([ZHIFA, "draw", "verify", str(draw.id)], env=cli_env,
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "复核一致" in ok.stdout
    # someone removes a drawn company from the stored list, as if the draw could not have chosen it
    removed = json.loads(draw.result)[0]["credit_code"]
    snapshot = [e for e in json.loads(draw.entities_snapshot) if e["credit_code"] != removed]
    with db.transaction() as session:
        session.execute(update(Draw).where(Draw.id == draw.id).values(entities_snapshot=draws.canonical(snapshot)))
    with db.reading() as session:
        problems = draws.verify(session, draw.id).problems
    assert "检查对象名录快照与记录的哈希值不符（快照被改动）" in problems
    bad = subprocess.run([ZHIFA, "draw", "verify", str(draw.id)], env=cli_env,
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "快照被改动" in bad.stdout
    # the hash rewritten too: the recomputation no longer matches what was drawn
    with db.transaction() as session:
        session.execute(update(Draw).where(Draw.id == draw.id).values(entities_hash=draws.sha256(draws.canonical(snapshot))))
    with db.reading() as session:
        assert draws.verify(session, draw.id).problems == ["按记录的种子和名录重新计算，抽取结果不一致"]


def test_recusal_redraws_are_recorded_and_the_draw_starts_one_inspection_per_entity(db, deployed, plan, user):
    draw = _draw(db, plan)
    first = json.loads(draw.result)[0]
    recused = first["inspectors"][0]
    with db.transaction() as session:
        with pytest.raises(draws.DrawRefused, match="回避须写明理由"):
            draws.recuse(session, session.get(Draw, draw.id), first["credit_code"], recused, " ", "supervision_file1", ON)
        redraw = draws.recuse(session, session.get(Draw, draw.id), first["credit_code"], recused,
                              "系该企业负责人的近亲属", "supervision_file1", ON)
    with db.reading() as session:
        assert draws.verify(session, redraw.id).ok
        team = draws.current_teams(session, session.get(Draw, draw.id))[first["credit_code"]]
    assert recused not in team and first["inspectors"][1] in team and len(team) == 2

    with db.transaction() as session:
        made = draws.confirm(session, session.get(Draw, draw.id), user("supervision_file1"))
    assert len(made) == 7
    case_for = {m.credit_code: m.instance_id for m in made}
    with db.reading() as session:
        from engine.store.models import ProcessInstance
        instance = session.get(ProcessInstance, case_for[first["credit_code"]])
    case = Case(db, user, instance)
    assert case.ready_ids() == ["onsite_inspection"]
    data = case.data()
    assert data["party_name"] == "鲁山县第{}号企业有限公司".format(int(first["credit_code"][-8:]))
    assert data["draw_id"] == draw.id
    with db.reading() as session:  # the team arrives as the officers field's user ids
        chosen = [session.get(User, i).cert_no for i in data["inspectors"]]
    assert sorted(chosen) == sorted(team) and recused not in chosen

    with db.transaction() as session, pytest.raises(draws.DrawRefused, match="已确认"):
        draws.confirm(session, session.get(Draw, draw.id), user("supervision_file1"))
    with db.reading() as session:  # the record is public, and verification also compares with it
        record = public.get(session, session.get(Draw, draw.id).publication_id)
        assert [d["id"] for d in record.content["draws"]] == [draw.id, redraw.id]
        assert draws.verify(session, draw.id).ok and draws.verify(session, redraw.id).ok
        assert session.scalar(select(DrawCase.id).where(DrawCase.draw_id == draw.id).limit(1)) is not None
    client = create_public_app(db=db).test_client()
    page = client.get(f"/draws/{record.id}").get_data(as_text=True)
    assert draw.seed in page and draw.entities_hash in page and "系该企业负责人的近亲属" in page
    snapshot = client.get(f"/draws/{record.id}/{draw.id}/entities.json").get_data(as_text=True)
    assert draws.sha256(snapshot) == draw.entities_hash  # anyone can check the published list


def test_plans_refuse_teams_of_one_and_missing_ratios(db, org):
    with db.transaction() as session:
        plans.seed_items(session)
        item = plans.items(session)[0]
        with pytest.raises(plans.PlanInvalid) as refused:
            plans.create(session, "计划", item.id, date(2026, 4, 1), date(2026, 3, 1), 1, {"key": ("", "")}, None)
    assert refused.value.errors == ["请填写计划期间（结束日不早于开始日）",
                                    "每个检查组不得少于2名执法人员（河南省行政执法条例第24条）",
                                    "至少为一类检查对象设定抽查比例"]
