"""The reviewer's task page in headless Chromium, on a desk (1366×768) and on a phone (390×844):
a case sent back twice shows each earlier step once, with its last opinion, in the order the
steps were last done, and its case page draws the steps of the earlier passes as done (the case
keeps one pass of its loop). Screenshots: test-artifacts/<test>/."""
from __future__ import annotations

import pytest

from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from tests.conftest import FIXTURES
from tests.e2e.conftest import open_as

PREPARE = {"party_name": "鲁山县某化工有限公司", "party_type": "organization", "witness_count": "2",
           "fine_amount": "60000", "inspected_on": "2026-03-02"}


@pytest.fixture
def looped(db, org, user):
    """A case whose 案件审查 sent it back to 调查取证 twice, now at 案件审查 again."""
    officer, reviewer = user("supervision_investigate1"), user("supervision_review1")
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "inbox"]), source="cli")
        instance = runtime.start(session, "review_flow", officer, {})
    for opinion in ("缺少询问笔录", "缺少现场照片", None):
        with db.transaction() as session:
            [task] = tasks.ready_tasks(session, instance.id)
            tasks.complete(session, task.id, officer, {**PREPARE, "fine_amount": "80000" if opinion is None else "60000"})
        if opinion is not None:
            with db.transaction() as session:
                [check] = tasks.ready_tasks(session, instance.id)
                tasks.complete(session, check.id, reviewer, {"check_outcome": "reinvestigate", "check_opinion": opinion})
    return instance


@pytest.mark.parametrize("viewport", [(1366, 768), (390, 844)], ids=["desk", "phone"])
def test_the_reviewer_sees_each_earlier_step_once_with_its_last_opinion(chromium, live_server, looped, screenshots,
                                                                       viewport):
    page = open_as(chromium, live_server, "supervision_review1", viewport={"width": viewport[0], "height": viewport[1]})
    page.goto(f"{live_server}/inbox?tab=group")
    page.locator("tr", has_text=looped.business_key).locator("a.button").click()
    page.wait_for_selector("#task-form")
    steps = page.locator("details.step")
    assert steps.count() == 2
    first, second = steps.nth(0).inner_text(), steps.nth(1).inner_text()
    assert "案件审查" in first and "缺少现场照片" in first and "退回补充调查" in first
    assert "调查取证" in second and "80000.00 元" in second
    assert "缺少询问笔录" not in page.locator("section", has=steps.first).inner_text()  # not the older opinion
    screenshots(page, f"task-page-{viewport[0]}")
    # the case page's diagram: the steps of the earlier passes drawn as done, from the pass the case keeps
    page.goto(f"{live_server}/cases/{looped.id}")
    page.wait_for_selector("#diagram[data-rendered='true']")
    assert page.is_visible("#diagram-fit")
    marked = page.evaluate("""() => [...document.querySelectorAll('#diagram .djs-element')]
        .filter(e => e.classList.contains('hl-done') || e.classList.contains('hl-current'))
        .map(e => e.getAttribute('data-element-id') + ':' + (e.classList.contains('hl-done') ? 'done' : 'current'))""")
    assert sorted(marked) == ["Ev_start:done", "Gw_check:done", "Gw_merge:done", "Task_check:current",
                              "Task_prepare:done"]
    screenshots(page, f"case-page-{viewport[0]}")
    page.context.close()


def test_a_model_without_a_layout_says_so_on_the_case_page(chromium, live_server, db, org, user, screenshots):
    with db.transaction() as session:  # written by hand, not in Camunda Modeler: no BPMNDiagram
        repository.deploy(session, repository.read_paths([FIXTURES / "compaction"]), source="cli")
        instance = runtime.start(session, "loop_paths", user("supervision_investigate1"), {})
    page = open_as(chromium, live_server, "supervision_investigate1")
    page.goto(f"{live_server}/cases/{instance.id}")
    page.wait_for_selector("#diagram[data-rendered='error']")
    assert page.inner_text("#diagram") == "该模型文件没有图形布局（BPMNDiagram），无法显示流程图；办理经过见下方办理记录。"
    assert not page.is_visible("#diagram-fit")  # nothing to fit
    screenshots(page, "case-page-no-layout")
    page.context.close()
