"""Working-day calendar: real 2024–2026 arrangements, period rules, admin-entered years."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from workdays import calendar as cal
from workdays.calendar import CalendarUnknown, WorkCalendar

D = date.fromisoformat
LIB = WorkCalendar()


@pytest.fixture
def session(db):
    with db.transaction() as s:
        yield s


@pytest.fixture(autouse=True)
def _restore_current():
    yield
    cal.install(WorkCalendar())


def test_library_days_2025_national_day_and_tiaoxiu():
    assert LIB.is_workday("2025-09-28")      # Sunday 调休 workday
    assert LIB.is_workday("2025-10-11")      # Saturday 调休 workday
    assert not LIB.is_workday("2025-10-01")
    assert not LIB.is_workday("2025-10-08")
    assert LIB.is_workday("2025-10-09")
    assert not LIB.is_workday("2024-10-05")  # 2024 国庆
    assert not LIB.is_workday(D("2026-02-16"))  # 2026 春节 (02-15…02-23)
    assert LIB.is_workday(D("2026-02-14")) and LIB.is_workday(D("2026-02-28"))  # 调休 Saturdays


def test_working_days_start_day_not_counted():
    # Monday 2026-03-02 + 1 working day = Tuesday; + 5 = next Monday.
    assert LIB.add_working_days("2026-03-02", 1) == D("2026-03-03")
    assert LIB.add_working_days("2026-03-02", 5) == D("2026-03-09")
    # Friday + 1 skips the weekend.
    assert LIB.add_working_days("2026-03-06", 1) == D("2026-03-09")


def test_working_days_across_national_day_count_tiaoxiu():
    # Served Friday 2025-09-26; 5 working days: 09-28 (Sun, 调休), 29, 30, 10-09, 10-10.
    assert LIB.add_working_days("2025-09-26", 5) == D("2025-10-10")
    # One more is Saturday 10-11, a 调休 workday.
    assert LIB.add_working_days("2025-09-26", 6) == D("2025-10-11")
    assert LIB.working_days_between("2025-09-26", "2025-10-11") == 6


def test_working_days_over_2026_spring_festival():
    # Friday 2026-02-13: 02-14 (Sat, 调休) is the 1st, then 02-24 … after the break.
    assert LIB.add_working_days("2026-02-13", 1) == D("2026-02-14")
    assert LIB.add_working_days("2026-02-13", 2) == D("2026-02-24")
    # Start on a holiday: the first counted day is the first working day after it
    # (the chinesecalendar.find_workday pitfall would give one day later).
    assert LIB.add_working_days("2026-02-16", 1) == D("2026-02-24")
    assert LIB.add_working_days("2026-02-16", 20) == D("2026-03-20")


def test_zero_working_days():
    assert LIB.add_working_days("2026-03-02", 0) == D("2026-03-02")
    assert LIB.add_working_days("2025-10-03", 0) == D("2025-10-09")
    with pytest.raises(ValueError):
        LIB.add_working_days("2026-03-02", -1)


def test_calendar_days_roll_forward():
    # 2025-09-20 + 15 days = 10-05, a holiday → 10-09 (first working day after 国庆).
    assert LIB.add_days("2025-09-20", 15) == D("2025-10-09")
    assert LIB.add_days("2025-09-20", 15, roll=False) == D("2025-10-05")
    # Ends on Saturday 2026-03-07 → Monday.
    assert LIB.add_days("2026-02-28", 7) == D("2026-03-09")
    # Ends on a 调休 Sunday: a working day, no roll.
    assert LIB.add_days("2025-09-21", 7) == D("2025-09-28")
    assert LIB.add_days("2026-03-02", 0) == D("2026-03-02")


def test_months_clamp_and_roll():
    assert LIB.add_months("2026-03-02", 3) == D("2026-06-02")
    # 2025-08-31 + 1 month → 09-30 (Tue).
    assert LIB.add_months("2025-08-31", 1) == D("2025-09-30")
    # 2023-11-30 + 3 months → 2024-02-29 (leap year, Thursday).
    assert LIB.add_months("2023-11-30", 3) == D("2024-02-29")
    # 2025-07-01 + 3 months → 10-01, 国庆 → 10-09.
    assert LIB.add_months("2025-07-01", 3) == D("2025-10-09")
    assert LIB.add_months("2025-07-01", 3, roll=False) == D("2025-10-01")
    assert LIB.add_months("2025-06-15", 12) == D("2026-06-15")
    # 6 months from 2025-08-01 → 2026-02-01 (Sunday) → Monday 02-02.
    assert LIB.add_months("2025-08-01", 6) == D("2026-02-02")


def test_working_days_between():
    assert LIB.working_days_between("2026-03-02", "2026-03-02") == 0
    assert LIB.working_days_between("2026-03-02", "2026-03-09") == 5
    assert LIB.working_days_between("2026-03-09", "2026-03-02") == -5
    for n in (1, 7, 20, 60):
        assert LIB.working_days_between("2025-09-26", LIB.add_working_days("2025-09-26", n)) == n


def test_inputs_datetime_and_string():
    # 2026-03-01 20:00 UTC is Monday 03-02 04:00 in Shanghai.
    aware = datetime(2026, 3, 1, 20, 0, tzinfo=timezone.utc)
    assert LIB.add_working_days(aware, 1) == D("2026-03-03")
    assert LIB.add_working_days("2026-03-02T10:00:00+08:00", 1) == D("2026-03-03")
    assert LIB.add_working_days(datetime(2026, 3, 2, 23, 59), 1) == D("2026-03-03")
    assert isinstance(LIB.add_days(datetime(2026, 3, 2, 9), 1), date)
    assert not isinstance(LIB.add_days(datetime(2026, 3, 2, 9), 1), datetime)


def test_2027_unknown_raises_chinese_message():
    with pytest.raises(CalendarUnknown) as e:
        LIB.is_workday("2027-03-01")
    assert e.value.year == 2027
    assert "尚未录入2027年的法定节假日和调休安排" in str(e.value)
    # Counting from late 2026 into 2027 also raises, not NotImplementedError.
    with pytest.raises(CalendarUnknown):
        LIB.add_working_days("2026-12-20", 20)
    with pytest.raises(CalendarUnknown):
        LIB.add_days("2026-12-20", 30)
    # Without rolling no calendar is needed.
    assert LIB.add_days("2026-12-20", 30, roll=False) == D("2027-01-19")
    assert not LIB.knows(2027) and LIB.knows(2026)


def test_overrides_win_over_library():
    c = WorkCalendar({D("2026-03-02"): False, D("2026-03-07"): True})
    assert not c.is_workday("2026-03-02")
    assert c.is_workday("2026-03-07")
    assert c.add_working_days("2026-03-01", 1) == D("2026-03-03")
    assert c.add_working_days("2026-03-06", 1) == D("2026-03-07")


def test_set_year_2027_then_counting_works(session):
    cal.load(session)
    with pytest.raises(CalendarUnknown):
        cal.add_working_days("2027-02-01", 5)
    # A plausible 2027 arrangement (entered by an administrator from the notice).
    cal.set_year(session, 2027,
                 holidays=[(D("2027-01-01"), D("2027-01-03"), "元旦"),
                           (D("2027-02-05"), D("2027-02-13"), "春节")],
                 workdays=[D("2027-02-14")],
                 user="admin")
    session.commit()
    cal.load(session)
    assert cal.current().knows(2027)
    assert not cal.is_workday("2027-02-08")       # Monday inside 春节
    assert cal.is_workday("2027-02-14")            # 调休 Sunday
    assert cal.is_workday("2027-03-01")            # ordinary Monday
    assert not cal.is_workday("2027-03-06")        # ordinary Saturday
    # Thursday 02-04 + 1 → 02-14 (the 调休 Sunday), + 2 → Monday 02-15.
    assert cal.add_working_days("2027-02-04", 1) == D("2027-02-14")
    assert cal.add_working_days("2027-02-04", 2) == D("2027-02-15")
    # Crossing from 2026 into the entered 2027.
    assert cal.add_days("2026-12-20", 12) == D("2027-01-04")
    entries = cal.days_of(session, 2027)
    assert len(entries) == 13 and entries[0].note == "元旦" and entries[-1].is_workday
    # Re-entering replaces the year.
    cal.set_year(session, 2027, holidays=[(D("2027-01-01"), D("2027-01-01"), "元旦")],
                 workdays=[], user="admin")
    session.commit()
    cal.refresh(session)
    assert cal.is_workday("2027-02-08")
    assert len(cal.days_of(session, 2027)) == 1


def test_set_year_validation(session):
    with pytest.raises(ValueError):
        cal.set_year(session, 2027, [(D("2027-10-01"), D("2027-10-07"), "国庆")],
                     [D("2027-10-03")], "admin")
    with pytest.raises(ValueError):
        cal.set_year(session, 2027, [(D("2029-10-01"), D("2029-10-07"), "国庆")], [], "admin")


def test_admin_day_override_corrects_library_and_refresh_notices(session):
    cal.load(session)
    assert cal.is_workday("2026-03-02")
    cal.set_day(session, "2026-03-02", False, "临时调整", user="admin")
    session.commit()
    assert cal.refresh(session).is_workday("2026-03-02") is False
    assert cal.is_workday("2026-03-02") is False
    unchanged = cal.current()
    assert cal.refresh(session) is unchanged  # nothing changed → no reload
    cal.set_day(session, "2026-03-02", None, "", user="admin")
    session.commit()
    assert cal.refresh(session) is not unchanged
    assert cal.is_workday("2026-03-02")


def test_library_days_prefill():
    days = cal.library_days(2025)
    assert any(e.day == D("2025-10-11") and e.is_workday for e in days)
    assert any(e.day == D("2025-10-01") and e.note == "国庆节" for e in days)
    assert cal.library_days(2027) == []


def test_today_and_now_are_shanghai():
    n = cal.now()
    assert n.utcoffset().total_seconds() == 8 * 3600
    assert cal.today() == n.date() or cal.today() == cal.now().date()
