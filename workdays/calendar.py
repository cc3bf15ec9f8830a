"""Working-day calendar of the bureau (Asia/Shanghai) and statutory period arithmetic.

Sources of truth, strongest first:

1. ``calendar_days`` rows (``CalendarDay``): administrator overrides. They always win,
   so the bureau can also correct the ``chinesecalendar`` library.
2. A year listed in ``calendar_years`` (``CalendarYear``) was entered completely by an
   administrator: its days without a row follow the plain rule Mon–Fri = working day;
   the library is not consulted for it.
3. ``chinesecalendar`` (1.11 knows 2004–2026): 法定节假日 and 调休 weekend workdays.
4. Otherwise :class:`CalendarUnknown` — never the library's ``NotImplementedError``.

Period rules (research/law.md §1):

* 工作日 periods (行政许可法 art. 82, 行政处罚法 art. 85, 行政强制法 art. 69): the start
  day is not counted; the deadline is the n-th working day strictly after it;
  调休 weekend workdays count, 法定节假日 and weekends do not.
* 日 / 月 periods (民法典 arts. 201–203, 民事诉讼法 art. 85, 环境行政处罚办法 art. 79):
  the start day is not counted; a period ending on a rest day ends on the next working
  day; a month period ends on the same day-number of the target month, or its last day.
  For limits on the bureau's own coercive power (e.g. 查封扣押 30日) law.md §1.2
  recommends alerting on the un-rolled date: pass ``roll=False``.

Inputs may be ``date``, ``datetime`` (aware ones are converted to Asia/Shanghai first,
naive ones are taken as Shanghai wall time) or ISO strings; outputs are ``date``.

The process-wide current calendar is immutable and swapped atomically by :func:`load`
/ :func:`refresh`; module-level functions delegate to it.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import Boolean, Date, Integer, String, delete, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.store.counters import increment
from engine.store.models import Base, Sequence, utcnow

TZ = ZoneInfo("Asia/Shanghai")
DateLike = date | datetime | str

# Bumped by every admin edit so that refresh() notices changes to single days too
# (CalendarDay rows carry no timestamp). Lives in the sequences table; year 0.
REVISION_NAME = "calendar.revision"


class CalendarDay(Base):
    """Admin-maintained working-day overrides (holidays and 调休) for years the library lacks."""
    __tablename__ = "calendar_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(100), default="")


class CalendarYear(Base):
    """A year whose calendar an administrator has entered completely."""
    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    entered_by: Mapped[str | None] = mapped_column(String(100))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarUnknown(Exception):
    """The working days of ``year`` are known neither to the library nor to an administrator."""

    def __init__(self, year: int):
        self.year = year
        super().__init__(
            f"尚未录入{year}年的法定节假日和调休安排，请管理员在“工作日历”中录入后再计算期限。"
        )


def now() -> datetime:
    """Aware current time in Asia/Shanghai."""
    return datetime.now(TZ)


def today() -> date:
    """Current date in Asia/Shanghai (the server may run in UTC)."""
    return now().date()


def as_date(value: DateLike) -> date:
    if isinstance(value, datetime):
        return (value.astimezone(TZ) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            return date.fromisoformat(text)
        return as_date(datetime.fromisoformat(text))
    raise TypeError(f"not a date: {value!r}")


def _library_is_workday(d: date) -> bool:
    try:
        return chinese_calendar.is_workday(d)
    except NotImplementedError:
        raise CalendarUnknown(d.year) from None


class WorkCalendar:
    """An immutable working-day calendar: overrides + admin-entered years + the library."""

    def __init__(self, overrides: Mapping[date, bool] | None = None,
                 entered_years: Iterable[int] = ()):
        self._overrides: dict[date, bool] = dict(overrides or {})
        self._entered: frozenset[int] = frozenset(entered_years)

    @property
    def entered_years(self) -> frozenset[int]:
        return self._entered

    def assuming(self, year: int, party: bool = False) -> "WorkCalendar":
        """A copy that counts an unknown ``year`` as Monday–Friday (plus overrides).

        With ``party`` (a deadline protecting a party's right), every day that any
        arrangement could make a holiday (``possible_holidays``) is a rest day too, and no
        weekend is a 调休 workday: the working days counted are then a subset of the real
        ones, so the provisional deadline is never earlier than the real one.
        For a provisional date that is flagged as such, never for a silent answer.
        """
        overrides = dict(self._overrides)
        if party:
            for d in possible_holidays(year):
                overrides.setdefault(d, False)
        return WorkCalendar(overrides, self._entered | {year})

    def knows(self, year: int) -> bool:
        """True if every day of ``year`` can be classified."""
        if year in self._entered:
            return True
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
            return True
        except NotImplementedError:
            return False

    def is_workday(self, d: DateLike) -> bool:
        d = as_date(d)
        hit = self._overrides.get(d)
        if hit is not None:
            return hit
        if d.year in self._entered:
            return d.weekday() < 5
        return _library_is_workday(d)

    def next_workday(self, d: DateLike) -> date:
        """``d`` itself if it is a working day, else the first working day after it."""
        d = as_date(d)
        while not self.is_workday(d):
            d += timedelta(days=1)
        return d

    def add_working_days(self, start: DateLike, n: int) -> date:
        """The n-th working day strictly after ``start`` (期间开始之日不计算在内).

        ``n == 0`` gives ``start`` if it is a working day, else the next working day:
        a "当场/当日" duty falling on a rest day is due on the next working day, and
        the result is always a working day and never later than ``n == 1``.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        d = as_date(start)
        if n == 0:
            return self.next_workday(d)
        while n:
            d += timedelta(days=1)
            if self.is_workday(d):
                n -= 1
        return d

    def add_days(self, start: DateLike, n: int, *, roll: bool = True) -> date:
        """``start`` + n calendar days; with ``roll`` a rest-day end moves to the next
        working day (民法典 art. 203, 民事诉讼法 art. 85, 环境行政处罚办法 art. 79)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        d = as_date(start) + timedelta(days=n)
        return self.next_workday(d) if roll else d

    def add_months(self, start: DateLike, n: int, *, roll: bool = True) -> date:
        """Same day-number n months later, clamped to the month's end (民法典 art. 202),
        then rolled forward like :meth:`add_days`."""
        if n < 0:
            raise ValueError("n must be >= 0")
        s = as_date(start)
        months = s.year * 12 + (s.month - 1) + n
        year, month = divmod(months, 12)
        month += 1
        next_first = date(year + (month == 12), month % 12 + 1, 1)
        d = date(year, month, min(s.day, (next_first - timedelta(days=1)).day))
        return self.next_workday(d) if roll else d

    def working_days_between(self, a: DateLike, b: DateLike) -> int:
        """Working days in (a, b] — so ``working_days_between(a, add_working_days(a, n)) == n``
        for n >= 1; negative when ``b`` is before ``a``."""
        a, b = as_date(a), as_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        count, d = 0, a
        while d < b:
            d += timedelta(days=1)
            count += self.is_workday(d)
        return count


def possible_holidays(year: int) -> set[date]:
    """Every day of ``year`` that a State Council arrangement could make a rest day (全国年节及
    纪念日放假办法, 2025 revision: 元旦 1, 春节 4 from 除夕, 清明 1, 劳动节 2, 端午 1, 中秋 1,
    国庆 3 days, bridged with weekends by 调休): each festival widened to the longest block
    arranged since 2008 and then some (春节 除夕−1 … 初八, 国庆 9-29 … 10-08)."""
    from lunardate import LunarDate  # lunar festivals: 春节, 端午, 中秋

    def lunar(month: int, day: int) -> date:
        return LunarDate(year, month, day).to_solar_date()

    def span(first: date, last: date) -> set[date]:
        return {first + timedelta(days=i) for i in range((last - first).days + 1)}

    new_year = lunar(1, 1)
    days = (span(date(year, 1, 1), date(year, 1, 3)) | span(date(year, 12, 29), date(year, 12, 31))
            | span(new_year - timedelta(days=2), new_year + timedelta(days=8))
            | span(date(year, 4, 2), date(year, 4, 7)) | span(date(year, 4, 29), date(year, 5, 5))
            | span(lunar(5, 5) - timedelta(days=2), lunar(5, 5) + timedelta(days=2))
            | span(lunar(8, 15) - timedelta(days=2), lunar(8, 15) + timedelta(days=2))
            | span(date(year, 9, 29), date(year, 10, 8)))
    return {d for d in days if d.year == year}


# --- the process-wide current calendar ------------------------------------------

_lock = threading.Lock()
_current = WorkCalendar()
_stamp: tuple[Any, ...] | None = None


def current() -> WorkCalendar:
    return _current


def install(calendar: WorkCalendar, stamp: tuple[Any, ...] | None = None) -> None:
    global _current, _stamp
    with _lock:
        _current, _stamp = calendar, stamp


def _read_stamp(session: Session) -> tuple[Any, ...]:
    row = session.execute(select(
        select(func.max(CalendarYear.entered_at)).scalar_subquery(),
        select(func.count()).select_from(CalendarYear).scalar_subquery(),
        select(func.count()).select_from(CalendarDay).scalar_subquery(),
        select(Sequence.value).where(Sequence.name == REVISION_NAME, Sequence.year == 0)
        .scalar_subquery(),
    )).one()
    return tuple(row)


def load(session: Session) -> WorkCalendar:
    """Read the admin tables and make them the current calendar (startup, after edits)."""
    global _current, _stamp
    with _lock:
        stamp = _read_stamp(session)
        overrides = {d: w for d, w in session.execute(select(CalendarDay.day, CalendarDay.is_workday))}
        years = session.scalars(select(CalendarYear.year)).all()
        _current, _stamp = WorkCalendar(overrides, years), stamp
        return _current


def refresh(session: Session) -> WorkCalendar:
    """Reload only if the admin tables changed since the last load (one cheap query)."""
    if _stamp is None or _read_stamp(session) != _stamp:
        return load(session)
    return _current


def is_workday(d: DateLike) -> bool:
    return _current.is_workday(d)


def is_workday_provisional(d: DateLike) -> bool:
    """``is_workday``, counting a year nobody has entered yet Monday–Friday (form checks)."""
    try:
        return _current.is_workday(d)
    except CalendarUnknown as e:
        return _current.assuming(e.year).is_workday(d)


def next_workday(d: DateLike) -> date:
    return _current.next_workday(d)


def add_working_days(start: DateLike, n: int) -> date:
    return _current.add_working_days(start, n)


def add_days(start: DateLike, n: int, *, roll: bool = True) -> date:
    return _current.add_days(start, n, roll=roll)


def add_months(start: DateLike, n: int, *, roll: bool = True) -> date:
    return _current.add_months(start, n, roll=roll)


def working_days_between(a: DateLike, b: DateLike) -> int:
    return _current.working_days_between(a, b)


# --- administration -------------------------------------------------------------

@dataclass(frozen=True)
class DayEntry:
    day: date
    is_workday: bool
    note: str


def _username(user: Any) -> str | None:
    return getattr(user, "username", user)


def _bump_revision(session: Session) -> None:
    increment(session, REVISION_NAME, 0)


def set_year(session: Session, year: int, holidays: Iterable[tuple[DateLike, DateLike, str]],
             workdays: Iterable[DateLike], user: Any) -> None:
    """Enter a whole year from the State Council notice (国务院办公厅关于…部分节假日安排的通知).

    ``holidays`` are inclusive (first, last, name) ranges of rest days (weekends inside
    a block included); ``workdays`` are the 调休 weekend days worked. Every other day
    of the year then follows Mon–Fri. Replaces a previous entry of the same year. Days
    up to a month outside the year are accepted (元旦 blocks may start in December).
    Call :func:`load` (or :func:`refresh`) after the transaction commits.
    """
    rows: dict[date, CalendarDay] = {}
    lo, hi = date(year - 1, 12, 1), date(year + 1, 1, 31)

    def put(d: date, workday: bool, note: str) -> None:
        if not lo <= d <= hi:
            raise ValueError(f"{d} 不属于{year}年的节假日安排")
        if d in rows and rows[d].is_workday != workday:
            raise ValueError(f"{d} 同时被录入为节假日和调休工作日")
        rows[d] = CalendarDay(day=d, is_workday=workday, note=note[:100])

    for first, last, name in holidays:
        d, last_d = as_date(first), as_date(last)
        if last_d < d:
            raise ValueError(f"节假日“{name}”的结束日期早于开始日期")
        while d <= last_d:
            put(d, False, name)
            d += timedelta(days=1)
    for w in workdays:
        put(as_date(w), True, "调休上班")

    session.execute(delete(CalendarDay).where(or_(
        CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)),
        CalendarDay.day.in_(list(rows)),
    )))
    session.add_all(rows.values())
    entry = session.get(CalendarYear, year)
    if entry is None:
        session.add(CalendarYear(year=year, entered_by=_username(user), entered_at=utcnow()))
    else:
        entry.entered_by, entry.entered_at = _username(user), utcnow()
    _bump_revision(session)
    session.flush()


def entered(session: Session, first_day: date, user: Any = None) -> list[dict[str, str]]:
    """After entering or correcting days from ``first_day`` on: make the new calendar current in
    this transaction and recompute the open deadlines it moves (handlers and audit are told)."""
    from engine.execution import deadlines  # late: the engine's runtime is heavy to import
    load(session)
    since = datetime.combine(first_day, datetime.min.time(), TZ)
    return deadlines.recompute(session, since, user if hasattr(user, "username") else None)


def set_day(session: Session, day: DateLike, is_workday: bool | None, note: str, user: Any) -> None:
    """Override (or with ``is_workday=None`` remove the override of) one day, e.g. to
    correct the library. Call :func:`load` after the transaction commits."""
    d = as_date(day)
    session.execute(delete(CalendarDay).where(CalendarDay.day == d))
    if is_workday is not None:
        session.add(CalendarDay(day=d, is_workday=is_workday, note=note[:100]))
    _bump_revision(session)
    session.flush()


def days_of(session: Session, year: int) -> list[DayEntry]:
    """The override rows of ``year``, by date (what an administrator entered)."""
    q = (select(CalendarDay).where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
         .order_by(CalendarDay.day))
    return [DayEntry(r.day, r.is_workday, r.note) for r in session.scalars(q)]


def library_days(year: int) -> list[DayEntry]:
    """What chinesecalendar says for ``year`` (holidays and 调休 workdays), to prefill
    the admin form; empty if the library does not know the year."""
    c = chinese_calendar.constants
    zh = {h.value: getattr(h, "chinese", h.value) for h in c.Holiday}
    out = [DayEntry(d, False, zh.get(n, n)) for d, n in c.holidays.items() if d.year == year]
    out += [DayEntry(d, True, f"调休上班（{zh.get(n, n)}）") for d, n in c.workdays.items() if d.year == year]
    return sorted(out, key=lambda e: e.day)
