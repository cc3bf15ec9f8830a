"""流程部署 in a real browser at 1366×768, as 法制股 uses it: a broken upload shows the report and
deploys nothing; a good one shows the new versions before deploying; the diff, a version
download, the migration dry run and run; the decision table drawn by dmn-js and a 试算."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from engine.execution import runtime
from engine.store.models import Deployment, ProcessInstance
from organisation.demo import DEMO_PASSWORD
from tests.conftest import FIXTURES
from tests.e2e.conftest import console_error
from tests.test_modeling_versions import V1, version_2

ENGINE = FIXTURES / "engine"


def test_legal_staff_deploy_compare_migrate_and_try_a_decision(db, org, user, live_server, chromium, screenshots, tmp_path):
    broken = tmp_path / "broken" / "case_flow.bpmn"
    broken.parent.mkdir()
    broken.write_text(V1.replace('type="boolean"', 'type="checkbox"'), encoding="utf-8")
    v2 = tmp_path / "v2" / "case_flow.bpmn"
    v2.parent.mkdir()
    v2.write_text(version_2(), encoding="utf-8")

    context = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if console_error(m) else None)
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "legal_review1")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/inbox")

    page.get_by_role("link", name="流程部署").first.click()
    page.wait_for_url(f"{live_server}/admin/deploy")
    screenshots(page, "deploy-page", raw_ok=True)

    # A broken model: the report names the field, nothing is deployed.
    page.set_input_files("#files", [str(ENGINE / "test_review_rule.dmn"), str(broken)])
    page.get_by_role("button", name="校验").click()
    page.wait_for_selector("#problems")
    assert "不支持的字段类型 “checkbox”" in page.locator("#problems").inner_text()
    assert page.get_by_role("button", name="确认部署").count() == 0
    screenshots(page, "report-with-problems", raw_ok=True)
    with db.reading() as session:
        assert session.scalar(select(Deployment)) is None

    # The good files: the report lists the versions to be created; then deploy.
    page.get_by_role("link", name="重新上传").click()
    page.set_input_files("#files", [str(ENGINE / "test_review_rule.dmn"), str(ENGINE / "case_flow.bpmn")])
    page.get_by_role("button", name="校验").click()
    page.wait_for_selector("#preview")
    assert "case_flow" in page.locator("#preview").inner_text() and "第 1 版" in page.locator("#preview").inner_text()
    screenshots(page, "report-ok", raw_ok=True)
    page.fill("#name", "测试检查流程首版")
    page.get_by_role("button", name="确认部署").click()
    page.wait_for_url(f"{live_server}/admin/deploy")
    assert "已部署" in page.locator(".flash").inner_text()
    assert "测试检查流程首版" in page.locator("table.deployments").inner_text()

    # A case runs on version 1; legal staff deploy version 2 from the page.
    with db.transaction() as session:
        case = runtime.start(session, "case_flow", user("supervision_investigate1"), {})
        case_id, case_key = case.id, case.business_key
    page.set_input_files("#files", [str(v2)])
    page.get_by_role("button", name="校验").click()
    page.wait_for_selector("#preview")
    page.get_by_role("button", name="确认部署").click()
    page.wait_for_url(f"{live_server}/admin/deploy")
    screenshots(page, "deployments", raw_ok=True)

    # Versions, download, diff.
    page.get_by_role("link", name="全部版本、下载、比较、迁移").click()
    page.wait_for_selector("#versions")
    with page.expect_download() as download:
        page.locator("#versions tbody tr").nth(1).get_by_role("link", name="下载 .bpmn").click()
    assert Path(download.value.path()).read_text(encoding="utf-8") == V1
    assert download.value.suggested_filename == "case_flow.v1.bpmn"
    page.get_by_role("button", name="比较").click()
    page.wait_for_selector("table.diff")
    text = page.locator("main").inner_text()
    assert "整理材料（用户任务）" in text and "当事人名称（全称）" in text
    screenshots(page, "diff", raw_ok=True)

    # Migration: dry run first, then move the case.
    page.get_by_role("link", name="返回版本列表").click()
    page.get_by_role("link", name="把运行中的案件迁移到新版本…").click()
    page.wait_for_selector("#movable")
    assert case_key in page.locator("#movable").inner_text()
    screenshots(page, "migration-dry-run", raw_ok=True)
    page.get_by_role("button", name="迁移选中的案件到第 2 版").click()
    page.wait_for_selector(".flash-info")
    assert f"已将 1 件案件迁移到第 2 版：{case_key}" in page.locator(".flash-info").inner_text()
    screenshots(page, "migration-done", raw_ok=True)
    with db.reading() as session:
        assert session.get(ProcessInstance, case_id).definition.version == 2

    # The decision table: dmn-js draws it; 试算 by keyboard.
    page.get_by_role("link", name="决策表与试算").click()
    page.get_by_role("link", name="是否需要法制审核（测试）").click()
    page.wait_for_selector("#dmn-viewer[data-ready=true] .tjs-table")
    page.select_option("#in-party_type", "citizen")
    page.fill("#in-fine_amount", "6000")
    page.keyboard.press("Enter")
    page.wait_for_selector("#trial-result")
    assert "第 1 条" in page.locator("#trial-result").inner_text()
    assert page.locator('#rules tr.hit[data-rule="Rule_citizen"]').count() == 1
    page.wait_for_selector("#dmn-viewer[data-ready=true] .tjs-table")
    assert "命中策略" in page.inner_text("#dmn-viewer") and "Hit policy" not in page.inner_text("#dmn-viewer")
    screenshots(page, "decision-trial", raw_ok=True)
    assert errors == []
    context.close()
