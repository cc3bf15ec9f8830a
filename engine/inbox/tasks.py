"""The inbox: which human tasks a user sees, and claim, unclaim, delegate, complete.

Listing reads only the projection (``human_tasks`` + ``task_candidates``), one
indexed query per page; acting locks the case, re-reads the task under the lock and
only then touches the workflow, so two people can never complete one task twice.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from datetime import datetime, time, timedelta
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import Row, and_, bindparam, exists, func, literal, or_, select, true, tuple_, update
from sqlalchemy.orm import Session, undefer

from engine import hooks
from engine.access import identity
from engine.access.identity import NotPermitted, can_see_instance, full_name, group_codes, officer_problems
from engine.execution import projection, runtime
from engine.inbox import statistics
from engine.sandbox import scripting
from engine.spec import forms
from engine.store import combined, db, history, search_index
from engine.store.history import data_to_json
from engine.store.models import (NO_DUE, Attachment, CaseSearchGram, Comment, HumanTask, Membership, Notification,
                                 ProcessDefinition, ProcessInstance, Recusal, TaskCandidate, TaskExclusion, User, utcnow)


class TaskNotFound(LookupError):
    def __init__(self, task_id: str):
        super().__init__(f"任务 {task_id} 不存在")


class TaskAlreadyCompleted(Exception):
    """Someone (maybe the same person, in another tab) completed the task first."""

    def __init__(self, by: str | None, at: datetime | None, cancelled: bool = False, by_name: str | None = None):
        self.by, self.at = by, at
        if cancelled:
            super().__init__("该任务已不再需要办理（流程已转到其他环节）")
        else:
            when = at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if at else "此前"
            super().__init__(f"该任务已由 {by_name or by or '系统'} 于 {when} 办理")


class TaskClaimed(Exception):
    def __init__(self, by: str, by_name: str | None = None):
        self.by = by
        super().__init__(f"该任务已由 {by_name or by} 领取")


def _candidate_clause(user: User):
    """Offered to one of the user's posts or to them, and not barred from them (separation of duties, 回避)."""
    groups = group_codes(user)
    return exists().where(TaskCandidate.task_id == HumanTask.id, or_(
        (TaskCandidate.kind == "group") & TaskCandidate.value.in_(groups) if groups else False,
        (TaskCandidate.kind == "user") & (TaskCandidate.value == user.username))) & ~exists().where(
        TaskExclusion.task_id == HumanTask.id, TaskExclusion.username == user.username)


def visible_clause(user: User):
    """Tasks a user may open: assigned to them, or unassigned and offered to them."""
    return or_(HumanTask.assignee == user.username,
               HumanTask.assignee.is_(None) & _candidate_clause(user))


def inbox(session: Session, user: User) -> list[HumanTask]:
    """Every ready task the user may work on, soonest due first."""
    return list(session.scalars(select(HumanTask).where(
        HumanTask.state == "ready", HumanTask.suspended.is_(False), visible_clause(user))
        .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.priority.desc(), HumanTask.created_at)))


def ready_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "ready")
                                .order_by(HumanTask.created_at, HumanTask.id)))


def get(session: Session, task_id: str) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise TaskNotFound(task_id)
    return task


def may_act(session: Session, task: HumanTask, user: User) -> bool:
    """Assigned to the user, or unassigned and offered to one of their posts or to them.
    (The row carries its candidates; ``task_candidates`` is only for the inbox query.)"""
    if task.assignee is not None:
        return task.assignee == user.username
    groups = {g for g in task.candidate_groups.split(",") if g}
    return bool(groups & group_codes(user)) or user.username in task.candidate_users.split(",")


_EXCLUSIONS = "zhifa_exclusions"  # info of a read-only session: (task id, username) → exclusion, once read


def exclusion_of(session: Session, task: HumanTask, username: str) -> str | None:
    """Why ``username`` may not act on the task (查处分离, 回避), or None. A page asks several times
    (the task, its 文书, its 笔录): in a read-only session it is read once."""
    key = (task.id, username)
    known = session.info.get(_EXCLUSIONS, {})
    if key in known:
        return known[key]
    found = session.get(TaskExclusion, key)
    reason = found.reason if found else None
    _remember_exclusion(session, key, reason)
    return reason


def _remember_exclusion(session: Session, key: tuple[str, str], reason: str | None) -> None:
    if session.info.get(db.READ_ONLY):  # (a write transaction may change it)
        session.info.setdefault(_EXCLUSIONS, {})[key] = reason


_LOOK_UP = object()


def require_actor(session: Session, task: HumanTask, user: User, barred: str | None | object = _LOOK_UP) -> None:
    """``barred``: the user's exclusion from the task, if already read (``_locked_task`` reads it)."""
    if task.state != "ready":
        raise TaskAlreadyCompleted(task.completed_by, task.completed_at, cancelled=task.state == "cancelled",
                                   by_name=full_name(session, task.completed_by))
    if task.assignee is not None and task.assignee != user.username:
        raise TaskClaimed(task.assignee, full_name(session, task.assignee))
    if not may_act(session, task, user):
        raise NotPermitted("此任务不属于您的岗位")
    if barred is _LOOK_UP:
        barred = exclusion_of(session, task, user.username)
    if barred:
        raise NotPermitted(barred)


@dataclass
class TaskView:
    """What a task page needs: the row, its form, and the values to show."""
    task: HumanTask
    form: forms.Form
    values: dict[str, Any]
    documentation: str | None
    extensions: dict[str, Any]
    return_path: ReturnPath | None = None
    colleagues: list[Row] | None = None
    files: dict[str, list[Attachment]] | None = None  # field id → attachments uploaded on this task
    comments: list[Comment] | None = None
    officers: dict[str, list[User]] | None = None  # officers field id → who may be chosen today
    people: dict[int, str] | None = None  # user id → name and 执法证 number, for chosen officers
    drafted: bool = False  # the values shown are the holder's 暂存

    @property
    def actionable(self) -> bool:
        return self.task.state == "ready"


def view(session: Session, task_id: str, user: User) -> TaskView:
    """A task as its handler sees it (ready), or as anyone who may see the case sees it (done)."""
    found = session.execute(_view_statement(), {"task_id": task_id, "username": user.username}).one_or_none()
    if found is None:
        raise TaskNotFound(task_id)
    task, instance, barred = found
    _remember_exclusion(session, (task.id, user.username), barred)
    if task.state == "ready":
        require_actor(session, task, user, barred)
    elif task.completed_by != user.username and not can_see_instance(session, user, instance):
        raise NotPermitted("此任务不属于您")
    action = runtime.load(session, instance, user)
    spiff = runtime.spiff_task(action, task.id) if task.state == "ready" else None
    spec = spiff.task_spec if spiff else spec_by_element(action.workflow, task.element_id)
    form = forms.form_of(spec) if spec else forms.Form([])
    data = spiff.data if spiff else json.loads(task.submitted or "{}")
    files: dict[str, list[Attachment]] = {}
    for a in session.scalars(select(Attachment).where(Attachment.task_id == task.id).order_by(Attachment.id)):
        files.setdefault(a.field_id or "", []).append(a)
    path = return_path(spec) if spiff else None
    values = forms.initial_values(form, data)
    if path is not None:  # the step decides afresh: never offer the choice that sent the case back last time
        for name in (path.field.id, path.reason_field):
            values.pop(name, None)
    drafted = bool(spiff and task.draft and task.assignee == user.username)
    if drafted:
        values.update(json.loads(task.draft))
    on = scripting.today()
    officer_fields = [f for f in form.fields if f.type == "officers"]
    chosen = {i for f in officer_fields for i in (values.get(f.id) or []) if isinstance(i, int)}
    options = {f.id: identity.certified(session, f.posts, on) for f in officer_fields} if spiff else {}
    people = {u.id: identity.certificate_label(u) for u in
              session.scalars(select(User).where(User.id.in_(chosen)))} if chosen else {}
    return TaskView(task, form, values, getattr(spec, "documentation", None),
                    dict(getattr(spec, "extensions", {}) or {}), return_path=path,
                    colleagues=colleagues(session, task, user) if spiff else [],
                    files=files, comments=[c for c in comments_of(session, instance.id) if c.task_id == task.id],
                    officers=options, people=people, drafted=drafted)


def spec_by_element(workflow, element_id: str):
    """The task spec of a BPMN element, in the process or in any process it calls."""
    for spec in [workflow.spec, *workflow.subprocess_specs.values()]:
        for ts in spec.task_specs.values():
            if getattr(ts, "bpmn_id", None) == element_id:
                return ts
    return None


def _barred():
    """The reason the user (``username``) is excluded from the task (查处分离, 回避), or NULL."""
    return select(TaskExclusion.reason).where(TaskExclusion.task_id == HumanTask.id,
                                              TaskExclusion.username == bindparam("username")).scalar_subquery()


@lru_cache(maxsize=None)
def _view_statement():
    """The task, its case and the user's exclusion from it, in one statement built once (every task page)."""
    return (select(HumanTask, ProcessInstance, _barred()).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(HumanTask.id == bindparam("task_id")))


@lru_cache(maxsize=None)
def _lock_statements():
    """Built once: building them cost more than running them."""
    lock = (select(ProcessInstance.id).join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
            .where(HumanTask.id == bindparam("task_id")).with_for_update(**runtime.CASE_LOCK))
    barred = _barred()
    recused = select(Recusal.id).where(Recusal.instance_id == HumanTask.instance_id).exists()
    read = (select(HumanTask, ProcessInstance, barred, recused)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(HumanTask.id == bindparam("task_id"))
            .options(undefer(ProcessInstance.state)).execution_options(populate_existing=True))
    return lock, read


def _locked_task(session: Session, task_id: str, user: User) -> tuple[HumanTask, ProcessInstance, bool]:
    """Lock the case first (whatever changes a task locks its case), then read the task and its case
    and check that ``user`` may act on it: read after the lock, by a statement of its own (on
    PostgreSQL the locking statement's other rows are as they were when it began waiting, and it
    goes out with this one, db.lock), it shows whether the other click has already won. Read with
    it: the user's exclusion, and whether anyone recused themselves from the case (True: the
    projection reads the 回避 when new tasks become ready)."""
    lock, read = _lock_statements()
    db.lock(session, lock, {"task_id": task_id})
    found = session.execute(read, {"task_id": task_id, "username": user.username}).one_or_none()
    if found is None:
        raise TaskNotFound(task_id)
    task, instance, reason, recused = found
    require_actor(session, task, user, reason)
    return task, instance, recused


def claim(session: Session, task_id: str, user: User) -> HumanTask:
    task = get(session, task_id)
    if task.assignee == user.username and task.state == "ready":
        return task
    require_actor(session, task, user)
    done = session.execute(update(HumanTask).where(HumanTask.id == task_id, HumanTask.assignee.is_(None),
                                                   HumanTask.state == "ready").values(assignee=user.username))
    session.refresh(task)
    if done.rowcount != 1:
        if task.assignee == user.username and task.state == "ready":
            return task  # a concurrent request of the same user claimed it: one claim, one audit row
        require_actor(session, task, user)
    projection.set_claimable(session, task.id, False)
    history.record(session, "claim", user, instance=session.get(ProcessInstance, task.instance_id),
                   task_id=task.id, element_id=task.element_id)
    return task


def unclaim(session: Session, task_id: str, user: User) -> HumanTask:
    task = get(session, task_id)
    if task.state != "ready":
        raise TaskAlreadyCompleted(task.completed_by, task.completed_at, cancelled=task.state == "cancelled",
                                   by_name=full_name(session, task.completed_by))
    if task.assignee != user.username:
        raise NotPermitted("只能退还自己领取的任务")
    task.assignee = None
    projection.set_claimable(session, task.id, not task.suspended)
    history.record(session, "unclaim", user, instance=session.get(ProcessInstance, task.instance_id),
                   task_id=task.id, element_id=task.element_id)
    return task


def open_for_action(session: Session, task_id: str, user: User):
    """Lock the case, check the user may act on the ready task, load the workflow."""
    task, instance, recused = _locked_task(session, task_id, user)
    if instance.status != "running" or task.suspended:
        raise runtime.InstanceNotActive(instance)
    action = runtime.load(session, instance, user)
    if not recused:
        action.recusals = {}
    return task, instance, action, runtime.spiff_task(action, task.id)


def _finish(session: Session, task: HumanTask, instance: ProcessInstance, action, spiff, user: User,
            values: dict[str, Any], audit: str, details: dict[str, Any], typed_reason: str | None = None) -> HumanTask:
    """Complete ``spiff`` with ``values``, run the case on, project, audit, save.

    If the case went back (a flow with a ``returnReason``, or 退回 with a typed reason), the
    reasons are returned on ``task.explanations`` and shown on the tasks it came back to."""
    task.state, task.assignee, task.completed_by, task.completed_at = "completed", user.username, user.username, utcnow()
    task.submitted = data_to_json(values)
    task.draft = None
    db.write_changes(session, task)
    before = runtime.completed_ids(action.workflow)
    action.finished.add(task.id)
    projection.ended(session, [task.id])

    def finish(workflow):
        spiff.set_data(**values)
        spiff.run()
    runtime.run_engine(action, finish)
    explanations = runtime.flow_reasons(action.workflow, before) + ([f"退回理由：{typed_reason}"] if typed_reason else [])
    action.explanation = "；".join(explanations) or None
    history.record(session, audit, user, instance=instance, task_id=task.id, element_id=task.element_id,
                   details={"task": task.name, "values": values, **details,
                            **({"explanation": action.explanation} if explanations else {})})
    runtime.save(action)
    # Last: every completion of this step this month updates the same rows, locked until the commit
    statistics.record(session, task)
    for counted in hooks.task_completed:
        counted(session, task, values)
    task.explanations = tuple(explanations)
    return task


def complete(session: Session, task_id: str, user: User, submitted: Mapping[str, Any]) -> HumanTask:
    """Validate the form, complete the task (claiming it if unclaimed) and run the case on."""
    task, instance, action, spiff = open_for_action(session, task_id, user)
    form = forms.form_of(spiff.task_spec)
    filled = hooks.engine_filled(spiff.task_spec)  # e.g. document numbers, whatever was typed
    submitted = {k: v for k, v in submitted.items() if k not in filled}
    numbers: dict[str, Any] = {}
    for source in hooks.engine_values:
        numbers.update(source.issue(session, spiff.task_spec, spiff.data, submitted, action.workflow.script_engine))
    labels = forms.variable_labels([action.workflow.spec, *action.workflow.subprocess_specs.values()])
    values = {**forms.validate(form, {**submitted, **numbers}, spiff.data, labels), **numbers}
    _check_files(session, form, values, instance, submitted)
    problems = officer_problems(session, form, values, scripting.today())
    if problems:
        raise forms.FormInvalid(problems, submitted)
    for check in hooks.completion_checks:  # e.g. 执法全过程记录: recordings, other proof or an approved exception
        check(session, task, spiff, values)
    if numbers:  # listed with the case in the inbox (a number kept on a second pass is listed once)
        listed = [d for d in (instance.documents or "").split("、") if d]
        listed += [str(n) for n in numbers.values() if n and str(n) not in listed]
        instance.documents = "、".join(listed)[:1000]
    return _finish(session, task, instance, action, spiff, user, values, "complete", {})


def save_draft(session: Session, task_id: str, user: User, submitted: Mapping[str, Any]) -> HumanTask:
    """暂存: keep what the holder typed (unchecked) on the task, claiming it; the next visit shows it again."""
    task, instance, _ = _locked_task(session, task_id, user)
    task.assignee = user.username
    task.draft = json.dumps({k: v for k, v in submitted.items() if k != "csrf_token"}, ensure_ascii=False, default=str)
    history.record(session, "draft", user, instance=instance, task_id=task.id, element_id=task.element_id,
                   details={"task": task.name})
    return task


def _check_files(session: Session, form: forms.Form, values: dict[str, Any], instance: ProcessInstance,
                 submitted: Mapping[str, Any]) -> None:
    """File fields may only name attachments of this case."""
    errors = {}
    for f in form.fields:
        ids = values.get(f.id) if f.type == "file" and not f.readonly else None
        if ids:
            found = set(session.scalars(select(Attachment.id).where(Attachment.id.in_(ids),
                                                                    Attachment.instance_id == instance.id)))
            if found != set(ids):
                errors[f.id] = f"{f.label}：附件不属于本案件"
    if errors:
        raise forms.FormInvalid(errors, submitted)


def count_inbox(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.state == "ready", HumanTask.suspended.is_(False), visible_clause(user))) or 0


# --- the inbox page: tabs, filters, sort, pages -------------------------------------

TZ = ZoneInfo("Asia/Shanghai")
TABS = {"mine": "我的待办", "group": "岗位待办", "done": "已办"}
SORTS = {"business_key": HumanTask.business_key, "title": HumanTask.title, "name": HumanTask.name,
         "process": HumanTask.process_key, "assignee": HumanTask.assignee, "due": HumanTask.due_at,
         "priority": HumanTask.priority, "created": HumanTask.created_at, "completed": HumanTask.completed_at}
PER_PAGE = 20


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """[start of today, start of tomorrow) in Asia/Shanghai, as aware datetimes."""
    local = now.astimezone(TZ)
    start = datetime.combine(local.date(), time(0), TZ)
    return start, start + timedelta(days=1)


def due_status(due_at: datetime | None, now: datetime | None = None) -> str | None:
    """"overdue" (已超期), "today" (今日到期) or None — by the Asia/Shanghai day."""
    if due_at is None:
        return None
    now = now or utcnow()
    if due_at < now:
        return "overdue"
    return "today" if due_at < day_bounds(now)[1] else None


PAGE_CAP = 50  # pages counted exactly; past them the total reads "1000 余条" and paging follows cursors
COUNT_CAP = 99  # menu badges count to 99 and then read "99+"


@dataclass
class TaskQuery:
    tab: str | None = "mine"
    process: str | None = None
    due: str | None = None  # overdue | today
    q: str = ""
    sort: str = "due"
    desc: bool = False
    page: int = 1
    per_page: int = PER_PAGE
    after: str | None = None   # cursor of the previous page's last row: the page after it
    before: str | None = None  # cursor of the next page's first row, or "end" for the last page

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> "TaskQuery":
        """From query-string arguments; anything unknown falls back to the default."""
        tab = args.get("tab") if args.get("tab") in TABS else None  # None: see task_page
        sort = args.get("sort") if args.get("sort") in SORTS else ("completed" if tab == "done" else "due")
        try:
            page = max(1, min(10_000, int(args.get("page", "1"))))
        except ValueError:
            page = 1
        desc = args.get("dir", "desc" if tab == "done" and "sort" not in args else "asc") == "desc"
        return cls(tab=tab, process=(args.get("process") or None), due=args.get("due") if args.get("due") in (
            "overdue", "today") else None, q=(args.get("q") or "").strip()[:100], sort=sort, desc=desc, page=page,
            after=(args.get("after") or None), before=(args.get("before") or None))


@dataclass
class TaskPage:
    query: TaskQuery
    rows: list[HumanTask]
    total: int  # exact up to PAGE_CAP pages, else PAGE_CAP pages' worth + 1 (``capped``)
    has_prev: bool = False
    has_next: bool = False
    cursors: tuple[str, str] | None = None  # (first row, last row) where the tab pages by cursor

    @property
    def capped(self) -> bool:
        return self.total > PAGE_CAP * self.query.per_page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


def _tab_clause(user: User, tab: str):
    if tab == "done":
        return and_(HumanTask.state == "completed", HumanTask.completed_by == user.username)
    ready = and_(HumanTask.state == "ready", HumanTask.suspended.is_(False))
    if tab == "group":
        return and_(ready, HumanTask.assignee.is_(None), _candidate_clause(user))
    return and_(ready, HumanTask.assignee == user.username)


def _candidate_keys(user: User) -> list[tuple[str, str]]:
    return [("group", g) for g in sorted(group_codes(user))] + [("user", user.username)]


def _capped_count(selects: list, cap: int) -> int:
    """How many distinct ids the selects return together, reading at most cap + 1 rows of each."""
    parts = [select(s.limit(cap + 1).subquery().c[0]) for s in selects]
    union = parts[0].subquery() if len(parts) == 1 else parts[0].union(*parts[1:]).subquery()
    return select(func.count()).select_from(union).scalar_subquery()


def _claimable(username, kind, value, *columns):
    """The 岗位待办 index range of one post (or one candidate user): unclaimed, not suspended, ready,
    and not barred from ``username`` (separation of duties, 回避: a primary-key probe per row)."""
    return select(TaskCandidate.task_id, *columns).where(
        TaskCandidate.kind == kind, TaskCandidate.value == value, TaskCandidate.claimable == true(),
        ~exists().where(TaskExclusion.task_id == TaskCandidate.task_id, TaskExclusion.username == username))


def _claimable_among(username, kind, value, task_ids: list[str], *columns):
    """Like _claimable, for the given tasks only: the post is compared as one expression, so that the
    plan probes the primary key per task instead of walking the post's range, with or without statistics."""
    return select(TaskCandidate.task_id, *columns).where(
        TaskCandidate.task_id.in_(task_ids), TaskCandidate.kind + ":" + TaskCandidate.value == f"{kind}:{value}",
        TaskCandidate.claimable == true(),
        ~exists().where(TaskExclusion.task_id == TaskCandidate.task_id, TaskExclusion.username == username))


def _due_range(column, due: str | None, now: datetime) -> list:
    if due == "overdue":
        return [column < now]
    if due == "today":
        return [column >= now, column < day_bounds(now)[1]]
    return []


def task_page(session: Session, user: User, query: TaskQuery, now: datetime | None = None) -> TaskPage:
    """One page of a tab. Its cost follows the page, not the number of open tasks: totals are
    counted up to PAGE_CAP pages, and 岗位待办 in due or created order is read from the
    candidates index, by cursor past the counted pages."""
    now = now or utcnow()
    if query.tab is None:  # no tab chosen: my own tasks if I have any, else the unclaimed ones of my posts
        query.tab = "mine" if session.scalar(select(exists().where(_tab_clause(user, "mine")))) else "group"
    if query.tab == "group" and query.sort in ("due", "created"):
        return _group_page(session, user, query, now)
    conditions = [_tab_clause(user, query.tab)]
    if query.process:
        conditions.append(HumanTask.process_key == query.process)
    conditions += _due_range(HumanTask.due_at, query.due, now)
    if query.q:
        conditions.append(_search(query.q))
    where = and_(*conditions)
    cap = PAGE_CAP * query.per_page
    total = min(cap + 1, session.scalar(select(_capped_count([select(HumanTask.id).where(where)], cap))))
    column = SORTS[query.sort]
    order = [c.desc() if query.desc else c.asc() for c in (column, HumanTask.created_at, HumanTask.id)]
    if not (query.sort == "created" or query.sort == "completed" and query.tab == "done"):
        order.insert(0, column.is_(None))  # empty last; where it never is, the index gives the order
    query.page = min(query.page, max(1, -(-total // query.per_page)))
    rows = list(session.scalars(select(HumanTask).where(where).order_by(*order)
                                .offset((query.page - 1) * query.per_page).limit(query.per_page + 1)))
    return TaskPage(query, rows[:query.per_page], total, has_prev=query.page > 1, has_next=len(rows) > query.per_page)


def _pattern(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _search(q: str):
    return or_(HumanTask.business_key.ilike(_pattern(q), escape="\\"), HumanTask.title.ilike(_pattern(q), escape="\\"))


SEARCH_CAP = 50  # more matches than this: walking the post in page order meets a page soon enough
GRAM_CAP = 500  # more open cases than this hold the term's rarest gram: the same
MAX_GRAMS = 16  # of a long term, its first grams select well enough


def _matching_ready(session: Session, q: str) -> list[str] | None:
    """The ids of the ready tasks whose case number or title contains ``q``, when at most SEARCH_CAP
    do, read through the open cases holding its rarest gram (engine/store/search_index.py) when at
    most GRAM_CAP do; None when the term is so common that the post's own range, walked in page
    order, meets a page of matches sooner."""
    if len(q) == 1:  # the grams it starts
        low, high = search_index.prefix_range(q)
        choices = [(CaseSearchGram.gram >= low, CaseSearchGram.gram < high)]
    else:
        choices = [(CaseSearchGram.gram == g,) for g in search_index.term_grams(q)[:MAX_GRAMS]]

    def held(where):  # in index order, so that every plan stops reading at the limit
        return (select(CaseSearchGram.instance_id).where(*where).order_by(CaseSearchGram.gram, CaseSearchGram.instance_id)
                .limit(GRAM_CAP + 1).subquery())
    counts = session.execute(select(*[select(func.count()).select_from(held(w)).scalar_subquery()
                                      for w in choices])).one()
    fewest, rarest = min((n, i) for i, n in enumerate(counts))
    if fewest > GRAM_CAP:
        return None
    cases = select(held(choices[rarest]).c.instance_id).distinct().subquery()
    # each case's ready tasks that contain the term, read by the case's index range: a correlated scalar
    # subquery is never turned into a join, so no plan can start from the task rows and filter them all
    found = (select(func.aggregate_strings(HumanTask.id, ","))
             .where(HumanTask.instance_id == cases.c.instance_id, HumanTask.state == "ready", _search(q))
             .correlate(cases).scalar_subquery())
    ids = [i for joined in session.scalars(select(found).select_from(cases)) if joined for i in joined.split(",")]
    return ids if len(ids) <= SEARCH_CAP else None


def _cursor(row: HumanTask, sort: str) -> str:
    keys = [row.due_at or NO_DUE] if sort == "due" else []
    return "~".join([*(k.isoformat() for k in keys), row.created_at.isoformat(), row.id])


def _parse_cursor(text: str | None, sort: str) -> tuple | None:
    """A cursor from the URL, or None if it is missing or not one of ours."""
    parts = (text or "").split("~")
    if len(parts) != (3 if sort == "due" else 2):
        return None
    try:
        times = [datetime.fromisoformat(p) for p in parts[:-1]]
    except ValueError:
        return None
    if any(t.tzinfo is None for t in times):
        return None
    return (*times, parts[-1][:36])


def _group_page(session: Session, user: User, query: TaskQuery, now: datetime) -> TaskPage:
    """岗位待办 in due or created order, one index range per candidate key merged by a UNION:
    page N reads N pages of each range, a cursor page reads one."""
    columns = ([TaskCandidate.due_key] if query.sort == "due" else []) + [TaskCandidate.created_at, TaskCandidate.task_id]
    conditions = _due_range(TaskCandidate.due_key, query.due, now)
    joined = [HumanTask.process_key == query.process] if query.process else []
    matching = _matching_ready(session, query.q) if query.q else None
    if query.q and matching is None:  # walk the post's range in page order, reading each task's number and title
        joined.append(_search(query.q))

    def ranges(*extra):
        for kind, value in _candidate_keys(user):
            if matching is None:
                stmt = _claimable(user.username, kind, value, *columns[:-1]).where(*conditions, *extra)
            else:  # a rare term: its few tasks' candidate rows, each read by its primary key
                stmt = _claimable_among(user.username, kind, value, matching, *columns[:-1]).where(*conditions, *extra)
            yield stmt.join(HumanTask, HumanTask.id == TaskCandidate.task_id).where(*joined) if joined else stmt

    cap = PAGE_CAP * query.per_page
    counted = [r.order_by(TaskCandidate.due_key) for r in ranges()] if query.due else list(ranges())  # the due range
    total = min(cap + 1, session.scalar(select(_capped_count(counted, cap))))
    after, before = _parse_cursor(query.after, query.sort), _parse_cursor(query.before, query.sort)
    backwards = before is not None or query.before == "end"
    descending = query.desc != backwards
    if after is not None or backwards:
        bound = after or before
        offset = 0
        if bound is not None:
            key = tuple_(*columns)
            literal_bound = tuple_(*(literal(v, c.type) for c, v in zip(columns, bound)))
            extra = [key < literal_bound if descending else key > literal_bound]
        else:
            extra = []
    else:
        query.page = min(query.page, max(1, -(-total // query.per_page)))
        offset, extra = (query.page - 1) * query.per_page, []
    limit = offset + query.per_page + 1
    order = [c.desc() if descending else c.asc() for c in columns]
    parts = [select(*stmt.order_by(*order).limit(limit).subquery().c) for stmt in ranges(*extra)]
    union = (parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])).subquery()
    outer = [union.c[c.key].desc() if descending else union.c[c.key].asc() for c in columns]
    ids = list(session.scalars(select(union.c.task_id).order_by(*outer).offset(offset).limit(query.per_page + 1)))
    more = len(ids) > query.per_page
    ids = ids[:query.per_page]
    if backwards:
        ids.reverse()
    found = {t.id: t for t in session.scalars(select(HumanTask).where(HumanTask.id.in_(ids)))}
    rows = [found[i] for i in ids if i in found]
    if backwards:  # came from a later page (or asked for the last): earlier pages exist if more rows were read
        page = TaskPage(query, rows, total, has_prev=more, has_next=before is not None)
    elif after is not None:
        page = TaskPage(query, rows, total, has_prev=True, has_next=more)
    else:
        page = TaskPage(query, rows, total, has_prev=query.page > 1, has_next=more)
    if rows:
        page.cursors = (_cursor(rows[0], query.sort), _cursor(rows[-1], query.sort))
    return page


def counts(session: Session, user: User, now: datetime | None = None) -> dict[str, int]:
    """Navigation counts in one statement, each up to COUNT_CAP + 1: mine, group (unclaimed of my
    posts), overdue and today (of both). Every part is an index range read for at most 100 rows."""
    (values,) = combined.read(session, counts_part(user, now))
    return count_values(values)


def counts_part(user: User, now: datetime | None = None) -> combined.Part:
    """The counts of ``counts()`` as a part of a combined read (the menus of every page)."""
    now = now or utcnow()
    keys = _candidate_keys(user)
    params = {"count_user": user.username, "count_now": now, "count_tomorrow": day_bounds(now)[1]}
    for i, (kind, value) in enumerate(keys):
        params.update({f"count_kind{i}": kind, f"count_value{i}": value})
    return _count_columns(len(keys)), params


def count_values(values) -> dict[str, int]:
    return dict(zip(("mine", "group", "overdue", "today"), (min(n, COUNT_CAP + 1) for n in values)))


@lru_cache(maxsize=16)
def _count_columns(n_keys: int) -> tuple:
    """The counts for users with ``n_keys`` candidate keys, built once (they are read on every page)."""
    now = bindparam("count_now", type_=TaskCandidate.due_key.type)
    tomorrow = bindparam("count_tomorrow", type_=TaskCandidate.due_key.type)
    username = bindparam("count_user")
    mine = select(HumanTask.id).where(HumanTask.state == "ready", HumanTask.assignee == username,
                                      HumanTask.suspended.is_(False))
    keys = [(bindparam(f"count_kind{i}"), bindparam(f"count_value{i}")) for i in range(n_keys)]

    def both(*mine_extra, group_extra):  # ordered by due_key so that the range is read from its index
        return _capped_count([mine.where(*mine_extra)] + [
            _claimable(username, k, v).where(*group_extra).order_by(TaskCandidate.due_key) for k, v in keys], COUNT_CAP)
    return (
        _capped_count([mine], COUNT_CAP),
        _capped_count([_claimable(username, k, v) for k, v in keys], COUNT_CAP),
        both(HumanTask.due_at < now, group_extra=[TaskCandidate.due_key < now]),
        both(HumanTask.due_at >= now, HumanTask.due_at < tomorrow,
             group_extra=[TaskCandidate.due_key >= now, TaskCandidate.due_key < tomorrow]))


def process_names(session: Session) -> dict[str, str]:
    """Process key → the name of its newest version (for the 流程 column and filter)."""
    names: dict[str, str] = {}
    for key, name in session.execute(select(ProcessDefinition.key, ProcessDefinition.name)
                                     .order_by(ProcessDefinition.key, ProcessDefinition.version)):
        names[key] = name
    return names


# --- delegate (转办) and return (退回) ---------------------------------------------

class ActionInvalid(ValueError):
    """A task action with bad input (no reason, unknown colleague); nothing was changed."""


def _reason(reason: str | None, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ActionInvalid(f"请填写{what}理由")
    if len(text) > 1000:
        raise ActionInvalid(f"{what}理由最多 1000 个字")
    return text


def colleagues(session: Session, task: HumanTask, user: User) -> list[Row]:
    """Active users other than ``user`` who hold one of the task's posts (or are its candidate users):
    their ``username`` and ``full_name`` only, as rows: all the 转办 list and ``delegate`` need."""
    groups = [g for g in task.candidate_groups.split(",") if g]  # the row carries its candidates
    named = [u for u in task.candidate_users.split(",") if u]
    clause = or_(User.id.in_(select(Membership.user_id).where(Membership.group_code.in_(groups))) if groups else False,
                 User.username.in_(named) if named else False)
    barred = select(TaskExclusion.username).where(TaskExclusion.task_id == task.id)
    return list(session.execute(select(User.username, User.full_name).where(
        clause, User.active.is_(True), User.id != user.id, User.username.not_in(barred)).order_by(User.username)))


def delegate(session: Session, task_id: str, user: User, to_username: str, reason: str | None) -> HumanTask:
    """转办: hand a ready task to a colleague holding the same post, with a reason."""
    task, instance, _ = _locked_task(session, task_id, user)
    text = _reason(reason, "转办")
    target = next((u for u in colleagues(session, task, user) if u.username == (to_username or "").strip()), None)
    if target is None:
        barred = exclusion_of(session, task, (to_username or "").strip())
        raise ActionInvalid(f"不能转办给该人员：{barred}" if barred else "只能转办给持有同一岗位的其他在岗人员")
    before = task.assignee
    task.assignee = target.username
    projection.set_claimable(session, task.id, False)
    history.record(session, "delegate", user, instance=instance, task_id=task.id, element_id=task.element_id,
                   details={"task": task.name, "from": before or user.username, "to": target.username,
                            "to_name": target.full_name, "reason": text})
    session.add(Notification(recipient=target.username, instance_id=instance.id,
                             text=f"{user.full_name}将“{task.name}”（{task.business_key}）转办给您：{text}"))
    session.flush()
    return task


@dataclass(frozen=True)
class ReturnPath:
    """A task's modelled way back: completing with ``field`` = ``value`` leads to an earlier step."""
    field: forms.Field
    value: Any
    reason_field: str | None


def return_path(task_spec) -> ReturnPath | None:
    """From the task's ``camunda:properties`` ``returnField`` / ``returnValue`` (/ ``returnReasonField``)."""
    props = getattr(task_spec, "extensions", None) or {}
    name, raw = props.get("returnField"), props.get("returnValue")
    if not name or raw is None:
        return None
    form = forms.form_of(task_spec)
    field = next((f for f in form.fields if f.id == name), None)
    if field is None:
        return None
    value = forms.validate(forms.Form([replace(field, required=False, readonly=False)]), {name: raw}, {}).get(name)
    reason_field = props.get("returnReasonField")
    return ReturnPath(field, value, reason_field if any(f.id == reason_field for f in form.fields) else None)


def send_back(session: Session, task_id: str, user: User, reason: str | None) -> HumanTask:
    """退回: complete the task along its modelled return path, with a reason; other fields keep the case's values."""
    task, instance, action, spiff = open_for_action(session, task_id, user)
    path = return_path(spiff.task_spec)
    if path is None:
        raise ActionInvalid("此环节的流程没有退回路径")
    text = _reason(reason, "退回")
    values = {path.field.id: path.value, path.reason_field or "return_reason": text}
    return _finish(session, task, instance, action, spiff, user, values, "return", {"reason": text}, typed_reason=text)


# --- 回避 ----------------------------------------------------------------------------

def recuse(session: Session, instance_id: int, user: User, officer_username: str, reason: str | None) -> Recusal:
    """回避: a party's request against a named officer, granted and recorded by someone who may see
    the case; the officer leaves every remaining task of the case (now and later)."""
    instance = runtime.lock_instance(session, instance_id)
    if not can_see_instance(session, user, instance):
        raise NotPermitted("您无权查看此案件")
    text = _reason(reason, "回避")
    officer = session.scalar(select(User).where(User.username == (officer_username or "").strip()))
    if officer is None:
        raise ActionInvalid("请选择需要回避的执法人员")
    if session.scalar(select(Recusal.id).where(Recusal.instance_id == instance.id, Recusal.username == officer.username)):
        raise ActionInvalid(f"{officer.full_name}已在本案回避")
    recusal = Recusal(instance_id=instance.id, username=officer.username, reason=text, recorded_by=user.username)
    session.add(recusal)
    why = f"回避：您已在本案回避（{text}），不能办理本案的任务"
    for task in ready_tasks(session, instance.id):
        if session.get(TaskExclusion, (task.id, officer.username)) is None:
            session.add(TaskExclusion(task_id=task.id, username=officer.username, reason=why[:500]))
        if task.assignee == officer.username:
            task.assignee = None  # back to the post, without them
    history.record(session, "recusal", user, instance=instance,
                   details={"officer": officer.username, "officer_name": officer.full_name, "reason": text})
    session.add(Notification(recipient=officer.username, instance_id=instance.id,
                             text=f"您已在案件 {instance.business_key} 中回避（{text}），不再办理本案任务"))
    session.flush()
    return recusal


def involved_officers(session: Session, instance_id: int) -> list[User]:
    """Who a 回避 request can name: active holders of the posts of the case's ready tasks, and its past handlers."""
    groups = {g for t in ready_tasks(session, instance_id) for g in t.candidate_groups.split(",") if g}
    acted = select(HumanTask.completed_by).where(HumanTask.instance_id == instance_id, HumanTask.state == "completed")
    clause = or_(User.username.in_(acted),
                 User.id.in_(select(Membership.user_id).where(Membership.group_code.in_(groups))) if groups else False)
    return list(session.scalars(select(User).where(clause, User.active.is_(True)).order_by(User.full_name)))


def recusals_of(session: Session, instance_id: int) -> list[Recusal]:
    return list(session.scalars(select(Recusal).where(Recusal.instance_id == instance_id).order_by(Recusal.id)))


# --- comments ----------------------------------------------------------------------

def add_comment(session: Session, instance_id: int | None, user: User, text: str | None,
                task_id: str | None = None) -> Comment:
    """意见: a comment on a case (or on one of its tasks: then ``instance_id`` may be None)
    by someone who may see the case or act on the task."""
    task = get(session, task_id) if task_id else None
    instance_id = task.instance_id if instance_id is None and task is not None else instance_id
    instance = session.get(ProcessInstance, instance_id) if instance_id is not None else None
    if instance is None:
        raise runtime.InstanceNotFound(f"案件 {instance_id} 不存在")
    if task is not None and task.instance_id != instance.id:
        raise TaskNotFound(task_id)
    if not (can_see_instance(session, user, instance) or (task is not None and task.state == "ready"
                                                          and may_act(session, task, user))):
        raise NotPermitted("您无权查看此案件")
    body = (text or "").strip()
    if not body:
        raise ActionInvalid("意见内容不能为空")
    if len(body) > 4000:
        raise ActionInvalid("意见最多 4000 个字")
    comment = Comment(instance_id=instance.id, task_id=task.id if task else None, author=user.username, text=body)
    session.add(comment)
    history.record(session, "comment", user, instance=instance, task_id=task.id if task else None,
                   element_id=task.element_id if task else None,
                   details={"text": body, "task": task.name if task else None})
    session.flush()
    return comment


def comments_of(session: Session, instance_id: int) -> list[Comment]:
    return list(session.scalars(select(Comment).where(Comment.instance_id == instance_id)
                                .order_by(Comment.at, Comment.id)))
