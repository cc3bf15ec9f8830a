"""Issue #14: date fields and file pickers read Chinese in a browser set to English. Chromium started
with --lang=en-US draws <input type=date> as mm/dd/yyyy and <input type=file> as "Choose File / No
file chosen" whatever the page's lang, so the pages draw their own (templates/_inputs.html): a
年-月-日 field with a calendar, a 选择文件 / 拍照或录像 button with the chosen names. The task form
and the 执法记录 step page at 1366×768 and 390×844, the 流程监控 filters. Screenshots:
test-artifacts/<test>/ (each one also fails on an input the browser would draw)."""
from __future__ import annotations

import re
from datetime import date

import pytest

from organisation.demo import DEMO_PASSWORD
from tests.e2e.conftest import CHROMIUM_ARGS
from tests.test_organisation import start_investigation

ENGLISH_ARGS = [a for a in CHROMIUM_ARGS if not a.startswith("--lang=")] + ["--lang=en-US"]
DESKTOP = {"viewport": {"width": 1366, "height": 768}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
PHOTO = {"name": "现场照片.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff\xe0" + bytes(64)}
RECORD = {"name": "询问笔录.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}


@pytest.fixture
def english(chromium):
    """Chromium as on a PC whose browser is set to English."""
    browser = chromium.browser_type.launch(executable_path="/usr/bin/chromium", headless=True, args=ENGLISH_ARGS)
    yield browser
    browser.close()


def login(browser, base, username, device):
    page = browser.new_context(locale="en-US", **device).new_page()
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/inbox**")
    assert page.evaluate("navigator.language") == "en-US"
    return page


def pick_day(page, field: str, day: int) -> str:
    """Open the calendar next to ``field`` and choose ``day`` of the month it shows."""
    wrap = page.locator(f"{field} >> xpath=..")
    wrap.locator("button.date-pick").click()
    calendar = wrap.locator(".calendar")
    assert calendar.is_visible()
    month = calendar.locator(".head strong").inner_text()
    assert re.fullmatch(r"\d{4}年\d{1,2}月", month), month
    assert calendar.locator(".weekday").all_inner_texts() == ["一", "二", "三", "四", "五", "六", "日"]
    calendar.get_by_role("button", name=re.compile(rf"月{day}日$")).click()
    assert not calendar.is_visible()
    year, mon = re.fullmatch(r"(\d{4})年(\d{1,2})月", month).groups()
    return f"{year}-{int(mon):02d}-{day:02d}"


def test_dates_and_files_read_chinese_in_an_english_browser(english, live_server, deployed, db, user, screenshots):
    base = live_server
    case = start_investigation(db, user)
    task = case.task("UserTask_investigate")
    page = login(english, base, "supervision_investigate1", DESKTOP)
    page.goto(f"{base}/tasks/{task.id}")
    assert page.get_attribute("#f_testing_from", "type") == "text"
    assert page.get_attribute("#f_testing_from", "placeholder") == "年-月-日"
    picker = page.locator("#f_evidence_files .file-pick")
    assert picker.locator("label.file-button").inner_text() == "选择文件"
    assert picker.locator(".file-names").inner_text() == "未选择文件"
    screenshots(page, "task-form")

    page.locator("#f_testing_from >> xpath=..").locator("button.date-pick").click()
    screenshots(page, "calendar-open")
    page.keyboard.press("Escape")
    chosen = pick_day(page, "#f_testing_from", 15)
    assert page.input_value("#f_testing_from") == chosen
    page.fill("#f_testing_to", "")
    page.locator("#f_testing_to >> xpath=..").locator("button", has_text="日历").click()
    page.locator("#f_testing_to >> xpath=..").locator(".calendar button", has_text="今天").click()
    assert page.input_value("#f_testing_to") == date.today().isoformat()

    page.set_input_files("#up_evidence_files", files=[PHOTO, RECORD])
    assert picker.locator(".file-names").inner_text() == "已选择：现场照片.jpg、询问笔录.pdf"
    screenshots(page, "files-chosen")
    page.click("button[name=_upload][value=evidence_files]")
    page.wait_for_selector("#f_evidence_files ul.attached >> text=询问笔录.pdf")
    assert page.input_value("#f_testing_from") == chosen  # what was typed is shown again
    screenshots(page, "files-uploaded")

    page.click("#record-item a")
    page.wait_for_selector("#evidence-upload")
    assert page.locator("#evidence-upload label.file-button").all_inner_texts() == ["选择文件", "拍照或录像"]
    assert page.get_attribute("#recorded-at", "placeholder") == "年-月-日 时:分"
    page.set_input_files("#evidence-camera", files=[{**PHOTO, "name": "现场拍摄.jpg"}])
    assert "已选择：现场拍摄.jpg" in page.inner_text("#evidence-upload")
    screenshots(page, "step-page")

    phone = login(english, base, "supervision_investigate1", PHONE)
    phone.goto(f"{base}/tasks/{task.id}")
    phone.locator("#f_expert_from >> xpath=..").locator("button.date-pick").click()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshots(phone, "phone-calendar-open")
    phone.keyboard.press("Escape")
    phone.click("#record-item a")
    phone.wait_for_selector("#evidence-upload")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshots(phone, "phone-step-page")

    chief = login(english, base, "leadership_chief", DESKTOP)
    chief.goto(f"{base}/dashboard/instances")
    chief.fill("input[name=started_from]", "2026-01-01")
    chosen = pick_day(chief, "input[name=started_to]", 28)
    chief.click("form.filters button.primary")
    chief.wait_for_load_state()
    assert chief.input_value("input[name=started_to]") == chosen
    screenshots(chief, "dashboard-filter")
