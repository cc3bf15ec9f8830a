"""Manager dashboards (流程监控): every number a manager sees, read from the projections.

All queries read ``process_instances``, ``human_tasks``, ``task_candidates``, ``case_departments``
and the statistics (``step_statistics``, ``activity_statistics``, ``case_counts``, ``review_counts``)
only — never the workflow state — and each is served by an index (migrations ``0003_dashboard``,
``17_statistics``, ``18_dashboards``, ``19_throughput``): what grows with the cases is pre-aggregated,
and what depends on the clock (overdue, due soon) is counted from an index alone. Times are stored
in UTC and bucketed by the bureau's day (Asia/Shanghai). "Overdue" means a ready, not suspended task
whose due time has passed; "due soon" means not yet overdue and due on or before the 3rd working day
after today (workdays/calendar.py). Days overdue are counted in working days.

Every function takes ``now`` so that a test can pin the clock; views pass nothing.
"""
from __future__ import annotations

import csv
import io
import math
import weakref
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator, Mapping

from sqlalchemy import Date, DateTime, String, and_, case, cast, distinct, func, literal, select, type_coerce
from sqlalchemy.orm import Session

from engine.access.identity import require_viewer
from engine.inbox import statistics
from engine.store.models import (ActivityStatistic, CaseCount, CaseDepartment, Department, Group, HumanTask,
                                 ProcessDefinition, ProcessInstance, Resource, StatusCount, StepStatistic, TaskCandidate,
                                 User, utcnow)
from disclosure import publications
from monitoring.reviews import ReviewCount
from paperwork.issuing import DECISION
from paperwork.models import CaseDocument
from recording import evidence
from workdays import calendar
from workdays.calendar import TZ, CalendarUnknown

SOON_WORKING_DAYS = 3
PAGE_SIZE = 50
STATUS_LABELS = {"running": "办理中", "suspended": "已挂起", "completed": "已办结", "terminated": "已终止"}
RETURNED = ("reinvestigate", "revise")


class FilterInvalid(ValueError):
    """A filter value a person typed that cannot be understood (the page says which)."""


class DefinitionNotFound(LookupError):
    def __init__(self, definition_id: Any):
        super().__init__(f"流程版本 {definition_id} 不存在")


# --- time --------------------------------------------------------------------------

def _utc(now: datetime | None) -> datetime:
    return (now or utcnow()).astimezone(timezone.utc)


def day_start(d: date) -> datetime:
    """00:00 of ``d`` in Beijing time, as UTC."""
    return datetime.combine(d, time(0), TZ).astimezone(timezone.utc)


def local_date(value: datetime) -> date:
    return value.astimezone(TZ).date()


@dataclass(frozen=True)
class Horizon:
    """What "overdue" and "due soon" mean at ``now``."""
    now: datetime
    today: date
    soon_until: date        # last day counted as "due soon"
    soon_limit: datetime    # UTC: tasks due before this are overdue or due soon
    warning: str | None = None


def _weekday_add(start: date, n: int) -> date:
    d = start
    while n:
        d += timedelta(days=1)
        n -= d.weekday() < 5
    return d


def horizon(now: datetime | None = None) -> Horizon:
    now = _utc(now)
    today = local_date(now)
    warning = None
    try:
        until = calendar.add_working_days(today, SOON_WORKING_DAYS)
    except CalendarUnknown as e:
        until, warning = _weekday_add(today, SOON_WORKING_DAYS), f"{e}（“即将到期”暂按周一至周五估算）"
    return Horizon(now, today, until, day_start(until + timedelta(days=1)), warning)


_workdays: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _is_workday(d: date) -> bool:
    """calendar.is_workday, remembered per installed calendar (chinesecalendar's check costs ~50 µs
    a call, and a board counts hundreds of days per task); Mon–Fri for a year nobody entered."""
    current = calendar.current()
    known = _workdays.setdefault(current, {})
    hit = known.get(d)
    if hit is None:
        try:
            hit = current.is_workday(d)
        except CalendarUnknown:
            hit = d.weekday() < 5
        known[d] = hit
    return hit


def working_days_overdue(due_at: datetime, today: date) -> int:
    """Working days after the due day up to and including today (0: due today or on a rest day);
    negative (the working days left) when the due day is after today."""
    due = local_date(due_at)
    first, last, sign = (due, today, 1) if due <= today else (today, due, -1)
    return sign * sum(_is_workday(first + timedelta(days=i)) for i in range(1, (last - first).days + 1))


def working_days_left(due_at: datetime, today: date) -> int:
    """Working days from today up to and including the due day."""
    return -working_days_overdue(due_at, today)


# --- overview (流程监控) ------------------------------------------------------------

@dataclass
class VersionRow:
    definition_id: int
    key: str
    name: str
    version: int
    running: int = 0
    suspended: int = 0
    completed: int = 0
    terminated: int = 0
    overdue: int = 0
    due_soon: int = 0

    @property
    def total(self) -> int:
        return self.running + self.suspended + self.completed + self.terminated


@dataclass
class Overview:
    rows: list[VersionRow]
    horizon: Horizon
    late_uploads: int = 0  # recordings uploaded more than 24 hours late (执法全过程记录)
    publications: dict[str, int] = field(default_factory=dict)  # 执法公示: pending, overdue, published late

    def totals(self) -> VersionRow:
        t = VersionRow(0, "", "合计", 0)
        for r in self.rows:
            for k in ("running", "suspended", "completed", "terminated", "overdue", "due_soon"):
                setattr(t, k, getattr(t, k) + getattr(r, k))
        return t


def _deadline_counts(h: Horizon, due=HumanTask.due_at):
    return (func.coalesce(func.sum(case((due < h.now, 1), else_=0)), 0),
            func.coalesce(func.sum(case((due >= h.now, 1), else_=0)), 0))


def _open_deadline_clause(h: Horizon):
    """Ready, not suspended tasks that are overdue or due soon."""
    return and_(HumanTask.state == "ready", HumanTask.suspended.is_(False), HumanTask.due_at < h.soon_limit)


def overview(session: Session, user: User, now: datetime | None = None) -> Overview:
    """Per process and version: cases by status, tasks overdue and due within 3 working days."""
    require_viewer(session, user)
    h = horizon(now)
    rows = {d.id: VersionRow(d.id, d.key, d.name, d.version) for d in session.execute(
        select(ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.name, ProcessDefinition.version)
        .order_by(ProcessDefinition.key, ProcessDefinition.version.desc()))}
    for definition_id, status, n in session.execute(
            select(StatusCount.definition_id, StatusCount.status, StatusCount.count)):  # engine/execution/status_counts.py
        if definition_id in rows and status in STATUS_LABELS:
            setattr(rows[definition_id], status, n)
    overdue, soon = _deadline_counts(h)
    for definition_id, o, s in session.execute(
            select(ProcessInstance.definition_id, overdue, soon).select_from(HumanTask)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(_open_deadline_clause(h)).group_by(ProcessInstance.definition_id)):
        if definition_id in rows:
            rows[definition_id].overdue, rows[definition_id].due_soon = int(o), int(s)
    return Overview(list(rows.values()), h, evidence.late_count(session),
                    publications.counts(session, calendar.as_date(now or utcnow())))


# --- one process version: diagram badges and heatmap ----------------------------------

@dataclass
class ActivityStat:
    element_id: str
    name: str
    waiting: int = 0          # instances with a ready task here
    completed: int = 0        # completed tasks of completed instances
    mean_seconds: float | None = None
    heat: int = 0             # 1..5, relative to the slowest activity; 0 = no data
    in_diagram: bool = True


@dataclass
class ProcessView:
    definition: ProcessDefinition
    xml: str
    activities: list[ActivityStat]
    versions: list[tuple[int, int]]   # (definition id, version) of the same process

    def badges(self) -> dict[str, int]:
        return {a.element_id: a.waiting for a in self.activities if a.waiting}

    def heat(self) -> dict[str, dict[str, Any]]:
        return {a.element_id: {"level": a.heat, "mean_seconds": a.mean_seconds, "n": a.completed}
                for a in self.activities if a.mean_seconds is not None}


def _diagram_ids(xml: str) -> set[str]:
    from engine.spec.xmlsafe import parse
    tree, problems = parse(xml.encode("utf-8"), "diagram")
    if tree is None:
        return set()
    return {el.get("id") for el in tree.getroot().iter() if isinstance(el.tag, str) and el.get("id")}


def process_view(session: Session, user: User, definition_id: int) -> ProcessView:
    """The diagram of one version, with instances waiting per activity and mean time per activity."""
    require_viewer(session, user)
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise DefinitionNotFound(definition_id)
    xml = session.scalar(select(Resource.content).where(Resource.id == definition.resource_id)) or ""
    ids = _diagram_ids(xml)

    # The open cases of this process version; a called process (not started by hand, e.g. 法制审核)
    # runs inside the cases that call it: its steps, by their ids, in any case.
    cases = select(ProcessInstance.id).where(ProcessInstance.status.in_(("running", "suspended")))
    if definition.in_tasklist:
        scope = HumanTask.instance_id.in_(cases.where(ProcessInstance.definition_id == definition_id))
    else:
        scope = and_(HumanTask.element_id.in_(ids), HumanTask.instance_id.in_(cases))

    stats: dict[str, ActivityStat] = {}
    for element_id, name, waiting in session.execute(
            select(HumanTask.element_id, func.max(HumanTask.name), func.count(distinct(HumanTask.instance_id)))
            .where(HumanTask.state == "ready", scope)
            .group_by(HumanTask.element_id)):
        stats[element_id] = ActivityStat(element_id, name, waiting=waiting)
    # completed cases: from the pre-aggregated step times (engine/execution/case_statistics.py)
    done = (ActivityStatistic.definition_id == definition_id if definition.in_tasklist
            else ActivityStatistic.element_id.in_(ids))
    for element_id, n, seconds in session.execute(
            select(ActivityStatistic.element_id, func.sum(ActivityStatistic.count), func.sum(ActivityStatistic.seconds))
            .where(done).group_by(ActivityStatistic.element_id)):
        if not n:
            continue
        stat = stats.get(element_id) or stats.setdefault(element_id, ActivityStat(
            element_id, _step_name(session, definition.key, element_id)))
        stat.completed, stat.mean_seconds = int(n), float(seconds) / int(n)
    means = [s.mean_seconds for s in stats.values() if s.mean_seconds is not None]
    for s in stats.values():  # 1 = the fastest activity, 5 = the slowest, linear in between
        if s.mean_seconds is not None:
            spread = max(means) - min(means)
            s.heat = 1 + round(4 * (s.mean_seconds - min(means)) / spread) if spread else 3
    for s in stats.values():
        s.in_diagram = s.element_id in ids
    versions = [(i, v) for i, v in session.execute(
        select(ProcessDefinition.id, ProcessDefinition.version).where(ProcessDefinition.key == definition.key)
        .order_by(ProcessDefinition.version.desc()))]
    activities = sorted(stats.values(), key=lambda s: (not s.in_diagram, -s.waiting, s.name))
    return ProcessView(definition, xml, activities, versions)


# --- instance list ---------------------------------------------------------------------

SORTS = {"started": ProcessInstance.started_at, "ended": ProcessInstance.ended_at,
         "business_key": ProcessInstance.business_key, "status": ProcessInstance.status,
         "process": ProcessInstance.process_key, "title": ProcessInstance.title}
SORT_LABELS = {"started": "发起时间", "ended": "结束时间", "business_key": "案件编号", "status": "状态",
               "process": "流程", "title": "当事人"}


@dataclass(frozen=True)
class InstanceFilter:
    process: str | None = None
    definition_id: int | None = None
    status: str | None = None
    department: str | None = None
    q: str | None = None
    started_from: date | None = None
    started_to: date | None = None
    step: str | None = None
    overdue: bool = False
    sort: str = "-started"

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> tuple[InstanceFilter, list[str]]:
        """The filter from query-string values; what cannot be understood is dropped and named."""
        errors: list[str] = []
        values: dict[str, Any] = {}

        def text(name: str, limit: int = 200) -> str | None:
            value = (args.get(name) or "").strip()
            if len(value) > limit:
                errors.append(f"“{name}”过长（最多 {limit} 个字符）")
                return None
            return value or None

        values["process"] = text("process")
        values["department"] = text("department")
        values["q"] = text("q")
        values["step"] = text("step")
        version = text("definition")
        if version:
            if version.isascii() and version.isdigit() and len(version) <= 9:
                values["definition_id"] = int(version)
            else:
                errors.append("流程版本无效")
        status = text("status")
        if status:
            if status in STATUS_LABELS:
                values["status"] = status
            else:
                errors.append("状态无效，请从列表中选择")
        for name, label in (("started_from", "发起日期（起）"), ("started_to", "发起日期（止）")):
            value = text(name, 10)
            if value:
                try:
                    values[name] = date.fromisoformat(value)
                except ValueError:
                    errors.append(f"{label}不是有效日期（格式：2026-03-01）")
        if values.get("started_from") and values.get("started_to") and values["started_from"] > values["started_to"]:
            errors.append("发起日期的起始日不能晚于截止日")
            values.pop("started_to")
        values["overdue"] = (args.get("overdue") or "") in ("1", "on", "true")
        sort = text("sort") or "-started"
        if sort.lstrip("-") in SORTS:
            values["sort"] = sort
        else:
            errors.append("排序方式无效")
        return cls(**values), errors

    def query_args(self, **changes: Any) -> dict[str, str]:
        """Query-string values reproducing this filter (for links, paging and the CSV)."""
        f = replace(self, **changes) if changes else self
        out = {"process": f.process, "definition": f.definition_id, "status": f.status,
               "department": f.department, "q": f.q, "started_from": f.started_from,
               "started_to": f.started_to, "step": f.step, "overdue": "1" if f.overdue else None,
               "sort": f.sort if f.sort != "-started" else None}
        return {k: str(v) for k, v in out.items() if v not in (None, "")}


def _filtered(f: InstanceFilter, now: datetime):
    conditions = []
    if f.process:
        conditions.append(ProcessInstance.process_key == f.process)
    if f.definition_id is not None:
        conditions.append(ProcessInstance.definition_id == f.definition_id)
    if f.status:
        conditions.append(ProcessInstance.status == f.status)
    if f.department:
        conditions.append(ProcessInstance.id.in_(
            select(CaseDepartment.instance_id).where(CaseDepartment.department_code == f.department)))
    if f.q:
        conditions.append(ProcessInstance.business_key.contains(f.q, autoescape=True)
                          | ProcessInstance.title.contains(f.q, autoescape=True))
    if f.started_from:
        conditions.append(ProcessInstance.started_at >= day_start(f.started_from))
    if f.started_to:
        conditions.append(ProcessInstance.started_at < day_start(f.started_to + timedelta(days=1)))
    if f.step:
        conditions.append(ProcessInstance.id.in_(
            select(HumanTask.instance_id).where(HumanTask.state == "ready", HumanTask.element_id == f.step)))
    if f.overdue:
        conditions.append(ProcessInstance.id.in_(
            select(HumanTask.instance_id).where(HumanTask.state == "ready", HumanTask.due_at < now,
                                                HumanTask.suspended.is_(False))))
    return conditions


def _ordered(stmt, f: InstanceFilter):
    column = SORTS[f.sort.lstrip("-")]
    desc = f.sort.startswith("-")
    return stmt.order_by(column.desc() if desc else column.asc(),
                         ProcessInstance.id.desc() if desc else ProcessInstance.id.asc())


@dataclass
class InstanceRow:
    id: int
    business_key: str
    title: str
    process_key: str
    process_name: str
    version: int
    status: str
    department: str
    started_at: datetime
    ended_at: datetime | None
    steps: list[str] = field(default_factory=list)
    overdue: bool = False
    decision_no: str = ""  # 行政处罚决定书文号 once issued

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


@dataclass
class InstancePage:
    filter: InstanceFilter
    rows: list[InstanceRow]
    total: int
    page: int
    pages: int
    errors: list[str]
    choices: dict[str, list[tuple[str, str]]]


def _row_query(conditions):
    return (select(ProcessInstance.id, ProcessInstance.business_key, ProcessInstance.title,
                   ProcessInstance.process_key, ProcessDefinition.name, ProcessDefinition.version,
                   ProcessInstance.status, ProcessInstance.department_code, ProcessInstance.started_at,
                   ProcessInstance.ended_at)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id).where(*conditions))


def _department_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Department.code, Department.name)).all())


def _fill(session: Session, raw, departments: dict[str, str], now: datetime) -> list[InstanceRow]:
    rows = [InstanceRow(r[0], r[1], r[2] or "", r[3], r[4], r[5], r[6], departments.get(r[7], r[7] or ""), r[8], r[9])
            for r in raw]
    by_id = {r.id: r for r in rows}
    if by_id:
        for instance_id, name, due_at, suspended in session.execute(
                select(HumanTask.instance_id, HumanTask.name, HumanTask.due_at, HumanTask.suspended)
                .where(HumanTask.instance_id.in_(by_id), HumanTask.state == "ready")
                .order_by(HumanTask.instance_id, HumanTask.created_at, HumanTask.id)):
            row = by_id[instance_id]
            if name not in row.steps:
                row.steps.append(name)
            if due_at is not None and due_at < now and not suspended:
                row.overdue = True
        for instance_id, number in session.execute(
                select(CaseDocument.instance_id, CaseDocument.number)
                .where(CaseDocument.instance_id.in_(by_id), CaseDocument.key == DECISION,
                       CaseDocument.number.is_not(None))):
            by_id[instance_id].decision_no = number
    return rows


def open_steps(session: Session) -> list[tuple[str, str]]:
    """(element id, name) of every step with a ready task, one index probe per step (a loose
    index scan of ``ix_tasks_state_element``), however many tasks are open."""
    ready = HumanTask.state == "ready"
    seen = select(cast(literal(""), String()).label("element_id")).cte("steps", recursive=True)
    following = select(func.min(HumanTask.element_id)).where(ready, HumanTask.element_id > seen.c.element_id)
    steps = seen.union_all(select(following.scalar_subquery()).where(seen.c.element_id.is_not(None)))
    name = select(HumanTask.name).where(ready, HumanTask.element_id == steps.c.element_id).limit(1)
    return [(e, n) for e, n in session.execute(
        select(steps.c.element_id, name.scalar_subquery()).where(steps.c.element_id > ""))]


def process_choices(session: Session) -> list[tuple[str, str]]:
    """(key, name) of every deployed process, for the process drop-down."""
    return [(k, n) for k, n in session.execute(
        select(ProcessDefinition.key, func.max(ProcessDefinition.name)).group_by(ProcessDefinition.key)
        .order_by(ProcessDefinition.key))]


def filter_choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Values for the filter drop-downs: processes, versions, departments, steps."""
    processes = process_choices(session)
    versions = [(str(i), f"{n} 第 {v} 版") for i, n, v in session.execute(
        select(ProcessDefinition.id, ProcessDefinition.name, ProcessDefinition.version)
        .order_by(ProcessDefinition.key, ProcessDefinition.version.desc()))]
    departments = [(c, n) for c, n in session.execute(select(Department.code, Department.name).order_by(Department.code))]
    steps = sorted(open_steps(session), key=lambda s: (s[1], s[0]))
    return {"process": processes, "definition": versions, "department": departments, "step": steps,
            "status": list(STATUS_LABELS.items()), "sort": list(SORT_LABELS.items())}


def instance_list(session: Session, user: User, f: InstanceFilter, page: int = 1, *, errors: list[str] | None = None,
                  per_page: int = PAGE_SIZE, now: datetime | None = None) -> InstancePage:
    """One page of the filtered, sorted instance list."""
    require_viewer(session, user)
    now = _utc(now)
    conditions = _filtered(f, now)
    total = session.scalar(select(func.count()).select_from(ProcessInstance).where(*conditions)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    raw = session.execute(_ordered(_row_query(conditions), f).limit(per_page).offset((page - 1) * per_page))
    rows = _fill(session, raw.all(), _department_names(session), now)
    return InstancePage(f, rows, total, page, pages, errors or [], filter_choices(session))


CSV_HEADERS = ["案件编号", "流程", "版本", "当事人/案件名称", "状态", "当前环节", "是否超期", "承办部门", "发起时间", "结束时间",
               "决定书文号"]


def _cell(value: str) -> str:
    """Text as Excel/WPS should show it: never a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _time(value: datetime | None) -> str:
    return value.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def instances_csv(session: Session, user: User, f: InstanceFilter, *, now: datetime | None = None,
                  chunk: int = 1000) -> Iterator[str]:
    """The whole filtered list as CSV text chunks (UTF-8 BOM first, Chinese headers).

    The permission is checked now; the rows are read lazily, ``chunk`` at a time, so a
    100,000-row export streams in constant memory.
    """
    require_viewer(session, user)
    now = _utc(now)
    stmt = _ordered(_row_query(_filtered(f, now)), f)
    departments = _department_names(session)

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_HEADERS)
        yield "\ufeff" + buffer.getvalue()
        result = session.execute(stmt.execution_options(yield_per=chunk))
        for part in result.partitions(chunk):
            buffer.seek(0)
            buffer.truncate()
            for r in _fill(session, part, departments, now):
                # every text cell: a process or department name comes from a model or an import too
                writer.writerow([_cell(r.business_key), _cell(r.process_name), r.version, _cell(r.title),
                                 r.status_label, _cell("、".join(r.steps)), "是" if r.overdue else "否",
                                 _cell(r.department or ""), _time(r.started_at), _time(r.ended_at),
                                 _cell(r.decision_no)])
            yield buffer.getvalue()
    return lines()


# --- overdue board (超期督办) ---------------------------------------------------------------

@dataclass
class PostCount:
    code: str | None
    name: str
    overdue: int = 0
    due_soon: int = 0


@dataclass
class DepartmentCount:
    code: str | None
    name: str
    overdue: int = 0
    due_soon: int = 0
    posts: list[PostCount] = field(default_factory=list)


@dataclass
class DeadlineTask:
    id: str
    instance_id: int
    business_key: str
    title: str
    process_key: str
    name: str
    posts: str
    assignee: str | None
    due_at: datetime
    overdue: bool
    working_days: int   # overdue: working days past the due day; due soon: working days left


@dataclass
class Board:
    horizon: Horizon
    departments: list[DepartmentCount]
    tasks: list[DeadlineTask]
    total: int
    page: int
    pages: int
    department: str | None
    post: str | None
    kind: str


NO_POST = "（未指定岗位）"


def _board_scope(department: str | None, post: str | None):
    """The tasks of the chosen department, or of no post (``post == "-"``); a single post pages by its index range."""
    if post == "-":
        return ~select(TaskCandidate.task_id).where(TaskCandidate.task_id == HumanTask.id,
                                                    TaskCandidate.kind == "group").exists()
    if department:
        return HumanTask.id.in_(select(TaskCandidate.task_id).join(Group, Group.code == TaskCandidate.value)
                                .where(TaskCandidate.kind == "group", Group.department_code == department))
    return literal(True)


def overdue_board(session: Session, user: User, *, department: str | None = None, post: str | None = None,
                  kind: str = "all", page: int = 1, per_page: int = PAGE_SIZE,
                  now: datetime | None = None) -> Board:
    """Tasks overdue or due within 3 working days, counted per department and post
    (a task offered to several posts counts under each; a department counts it once),
    and the tasks of the chosen department/post, most overdue first."""
    require_viewer(session, user)
    h = horizon(now)
    if kind not in ("all", "overdue", "soon"):
        kind = "all"
    groups = {c: (n, d) for c, n, d in session.execute(select(Group.code, Group.name, Group.department_code))}
    departments = _department_names(session)
    # counted from the candidate rows (one per ready task and post, with its due time and suspension),
    # each a range of ix_candidates_deadline: no task row is read
    posted = and_(TaskCandidate.kind == "group", TaskCandidate.suspended.is_(False), TaskCandidate.due_key < h.soon_limit)
    tasks_by = (func.count(distinct(case((TaskCandidate.due_key < h.now, TaskCandidate.task_id)))),
                func.count(distinct(case((TaskCandidate.due_key >= h.now, TaskCandidate.task_id)))))
    by_post = session.execute(select(TaskCandidate.value, *_deadline_counts(h, TaskCandidate.due_key))
                              .where(posted).group_by(TaskCandidate.value)).all()
    by_department = session.execute(select(Group.department_code, *tasks_by).join(Group, Group.code == TaskCandidate.value)
                                    .where(posted).group_by(Group.department_code)).all()
    every = session.execute(select(*_deadline_counts(h)).where(_open_deadline_clause(h))).one()
    with_post = session.execute(select(*tasks_by).where(posted)).one()
    unposted = (int(every[0]) - with_post[0], int(every[1]) - with_post[1])
    if any(unposted):
        by_post.append((None, *unposted))
    result: dict[str | None, DepartmentCount] = {}
    for code, o, s in by_department:
        result[code] = DepartmentCount(code, departments.get(code, code), int(o), int(s))
    for code, o, s in by_post:
        if code is None or code not in groups:
            dept = result.setdefault(None, DepartmentCount(None, NO_POST))
            if code is None:
                dept.overdue += int(o)
                dept.due_soon += int(s)
            dept.posts.append(PostCount(code, code or NO_POST, int(o), int(s)))
            continue
        name, dept_code = groups[code]
        result.setdefault(dept_code, DepartmentCount(dept_code, departments.get(dept_code, dept_code))) \
            .posts.append(PostCount(code, name, int(o), int(s)))
    for d in result.values():
        d.posts.sort(key=lambda p: (-p.overdue, -p.due_soon, p.name))
    ordered = sorted(result.values(), key=lambda d: (d.code is None, -d.overdue, -d.due_soon, d.name))

    if post:  # the chosen scope's total is one of the counts above
        shown = unposted if post == "-" else next(((o, s) for c, o, s in by_post if c == post), (0, 0))
    else:
        shown = next(((o, s) for c, o, s in by_department if c == department), (0, 0)) if department else every
    total = {"all": int(shown[0]) + int(shown[1]), "overdue": int(shown[0]), "soon": int(shown[1])}[kind]
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    if post and post != "-":  # one post: its page read from ix_candidates_deadline in due order
        due = {"overdue": [TaskCandidate.due_key < h.now], "soon": [TaskCandidate.due_key >= h.now]}.get(kind, [])
        shown_rows = select(HumanTask).where(HumanTask.id.in_(
            select(TaskCandidate.task_id).where(posted, TaskCandidate.value == post, *due)
            .order_by(TaskCandidate.due_key, TaskCandidate.task_id).limit(per_page).offset((page - 1) * per_page)))
    else:
        conditions = [_open_deadline_clause(h), _board_scope(department, post)]
        if kind == "overdue":
            conditions.append(HumanTask.due_at < h.now)
        elif kind == "soon":
            conditions.append(HumanTask.due_at >= h.now)
        shown_rows = select(HumanTask).where(*conditions).limit(per_page).offset((page - 1) * per_page)
    raw = session.execute(shown_rows.order_by(HumanTask.due_at, HumanTask.id)).scalars().all()
    names = dict(session.execute(select(User.username, User.full_name).where(
        User.username.in_({t.assignee for t in raw if t.assignee}))).all()) if raw else {}
    tasks = []
    days: dict[tuple[date, bool], int] = {}
    for t in raw:
        is_overdue = t.due_at < h.now
        key = (local_date(t.due_at), is_overdue)
        if key not in days:
            days[key] = working_days_overdue(t.due_at, h.today) if is_overdue else working_days_left(t.due_at, h.today)
        tasks.append(DeadlineTask(
            t.id, t.instance_id, t.business_key, t.title, t.process_key, t.name,
            "、".join(groups.get(g, (g,))[0] for g in t.candidate_groups.split(",") if g) or NO_POST,
            names.get(t.assignee, t.assignee) if t.assignee else None, t.due_at, is_overdue,
            days[key]))
    return Board(h, ordered, tasks, total, page, pages, department, post, kind)


# --- throughput (办理效率) ---------------------------------------------------------------------

@dataclass
class Period:
    label: str
    start: date
    started: dict[str, int] = field(default_factory=dict)    # process key -> cases started
    finished: dict[str, int] = field(default_factory=dict)   # process key -> cases completed


@dataclass
class StepStat:
    process_key: str
    element_id: str
    name: str
    count: int
    mean_seconds: float
    p90_seconds: float


@dataclass
class ReviewMonth:
    label: str
    approved: int = 0
    reinvestigate: int = 0
    revise: int = 0

    @property
    def returned(self) -> int:
        return self.reinvestigate + self.revise

    @property
    def total(self) -> int:
        return self.approved + self.returned


@dataclass
class Throughput:
    since: date
    until: date
    process: str | None
    processes: list[tuple[str, str]]    # (key, name) shown
    weeks: list[Period]
    months: list[Period]
    steps: list[StepStat]
    reviews: list[ReviewMonth]

    def chart_data(self) -> dict[str, Any]:
        """What the charts draw (the same numbers as the tables beside them)."""
        def periods(items: list[Period]) -> dict[str, Any]:
            return {"labels": [p.label for p in items],
                    "started": {k: [p.started.get(k, 0) for p in items] for k, _ in self.processes},
                    "finished": {k: [p.finished.get(k, 0) for p in items] for k, _ in self.processes}}
        names = dict(self.processes)
        return {"processes": self.processes, "months": periods(self.months), "weeks": periods(self.weeks),
                "steps": [{"label": f"{names.get(s.process_key, s.process_key)}·{s.name}",
                           "mean_days": round(s.mean_seconds / 86400, 2), "p90_days": round(s.p90_seconds / 86400, 2)}
                          for s in self.steps[:25]],
                "reviews": {"labels": [m.label for m in self.reviews], "approved": [m.approved for m in self.reviews],
                            "reinvestigate": [m.reinvestigate for m in self.reviews],
                            "revise": [m.revise for m in self.reviews]}}

    @property
    def percentile_error_percent(self) -> float:
        return round(100 * statistics.PERCENTILE_ERROR, 1)

    def review_totals(self) -> ReviewMonth:
        t = ReviewMonth("合计")
        for m in self.reviews:
            t.approved, t.reinvestigate, t.revise = (t.approved + m.approved, t.reinvestigate + m.reinvestigate,
                                                     t.revise + m.revise)
        return t


def default_range(now: datetime | None = None) -> tuple[date, date]:
    """The last twelve months, from the first day of the month eleven months ago."""
    today = local_date(_utc(now))
    months = today.year * 12 + today.month - 1 - 11
    return date(months // 12, months % 12 + 1, 1), today


def week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def month_label(d: date) -> str:
    return f"{d.year}-{d.month:02d}"


def _periods(since: date, until: date) -> tuple[list[Period], list[Period]]:
    weeks, d = [], week_start(since)
    while d <= until:
        weeks.append(Period(f"{d.isoformat()} 周", d))
        d += timedelta(days=7)
    months, d = [], date(since.year, since.month, 1)
    while d <= until:
        months.append(Period(month_label(d), d))
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return weeks, months


def _week_and_month(session: Session, day) -> tuple:
    """The Monday on or before a date column, and its month as YYYY-MM, in SQL."""
    if session.get_bind().dialect.name == "sqlite":
        return type_coerce(func.date(day, "-6 days", "weekday 1"), Date), func.strftime("%Y-%m", day)
    return cast(func.date_trunc("week", cast(day, DateTime)), Date), func.to_char(day, "YYYY-MM")


def _step_name(session: Session, process_key: str, element_id: str) -> str:
    """The name of a step that completed a task (one index probe)."""
    return session.scalar(select(HumanTask.name).where(
        HumanTask.state == "completed", HumanTask.element_id == element_id, HumanTask.process_key == process_key)
        .limit(1)) or element_id


def throughput(session: Session, user: User, since: date | None = None, until: date | None = None,
               process: str | None = None, now: datetime | None = None) -> Throughput:
    """Cases started and completed per week and month per process, time per step (count and mean
    exact, 90th percentile to within ``statistics.PERCENTILE_ERROR``, over tasks completed in the
    whole months the range touches) and 法制审核 outcomes per month."""
    require_viewer(session, user)
    default_since, default_until = default_range(now)
    since, until = since or default_since, until or default_until
    if since > until:
        raise FilterInvalid("起始日期不能晚于截止日期")
    if (until - since).days > 3 * 366:
        raise FilterInvalid("统计区间最长三年")
    weeks, months = _periods(since, until)
    week_of = {w.start: w for w in weeks}
    month_of = {m.label: m for m in months}
    names = dict(process_choices(session))
    keys: set[str] = set()
    # from the pre-aggregated counts per day and process (whatever the number of cases), summed per week and month
    in_range = [CaseCount.day >= since, CaseCount.day <= until] + ([CaseCount.process_key == process] if process else [])
    week, month = _week_and_month(session, CaseCount.day)
    for period, bucket_of in ((week, week_of), (month, month_of)):
        for key, value, started, completed in session.execute(
                select(CaseCount.process_key, period, func.sum(CaseCount.started), func.sum(CaseCount.completed))
                .where(*in_range).group_by(CaseCount.process_key, period)):
            keys.add(key)
            bucket = bucket_of[value]
            for counts, n in ((bucket.started, started), (bucket.finished, completed)):
                if n:
                    counts[key] = int(n)

    # whole months from the pre-aggregated statistics: a row per step and month, whatever the number of tasks
    stmt = (select(StepStatistic.process_key, StepStatistic.element_id, StepStatistic.name, StepStatistic.count,
                   StepStatistic.seconds, StepStatistic.buckets)
            .where(StepStatistic.month >= month_label(since), StepStatistic.month <= month_label(until))
            .order_by(StepStatistic.month))
    if process:
        stmt = stmt.where(StepStatistic.process_key == process)
    by_step: dict[tuple[str, str], list] = {}
    for key, element_id, name, n, total, buckets in session.execute(stmt):
        step = by_step.setdefault((key, element_id), [name, 0, 0.0, []])
        step[0] = name  # in month order: the name the step has last had
        step[1] += n
        step[2] += total
        step[3].append(buckets)
    steps = [StepStat(k, e, name, n, total / n, statistics.percentile(statistics.merged(histograms), 90))
             for (k, e), (name, n, total, histograms) in by_step.items()]
    steps.sort(key=lambda s: (s.process_key, -s.mean_seconds, s.element_id))

    _, month = _week_and_month(session, ReviewCount.day)
    stmt = (select(month, ReviewCount.outcome, func.sum(ReviewCount.count))
            .where(ReviewCount.day >= since, ReviewCount.day <= until).group_by(month, ReviewCount.outcome))
    if process:
        stmt = stmt.where(ReviewCount.process_key == process)
    reviews = {m.label: ReviewMonth(m.label) for m in months}
    for label, outcome, n in session.execute(stmt):
        setattr(reviews[label], outcome, int(n))
    shown = sorted(keys | ({process} if process else set()))
    return Throughput(since, until, process, [(k, names.get(k, k)) for k in shown], weeks, months, steps,
                      list(reviews.values()))

