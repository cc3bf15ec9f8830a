"""流程监控 in a real browser: each dashboard page opens at 1366×768, the diagram shows the
badges and heatmap, the charts draw, a badge leads to the filtered list, a case is suspended
and 流程概况 counts it as 已挂起, no longer 办理中."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bench.dashboard_bench import seed
from engine.deploy import repository
from engine.execution import runtime
from engine.store.models import ProcessDefinition, ProcessInstance
from monitoring import dashboards
from organisation.demo import DEMO_PASSWORD
from tests.conftest import FIXTURES
from tests.e2e.conftest import console_error


@pytest.fixture
def seeded(db, org):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "engine", FIXTURES / "dashboard"]), source="cli")
        seed(session, 300, now=datetime.now(timezone.utc), seed_value=3, span_days=400)
        return session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == "dash_flow"))


def test_every_dashboard_page_opens_and_works(db, seeded, user, live_server, chromium, screenshots):
    with db.transaction() as session:  # a case run by the engine (seeded rows have no workflow state)
        running = runtime.start(session, "dash_flow", user("supervision_investigate1"), {})
    with db.reading() as session:
        view = dashboards.process_view(session, user("leadership_chief"), seeded)
    badges = {a.element_id: a.waiting for a in view.activities if a.waiting and a.in_diagram}
    heated = {a.element_id for a in view.activities if a.heat and a.in_diagram}
    assert badges and heated

    context = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if console_error(m) else None)
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "leadership_chief")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/inbox")

    page.get_by_role("link", name="流程监控").click()
    page.wait_for_url(f"{live_server}/dashboard")
    assert page.locator("#overview tbody tr").count() >= 2
    screenshots(page, "overview")

    def counts_shown() -> dict[str, int]:
        page.goto(f"{live_server}/dashboard")
        row = page.locator(f'tr[data-definition="{seeded}"]')
        return {k: int(row.locator(f'[data-k="{k}"]').inner_text()) for k in ("running", "suspended")}
    before = counts_shown()

    page.locator(f'tr[data-definition="{seeded}"]').get_by_role("link", name="流程图与热力图").click()
    page.wait_for_selector("#diagram[data-ready='1']")
    shown = {b.get_attribute("data-element"): int(b.inner_text()) for b in page.locator(".token-badge").all()}
    assert shown == badges
    for element_id in heated:
        assert page.locator(f'.djs-element[data-element-id="{element_id}"][class*="heat-"]').count() == 1
    screenshots(page, "diagram-badges-heatmap")

    step, count = max(badges.items(), key=lambda kv: kv[1])
    page.locator(f'.token-badge[data-element="{step}"]').click()
    page.wait_for_url(f"**/dashboard/instances?definition={seeded}&step={step}")
    assert page.locator("h1 small").inner_text() == f"共 {count} 件"
    screenshots(page, "list-from-badge")

    page.goto(f"{live_server}/dashboard/instances")
    page.select_option("select[name=status]", "running")
    page.check("input[name=overdue]")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**/dashboard/instances?*status=running*overdue=1*")
    statuses = page.locator("#instances tbody .status").all_inner_texts()
    assert statuses and set(statuses) == {"办理中"}
    assert page.locator("#instances tbody tr").count() == page.locator("#instances tbody .badge.overdue").count()
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 CSV").click()
    assert download.value.path().read_bytes().startswith(b"\xef\xbb\xbf\xe6\xa1\x88\xe4\xbb\xb6\xe7\xbc\x96\xe5\x8f\xb7")  # BOM 案件编号
    screenshots(page, "instance-list-filtered")

    page.get_by_role("link", name="超期督办").click()
    page.wait_for_url(f"{live_server}/dashboard/overdue")
    assert page.locator("#board tr.post").count() > 0 and page.locator("#deadline-tasks .badge.overdue").count() > 0
    screenshots(page, "overdue-board")

    page.get_by_role("link", name="办理效率").click()
    page.wait_for_selector("body[data-charts-ready='1']")
    for chart in ("chart-months", "chart-weeks", "chart-steps", "chart-reviews"):
        assert page.evaluate(f"Chart.getChart(document.getElementById('{chart}')).data.datasets.length") > 0
    screenshots(page, "throughput")

    page.goto(f"{live_server}/dashboard/instances/{running.id}")
    page.fill("#reason-suspend", "等待检测报告")
    page.get_by_role("button", name="挂起案件").click()
    page.wait_for_selector("#instance-status:has-text('已挂起')")
    assert "等待检测报告" in page.locator("#management-events").inner_text()
    screenshots(page, "instance-suspended")

    assert counts_shown() == {"running": before["running"] - 1, "suspended": before["suspended"] + 1}

    page.goto(f"{live_server}/cases/{running.id}")  # the case page's diagram, under the same policy
    page.wait_for_selector("#diagram[data-rendered='true']")
    assert errors == []
    context.close()
    with db.reading() as session:
        assert session.get(ProcessInstance, running.id).status == "suspended"
