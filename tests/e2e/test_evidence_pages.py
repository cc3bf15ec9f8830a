"""End to end in headless Chromium at 1366×768, as the bureau's demo users: 执法全过程记录.

On the fixture process (tests/fixtures/evidence/evidence_flow.bpmn) the records keeper
registers a body camera and hands it to an officer; 现场检查 cannot be completed without
its video, is recorded and completes; 销毁违法物品 still lacks its photos after the video,
so the officer asks for an exception (设备故障), the chief sees the count in the navigation
bar and approves, and the step completes. A reviewer downloads the video (the purpose is
asked once), the 查阅登记簿 shows it, and the device, officer and 评查 pages show the
recordings and counts. Screenshots: test-artifacts/<test>/."""
from __future__ import annotations

from sqlalchemy import select

from engine.deploy import repository
from engine.inbox import tasks
from engine.store.models import ProcessInstance
from recording import evidence
from tests.conftest import FIXTURES
from tests.e2e.test_penalty_inbox import open_as

VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4096  # an MP4 header: the store sniffs it as video
VIDEO2 = VIDEO + b"\x01"
NAV_PENDING = "nav.mainnav a[href='/evidence/'] .count"  # 待审批的无法记录情况说明


def deploy_fixture(db):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "evidence"]), source="cli")


def main_text(page) -> str:
    return page.inner_text("main")


def no_horizontal_overflow(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, f"{page.url}: page is {width}px wide"


def submit_task(page):
    page.click("#task-form button.primary")
    page.wait_for_load_state()


def upload_on_step_page(page, name, content, mime="video/mp4"):
    page.set_input_files("#evidence-file",
                         files=[{"name": name, "mimeType": mime, "buffer": content}])
    page.click("#evidence-upload button.primary")
    page.wait_for_selector(f"text=已上传“{name}”")


def test_recording_exception_approval_access_log_devices_and_report(chromium, live_server, db, org, screenshots):
    base = live_server
    deploy_fixture(db)

    # 档案岗 registers a body camera and hands it to the officer who will destroy the goods.
    keeper = open_as(chromium, base, "supervision_records1")
    keeper.goto(f"{base}/evidence/devices")
    assert "尚未登记设备" in main_text(keeper)
    keeper.fill("input[name=number]", "JLY-2026-001")
    keeper.select_option("select[name=kind]", "bodycam")
    keeper.fill("input[name=model]", "DSJ-A8")
    keeper.click("form:has(input[name=op][value=add]) button.primary")
    keeper.wait_for_selector("text=台账已更新")
    row = keeper.locator("table.grid tr", has_text="JLY-2026-001")
    row.locator("input[name=officer]").fill("supervision_execute1")
    row.locator("input[name=purpose]").fill("销毁违法物品现场记录")
    row.locator("button", has_text="领用").click()
    keeper.wait_for_selector("text=台账已更新")
    executor_name = org["supervision_execute1"].full_name
    assert executor_name in keeper.locator("table.grid tr", has_text="JLY-2026-001").inner_text()
    no_horizontal_overflow(keeper)
    screenshots(keeper, "device-ledger-checked-out")

    # 现场检查: the officer starts the case and cannot complete the step without its video.
    officer = open_as(chromium, base, "supervision_investigate1")
    officer.goto(f"{base}/start")
    officer.click("text=测试全过程记录流程")
    officer.click("button.primary")
    officer.wait_for_selector("#task-form")
    with db.reading() as session:
        instance = session.scalars(select(ProcessInstance).order_by(ProcessInstance.id.desc())).first()
    key = instance.business_key
    assert "现场检查" in officer.inner_text("h1")
    assert "现场检查" in officer.inner_text("#record-item")
    task_url = officer.url
    submit_task(officer)
    text = main_text(officer)
    assert "本环节属于执法音像记录事项“现场检查”，尚缺：执法记录仪或摄像机的音视频" in text, text[:800]
    with db.reading() as session:
        [inspect] = tasks.ready_tasks(session, instance.id)
        assert inspect.name == "现场检查"
    screenshots(officer, "inspection-refused")

    officer.click("#record-item a")
    officer.wait_for_selector("#step-status")
    assert "尚缺：执法记录仪或摄像机的音视频" in officer.inner_text("#step-status")
    assert officer.locator(f"a[href='/tasks/{inspect.id}']").count() >= 1  # back to the task
    no_horizontal_overflow(officer)
    screenshots(officer, "inspection-step-missing")
    upload_on_step_page(officer, "现场检查-执法记录仪.mp4", VIDEO)
    assert "已满足" in officer.inner_text("#step-status")
    assert "现场检查-执法记录仪.mp4" in officer.inner_text("#recordings")
    no_horizontal_overflow(officer)
    screenshots(officer, "inspection-step-recorded")
    officer.goto(task_url)
    submit_task(officer)
    assert "已办理：现场检查" in main_text(officer)

    # 销毁违法物品: video uploaded, the photos cannot be taken — an exception for the chief.
    executor = open_as(chromium, base, "supervision_execute1")
    executor.goto(f"{base}/inbox?tab=group")
    executor.locator("tr", has_text=key).locator("a.button").click()
    executor.wait_for_selector("#task-form")
    assert "销毁违法物品" in executor.inner_text("h1")
    destroy_url = executor.url
    executor.click("#record-item a")
    executor.wait_for_selector("#step-status")
    upload_on_step_page(executor, "销毁-执法记录仪.mp4", VIDEO2)
    status = executor.inner_text("#step-status")
    assert "尚缺：照相机拍摄的照片" in status and "音视频" not in status
    reasons = executor.locator("select[name=reason] option").all_inner_texts()
    assert len([r for r in reasons if r != "请选择"]) == 4, reasons
    executor.select_option("select[name=reason]", "device")
    executor.fill("textarea[name=explanation]", "照相机电池耗尽，现场无法拍照，已用执法记录仪全程录像")
    executor.click("#exception-form button")
    executor.wait_for_selector("text=情况说明已提交，等待主要负责人审批")
    assert "待主要负责人审批" in executor.inner_text("#exceptions")
    assert executor.locator("#exception-form").count() == 0  # one request at a time
    no_horizontal_overflow(executor)
    screenshots(executor, "destroy-exception-requested")
    executor.goto(destroy_url)
    submit_task(executor)
    assert "正在等待主要负责人审批，审批通过前不能办结" in main_text(executor)
    with db.reading() as session:
        [destroy] = tasks.ready_tasks(session, instance.id)
        assert destroy.name == "销毁违法物品"
        [attachment] = evidence.recordings_of_task(session, destroy.id)
        assert attachment.device_id is not None  # linked to the camera the officer holds

    # The chief: one pending approval in the navigation bar, approves it.
    chief = open_as(chromium, base, "leadership_chief")
    assert chief.inner_text(NAV_PENDING) == "1"
    chief.click("nav.mainnav >> text=执法记录")
    pending = chief.locator("#pending tr", has_text=key)
    assert pending.count() == 1
    assert "设备故障" in pending.inner_text() and "照相机电池耗尽" in pending.inner_text()
    assert "销毁违法物品" in pending.inner_text()
    no_horizontal_overflow(chief)
    screenshots(chief, "chief-pending")
    pending.locator("input[name=note]").fill("同意")
    pending.locator("button[value=approve]").click()
    chief.wait_for_selector("text=已批准情况说明")
    assert chief.locator(NAV_PENDING).count() == 0
    assert "暂无待审批的情况说明" in main_text(chief)
    screenshots(chief, "chief-approved")

    executor.goto(destroy_url.replace("/tasks/", "/evidence/tasks/"))
    assert f"{org['leadership_chief'].full_name} 已批准" in executor.inner_text("#exceptions")
    assert executor.locator("#exception-form").count() == 0  # nothing more to ask for
    assert "已满足" in executor.inner_text("#step-status")
    screenshots(executor, "destroy-exception-approved")
    executor.goto(destroy_url)
    submit_task(executor)
    assert "已办理：销毁违法物品" in main_text(executor)
    with db.reading() as session:
        steps = {s.record_item: s for s in session.scalars(select(evidence.RecordedStep))}
        assert steps["现场检查"].outcome == "recorded" and steps["销毁违法物品"].outcome == "exception"
        assert tasks.ready_tasks(session, instance.id)[0].name == "集体讨论"

    # A reviewer downloads the video: asked for the purpose once, every download logged.
    reviewer = open_as(chromium, base, "supervision_review1")
    reviewer.goto(f"{base}/evidence/cases/{instance.id}")
    assert reviewer.locator(f"a[href='/cases/{instance.id}']").count() >= 1  # back to the case
    rows = reviewer.locator("#recordings tbody tr")
    assert rows.count() == 2
    no_horizontal_overflow(reviewer)
    screenshots(reviewer, "case-recordings")
    rows.filter(has_text="现场检查-执法记录仪.mp4").locator("a", has_text="下载").click()
    reviewer.wait_for_selector("input[name=purpose]")
    assert "现场检查-执法记录仪.mp4" in main_text(reviewer)
    screenshots(reviewer, "purpose-asked")
    reviewer.fill("input[name=purpose]", "案件审查核对现场检查情况")
    with reviewer.expect_download() as first:
        reviewer.click("button.primary")
    assert first.value.suggested_filename == "现场检查-执法记录仪.mp4"
    with open(first.value.path(), "rb") as f:
        assert f.read() == VIDEO
    reviewer.click("text=返回本案执法记录")
    with reviewer.expect_download() as second:  # no second question in this session
        reviewer.locator("#recordings tbody tr", has_text="现场检查-执法记录仪.mp4").locator("a", has_text="下载").click()
    assert second.value.suggested_filename == "现场检查-执法记录仪.mp4"
    denied = reviewer.request.get(f"{base}/evidence/access-log")
    assert denied.status == 403

    chief.goto(f"{base}/evidence/access-log")
    log = chief.locator("#access-log tbody tr", has_text="案件审查核对现场检查情况")
    assert log.count() == 2
    assert org["supervision_review1"].full_name in log.first.inner_text() and key in log.first.inner_text()
    assert "下载" in log.first.inner_text() and "现场检查-执法记录仪.mp4" in log.first.inner_text()
    no_horizontal_overflow(chief)
    screenshots(chief, "access-log")

    # The device: its checkout and the recording made with it; return it with what was recorded.
    keeper.goto(f"{base}/evidence/devices")
    keeper.click("text=JLY-2026-001")
    keeper.wait_for_selector("h1:has-text('JLY-2026-001')")
    made = keeper.locator("table.grid tr", has_text="销毁-执法记录仪.mp4").inner_text()
    assert key in made and executor_name in made and "销毁违法物品现场记录" in main_text(keeper)
    no_horizontal_overflow(keeper)
    screenshots(keeper, "device-page")
    keeper.goto(f"{base}/evidence/devices")
    row = keeper.locator("table.grid tr", has_text="JLY-2026-001")
    row.locator("input[name=content]").fill("销毁违法物品全程录像 1 段")
    row.locator("button", has_text="归还").click()
    keeper.wait_for_selector("text=台账已更新")
    assert "在库" in keeper.locator("table.grid tr", has_text="JLY-2026-001").inner_text()
    screenshots(keeper, "device-ledger-returned")
    executor.goto(f"{base}/evidence/officers/supervision_execute1")
    assert "JLY-2026-001" in main_text(executor) and "销毁-执法记录仪.mp4" in main_text(executor)
    no_horizontal_overflow(executor)
    screenshots(executor, "officer-page")

    # 评查: the department's row counts the two steps, the exception by reason.
    chief.goto(f"{base}/evidence/report")
    headers = chief.locator("#report thead th").all_inner_texts()
    cells = chief.locator("#report tbody tr").first.locator("td").all_inner_texts()
    counts = dict(zip(headers, cells))
    assert counts["应记录环节"] == "2" and counts["有记录"] == "1", counts
    assert counts["例外（经批准）"] == "1" and counts["例外：设备"] == "1" and counts["例外：天气"] == "0", counts
    no_horizontal_overflow(chief)
    screenshots(chief, "report")
    csv = chief.request.get(f"{base}/evidence/report.csv")
    assert csv.status == 200 and "应记录环节" in csv.body().decode("utf-8-sig")
