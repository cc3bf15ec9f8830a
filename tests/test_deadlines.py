"""Statutory periods in models: the deployed period table, the working-day calendar,
pauses that do not count, document numbers, and years nobody has entered yet."""
from __future__ import annotations

import subprocess
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from sqlalchemy import select

from engine.deploy import repository
from engine.execution import jobs, runtime
from engine.inbox import tasks
from engine.store.models import Notification, ProcessInstance
from tests.conftest import FIXTURES, ROOT
from workdays import calendar

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def flow(db, org):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "deadlines", ROOT / "dmn" / "statutory_periods.dmn"]),
                          source="cli")


def start(db, user, **data):
    with db.transaction() as session:
        instance = runtime.start(session, "deadline_flow", user("supervision_file1"), data)
        values = runtime.case_data(runtime.load(session, instance, None).workflow)
        return values, tasks.ready_tasks(session, instance.id)[0]


def nth_workday_after(start: date, n: int) -> date:
    """Counted independently of engine.calendar, straight from the holiday library."""
    day = start
    while n:
        day += timedelta(days=1)
        n -= chinese_calendar.is_workday(day)
    return day


def test_five_working_days_from_30_september_skip_national_day_and_count_the_saturday_workday(db, flow, user):
    values, task = start(db, user, filed_on="2026-09-30")
    assert values["request_due"] == nth_workday_after(date(2026, 9, 30), 5) == date(2026, 10, 13)
    assert task.due_at.astimezone(TZ).date() == date(2026, 10, 13) and task.problem is None


def test_fifteen_calendar_days_ending_on_a_holiday_roll_to_the_next_working_day(db, flow, user):
    values, _ = start(db, user, filed_on="2026-09-22")
    assert date(2026, 9, 22) + timedelta(days=15) == date(2026, 10, 7)  # 国庆 holiday
    assert values["file_due"] == date(2026, 10, 8)


def test_twenty_working_days_across_the_2026_spring_festival(db, flow, user):
    values, _ = start(db, user, filed_on="2026-02-10")
    assert values["decide_due"] == nth_workday_after(date(2026, 2, 10), 20) == date(2026, 3, 16)


def test_expert_review_pauses_the_permit_clock(db, flow, user):
    values, _ = start(db, user, filed_on="2026-03-02", pause_from="2026-03-09", pause_to="2026-03-13")
    assert values["decide_due"] == nth_workday_after(date(2026, 3, 2), 20 + 5)


def test_document_numbers_are_allocated_in_the_action(db, flow, user):
    first, _ = start(db, user, filed_on="2026-03-02")
    second, _ = start(db, user, filed_on="2026-03-02")
    year = datetime.now(TZ).year
    assert first["notice_no"] == f"鲁环罚告字〔{year}〕第001号"
    assert second["notice_no"] == f"鲁环罚告字〔{year}〕第002号"


def test_a_2027_deadline_without_the_admin_table_is_provisional_and_says_so(db, flow, user):
    values, task = start(db, user, filed_on="2027-03-01")
    assert values["request_due"] == date(2027, 3, 8)  # Monday–Friday, flagged
    assert task.problem and "2027年节假日安排尚未录入" in task.problem


def test_a_2027_deadline_with_the_admin_table_uses_it(db, flow, user):
    with db.transaction() as session:
        calendar.set_year(session, 2027, holidays=[(date(2027, 3, 3), date(2027, 3, 4), "测试假日")],
                          workdays=[], user=None)
    with db.reading() as session:
        calendar.load(session)
    values, task = start(db, user, filed_on="2027-03-01")
    assert values["request_due"] == date(2027, 3, 10) and task.problem is None


def test_the_deadline_command(cli_env):
    def run(*args):
        return subprocess.run([str(ROOT / ".venv/bin/zhifa"), "deadline", *args], env=cli_env,
                              capture_output=True, text=True)
    assert run("2026-09-30", "--working-days", "5").stdout.strip() == "2026-10-13"
    assert run("2026-09-22", "--days", "15").stdout.strip() == "2026-10-08"
    unknown = run("2027-03-01", "--working-days", "5")
    assert unknown.returncode == 1 and "2027" in unknown.stderr


def test_an_administrator_enters_2027_from_a_file(cli_env, tmp_path):
    def run(*args):
        return subprocess.run([str(ROOT / ".venv/bin/zhifa"), *args], env=cli_env, capture_output=True, text=True)
    (tmp_path / "2027.json").write_text(
        '{"year": 2027, "holidays": [["2027-01-01", "2027-01-03", "元旦"]], "workdays": ["2027-01-09"]}', "utf-8")
    assert run("deadline", "2026-12-31", "--working-days", "1").returncode == 1
    assert run("calendar", "import", str(tmp_path / "2027.json")).returncode == 0
    assert run("deadline", "2026-12-31", "--working-days", "1").stdout.strip() == "2027-01-04"
    assert run("deadline", "2027-01-08", "--working-days", "1").stdout.strip() == "2027-01-09"  # 调休 Saturday
    assert "2027-01-09  上班" in run("calendar", "show", "2027").stdout
    (tmp_path / "bad.json").write_text('{"year": 2027, "holidays": [["2027-01-05", "2027-01-01", "x"]]}', "utf-8")
    bad = run("calendar", "import", str(tmp_path / "bad.json"))
    assert bad.returncode == 1 and "日历文件无效" in bad.stderr


def test_a_date_timer_fires_when_its_day_is_over_and_only_reminds(db, flow, user, clock):
    _, task = start(db, user, filed_on="2026-12-01")
    with db.reading() as session:
        instance = session.get(ProcessInstance, task.instance_id)
    assert instance.next_timer_at == datetime(2026, 12, 9, tzinfo=TZ)  # 12-08 is the last day
    clock.offset = instance.next_timer_at - datetime.now(TZ) + timedelta(minutes=1)
    assert jobs.run_once(db, now=clock.now()) == 1
    with db.reading() as session:
        notes = session.scalars(select(Notification)).all()
        assert [(n.recipient, n.text) for n in notes] == [("leadership.deputy", f"{instance.business_key} 听证申请期限已届满")]
        assert [t.element_id for t in tasks.ready_tasks(session, instance.id)] == ["Task_request"]  # still open
        assert session.get(ProcessInstance, instance.id).next_timer_at is None


def test_a_deadline_already_past_reminds_at_once(db, flow, user):
    _, task = start(db, user, filed_on="2026-09-30")  # the request period ended on 10-13
    with db.reading() as session:
        assert [n.recipient for n in session.scalars(select(Notification))] == ["leadership.deputy"]
        assert [t.element_id for t in tasks.ready_tasks(session, task.instance_id)] == ["Task_request"]
