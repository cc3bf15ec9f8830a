"""The internal pages of 执法公示 and 双随机, through the web with CSRF tokens: who may open them, the
名录库 import with its errors, a plan and a draw with a 回避 redraw and confirmation, withdrawal."""
from __future__ import annotations

import io
import json
from datetime import date

from sqlalchemy import select

from disclosure import publications
from disclosure.models import Publication
from engine.access import identity
from spot_checks.models import Draw, RegulatedEntity
from tests.test_spot_checks import HEADER, rows
from tests.webclient import Browser, make_app
from workdays import calendar

VALID = (date(2024, 1, 1), date(2030, 12, 31))  # 执法证 validity of the extra inspectors


def _csv(data) -> bytes:
    lines = [",".join(HEADER)] + [",".join(r[k] for k in ("credit_code", "name", "address", "industry", "key_polluter",
                                                         "special_supervision", "risk_level", "township")) for r in data]
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_pages_are_only_for_their_posts(db, org, tmp_path):
    web = Browser(make_app(db, tmp_path))
    web.login("supervision_investigate1")
    for path in ("/disclosure/", "/disclosure/powers", "/spot-checks/", "/spot-checks/plans"):
        assert web.get(path).status_code == 403, path
    assert "双随机" not in web.get("/inbox").get_data(as_text=True)
    web = Browser(make_app(db, tmp_path))
    web.login("legal_review1")
    page = web.get("/inbox").get_data(as_text=True)
    assert "执法公示" in page and "双随机" in page
    assert web.post_form("/spot-checks/plans", {"name": "x"}).status_code == 403  # 法制股 supervises, does not draw


def test_import_plan_draw_recuse_confirm_through_the_web(db, deployed, tmp_path):
    with db.transaction() as session:
        for n in range(3, 7):
            identity.add_user(session, f"supervision_investigate{n}", "pw", f"检查员{n}", ["supervision.investigate"],
                              cert_no=f"豫环执4104230090{n}", cert_valid=VALID)
    web = Browser(make_app(db, tmp_path))
    web.login("supervision_file1")
    bad = web.post_form("/spot-checks/", {"file": (io.BytesIO(b"\xff\xfe not a table"), "x.xlsx")},
                        action="/spot-checks/import", follow_redirects=True).get_data(as_text=True)
    assert "未导入任何数据" in bad
    page = web.post_form("/spot-checks/", {"file": (io.BytesIO(_csv(rows(2, 6, 1))), "名录.csv")},
                         action="/spot-checks/import", follow_redirects=True).get_data(as_text=True)
    assert "新增 9 家" in page and "鲁山县第8号企业有限公司" in page and "检查员3" in page
    with db.reading() as session:
        entity = session.scalar(select(RegulatedEntity).where(RegulatedEntity.name == "鲁山县第8号企业有限公司"))
    edited = web.post_form(f"/spot-checks/entities/{entity.id}", {
        "credit_code": entity.credit_code, "name": entity.name, "address": "鲁山县新址", "industry": "化工",
        "township": "琴台街道", "risk_level": "高", "special_supervision": "1", "active": "1"},
        follow_redirects=True).get_data(as_text=True)
    assert "已保存" in edited and "风险等级：中 → 高" in edited

    refused = web.post_form("/spot-checks/plans", {"name": "", "item_id": "1", "period_start": "2026-04-01",
                                                   "period_end": "2026-06-30", "team_size": "1"})
    assert refused.status_code == 400 and "不得少于2名执法人员" in refused.get_data(as_text=True)
    page = web.post_form("/spot-checks/plans", {
        "name": "2026年第二季度随机抽查", "item_id": "1", "period_start": "2026-04-01", "period_end": "2026-06-30",
        "team_size": "2", "ratio_key": "50", "frequency_key": "每季度1次", "ratio_general": "20",
        "frequency_general": "每季度1次", "ratio_special": "100", "frequency_special": "每月1次"},
        follow_redirects=True).get_data(as_text=True)
    assert "已制定抽查计划" in page and "重点排污单位 50%（每季度1次）" in page
    drawn = web.post_form("/spot-checks/plans", {}, action="/spot-checks/plans/1/draw", follow_redirects=True)
    text = drawn.get_data(as_text=True)
    with db.reading() as session:
        draw = session.scalar(select(Draw))
    assert draw.seed in text and "回避并重抽" in text
    first = json.loads(draw.result)[0]
    page = web.post_form(f"/spot-checks/draws/{draw.id}", {"credit_code": first["credit_code"],
                         "cert_no": first["inspectors"][0], "reason": "曾在该企业任职"},
                         action=f"/spot-checks/draws/{draw.id}/recuse", follow_redirects=True).get_data(as_text=True)
    assert "已回避并重新抽取" in page and "曾在该企业任职" in page
    page = web.post_form(f"/spot-checks/draws/{draw.id}", {}, action=f"/spot-checks/draws/{draw.id}/verify",
                         follow_redirects=True).get_data(as_text=True)
    assert "复核一致" in page
    page = web.post_form(f"/spot-checks/draws/{draw.id}", {}, action=f"/spot-checks/draws/{draw.id}/confirm",
                         follow_redirects=True).get_data(as_text=True)
    assert "已确认抽取结果：发起检查案件 4 件" in page  # ceil(2×50%) + ceil(6×20%) + 1×100% and "回避并重抽" not in page


def test_legal_staff_publish_the_lists_and_withdraw_a_decision(db, deployed, tmp_path):
    with db.transaction() as session:
        draft = publications.draft(session, "penalty_decision", {"party_name": "鲁山县某厂", "party_type": "organization",
                                                                  "case_reason": "超标排放", "document_no": "鲁环罚决字〔2026〕第001号"},
                                   calendar.today(), calendar.today(), None)
        publications.publish(session, draft, "legal_review1")
    web = Browser(make_app(db, tmp_path))
    web.login("legal_head")
    for what in ("powers", "spot_items", "officers", "diagrams"):
        page = web.post_form("/disclosure/", {}, action=f"/disclosure/publish/{what}", follow_redirects=True)
        assert "已发布到行政执法公示网站" in page.get_data(as_text=True), what
    page = web.post_form("/disclosure/powers/1", {"category": "行政许可", "name": "", "basis": "x"})
    assert page.status_code == 400 and "请填写职权名称" in page.get_data(as_text=True)
    no_reason = web.post_form("/disclosure/", {"withdrawal_kind": "撤销", "basis_on": "2026-11-02", "reason": " "},
                              action=f"/disclosure/{draft.id}/withdraw", follow_redirects=True)
    assert "撤回须公开说明理由" in no_reason.get_data(as_text=True)
    page = web.post_form("/disclosure/", {"withdrawal_kind": "撤销", "basis_on": "2026-11-02",
                                          "reason": "行政复议机关决定撤销该行政处罚决定。"},
                         action=f"/disclosure/{draft.id}/withdraw", follow_redirects=True).get_data(as_text=True)
    assert "已撤回" in page and "公示网站显示撤回公告" in page
    with db.reading() as session:
        row = session.get(Publication, draft.id)
        assert row.state == "withdrawn" and row.withdraw_due_on == calendar.add_working_days(calendar.as_date("2026-11-02"), 3)
