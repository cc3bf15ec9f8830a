"""The inbox and the menu counts read index ranges, never a whole table (issue #17).

20,000 ready tasks, each of its own case, wait in one post, with no statistics on PostgreSQL (autovacuum off
for the test's tables, no ANALYZE) and enable_seqscan left on: every statement that
the menus (``webui.menus``) and ``tasks.task_page`` run is EXPLAINed and must not scan
``human_tasks`` or ``task_candidates`` (SQLite: no SCAN of them, only SEARCH); on
PostgreSQL no step may read more rows than the counted pages hold (EXPLAIN ANALYZE), with the
values at hand and in the generic plan that a prepared statement may come to use.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from psycopg import sql
from sqlalchemy import event, insert, text

from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from engine.store import search_index
from engine.store.models import NO_DUE, HumanTask, ProcessInstance, TaskCandidate
from tests.conftest import FIXTURES
from tests.webclient import Browser, make_app
from webui import menus

OPEN, MINE, DONE = 20_000, 30, 3_000
READ_LIMIT = 2 * (tasks.PAGE_CAP * tasks.PER_PAGE + 1) + 100  # counted pages of two candidate keys, and a page
BIG = ("human_tasks", "task_candidates", "case_search_grams", "process_instances")
USER, POST = "supervision_investigate1", "supervision.investigate"


@pytest.fixture
def seeded(db, org, user):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "inbox"]), source="cli")
        definition_id = runtime.start(session, "review_flow", user(USER), {}).definition_id
    if not db.is_sqlite:
        with db.engine.begin() as c:
            for table in BIG:
                c.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
    base = datetime(2026, 3, 1, tzinfo=timezone.utc)
    cases = [dict(definition_id=definition_id, process_key="review_flow", business_key=f"B-{i:06d}",
                  title=f"第{i}号企业", status="running" if i < OPEN + MINE else "completed", state="")
             for i in range(OPEN + MINE + DONE)]  # a case per task: the search grams are the open cases'
    with db.transaction() as session:
        ids = session.scalars(insert(ProcessInstance).returning(ProcessInstance.id, sort_by_parameter_order=True),
                              cases).all()
    rows, candidates = [], []
    for i, case_id in enumerate(ids):
        due = base + timedelta(hours=i % 500) if i % 3 else None
        created = base + timedelta(seconds=i)
        state = "completed" if i >= OPEN + MINE else "ready"
        assignee = USER if i >= OPEN else None
        task_id = str(uuid.uuid4())
        rows.append(dict(id=task_id, instance_id=case_id, process_key="review_flow", business_key=f"B-{i:06d}",
                         title=f"第{i}号企业", element_id="prepare", name="准备", candidate_groups=POST,
                         candidate_users="", assignee=assignee, priority=50, due_at=due, state=state,
                         suspended=False, created_at=created, completed_by=USER if state == "completed" else None,
                         completed_at=created + timedelta(days=1) if state == "completed" else None))
        if state == "ready":
            candidates.append(dict(task_id=task_id, kind="group", value=POST, claimable=assignee is None,
                                   due_key=due or NO_DUE, created_at=created))
    with db.transaction() as session:
        session.execute(insert(HumanTask), rows)
        session.execute(insert(TaskCandidate), candidates)
        search_index.add(session, [(r["instance_id"], r["business_key"], r["title"]) for r in rows if r["state"] == "ready"])
    return user(USER)


def _plans(db, work) -> list[tuple[str, str]]:
    """(statement, plan) of every SELECT ``work(session)`` runs (PostgreSQL: with the rows each step read)."""
    seen: list[tuple[str, object]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))
    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        with db.reading() as session:
            work(session)
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    out = []
    with db.engine.connect() as c:
        for statement, parameters in seen:
            prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN ANALYZE "
            plan = c.exec_driver_sql(prefix + statement, parameters).all()
            out.append((statement, "\n".join(str(r[-1]) for r in plan)))
            if not db.is_sqlite:
                out.append((f"{statement}\n(generic plan)", _generic_plan(c, statement, parameters)))
    return out


def _generic_plan(c, statement: str, parameters: dict) -> str:
    """PostgreSQL: the plan of ``statement`` prepared, as its generic plan (psycopg prepares a statement
    run five times on a connection, and after five runs PostgreSQL may plan it once for any values)."""
    names: list[str] = []

    def numbered(found) -> str:
        if found[1] not in names:
            names.append(found[1])
        return f"${names.index(found[1]) + 1}"
    c.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    c.exec_driver_sql("PREPARE generic AS " + re.sub(r"%\((\w+)\)s", numbered, statement).replace("%%", "%"))
    raw = c.connection.driver_connection
    values = ", ".join(sql.Literal(parameters[n]).as_string(raw) for n in names)  # EXECUTE's own $n: untyped
    try:
        plan = c.exec_driver_sql(f"EXPLAIN ANALYZE EXECUTE generic{f'({values})' if values else ''}"
                                 .replace("%", "%%")).all()
    finally:
        c.exec_driver_sql("DEALLOCATE generic")
        c.exec_driver_sql("RESET plan_cache_mode")
    return "\n".join(str(r[-1]) for r in plan)


def _full_scans(db, plan: str) -> list[str]:
    lines = plan.splitlines()
    if db.is_sqlite:  # "SCAN t" or "SCAN t USING (COVERING) INDEX" reads all of t; "SEARCH" reads a range
        return [line for line in lines if any(line.strip().startswith(f"SCAN {t}") for t in BIG)]
    return [line for line in lines if any(f"Seq Scan on {t}" in line for t in BIG)]


def _rows_read(plan: str) -> int:
    """PostgreSQL: the most rows one step of the plan read (returned, plus removed by its filter)."""
    most, returned = 0, 0
    for line in plan.splitlines():
        found = re.search(r"actual time=\S+ rows=(\d+) loops=(\d+)", line)
        if found:
            returned = int(found[1]) * int(found[2])
            most = max(most, returned)
        removed = re.search(r"Rows Removed by Filter: (\d+)", line)
        if removed:
            most = max(most, returned + int(removed[1]))
    return most


def _queries(now):
    q = tasks.TaskQuery
    return {
        "menu counts": lambda s, u: menus.read(s, u, now=now),  # every page's one statement of counts
        "default tab": lambda s, u: tasks.task_page(s, u, q(tab=None), now=now),
        "岗位待办 page 1": lambda s, u: tasks.task_page(s, u, q(tab="group"), now=now),
        "岗位待办 page 40": lambda s, u: tasks.task_page(s, u, q(tab="group", page=40), now=now),
        "岗位待办 by created, descending": lambda s, u: tasks.task_page(s, u, q(tab="group", sort="created", desc=True),
                                                                     now=now),
        "岗位待办 last page": lambda s, u: tasks.task_page(s, u, q(tab="group", before="end"), now=now),
        "岗位待办 overdue": lambda s, u: tasks.task_page(s, u, q(tab="group", due="overdue"), now=now),
        "岗位待办 today": lambda s, u: tasks.task_page(s, u, q(tab="group", due="today"), now=now),
        "岗位待办 search": lambda s, u: tasks.task_page(s, u, q(tab="group", q="B-0199"), now=now),
        "岗位待办 search, one match": lambda s, u: tasks.task_page(s, u, q(tab="group", q="第19990号"), now=now),
        "岗位待办 search, no match": lambda s, u: tasks.task_page(s, u, q(tab="group", q="没有这家企业"), now=now),
        "我的待办": lambda s, u: tasks.task_page(s, u, q(tab="mine"), now=now),
        "已办": lambda s, u: tasks.task_page(s, u, q(tab="done", sort="completed", desc=True), now=now),
    }


def test_inbox_and_menu_counts_read_index_ranges_without_statistics(db, seeded):
    now = datetime(2026, 3, 8, tzinfo=timezone.utc)
    with db.reading() as session:
        counts = tasks.counts(session, seeded, now=now)
    assert counts == {"mine": 30, "group": tasks.COUNT_CAP + 1, "overdue": tasks.COUNT_CAP + 1,
                      "today": tasks.COUNT_CAP + 1}
    for name, work in _queries(now).items():
        plans = _plans(db, lambda session: work(session, seeded))
        if name.startswith("岗位待办 search,"):
            assert any("case_search_grams" in plan for _, plan in plans), f"{name}: not from the search grams"
        for statement, plan in plans:
            assert not _full_scans(db, plan), f"{name}: full scan\n{statement}\n{plan}"
            # a rare term's tasks come from the search grams; a common one (100 matches) walks the post
            if not db.is_sqlite and name != "岗位待办 search":
                assert _rows_read(plan) <= READ_LIMIT, f"{name}: reads {_rows_read(plan)} rows\n{statement}\n{plan}"


def test_deep_pages_follow_cursors_in_order(db, seeded):
    """Past the counted pages the pager walks by cursor: forward, back and from the end, nothing skipped."""
    with db.reading() as session:
        first = tasks.task_page(session, seeded, tasks.TaskQuery(tab="group"))
        assert first.capped and first.total == tasks.PAGE_CAP * tasks.PER_PAGE + 1 and first.has_next
        second = tasks.task_page(session, seeded, tasks.TaskQuery(tab="group", page=2, after=first.cursors[1]))
        offset = tasks.task_page(session, seeded, tasks.TaskQuery(tab="group", page=2))
        assert [t.id for t in second.rows] == [t.id for t in offset.rows] and second.has_prev
        back = tasks.task_page(session, seeded, tasks.TaskQuery(tab="group", before=second.cursors[0]))
        assert [t.id for t in back.rows] == [t.id for t in first.rows] and not back.has_prev and back.has_next
        last = tasks.task_page(session, seeded, tasks.TaskQuery(tab="group", before="end"))
        assert not last.has_next and last.has_prev
        due = [t.due_at for t in last.rows]
        assert due == [None] * len(due)  # tasks without a due date come last
        assert [t.created_at for t in last.rows] == sorted(t.created_at for t in last.rows)
        bogus = tasks.task_page(session, seeded, tasks.TaskQuery(tab="group", after="2026~x"))
        assert [t.id for t in bogus.rows] == [t.id for t in first.rows]  # a cursor not ours: the first page


def test_the_inbox_page_past_the_counted_pages(db, seeded, tmp_path):
    """Badges read 99+, the total "1000 余条"; 下一页 and 末页 follow cursors and keep the filters."""
    browser = Browser(make_app(db, tmp_path))
    assert browser.login(USER).status_code == 302
    html = browser.get("/inbox?tab=group").get_data(as_text=True)
    assert f'id="nav-inbox-count">{tasks.COUNT_CAP}+<' in html
    assert f"共 {tasks.PAGE_CAP * tasks.PER_PAGE} 余条，第 1 页" in html and "末页" in html
    first = re.findall(r'href="/tasks/([0-9a-f-]{36})"', html)
    following = re.search(r'href="([^"]+)" rel="next"', html)[1].replace("&amp;", "&")
    assert "after=" in following and "tab=group" in following
    html = browser.get(following).get_data(as_text=True)
    second = re.findall(r'href="/tasks/([0-9a-f-]{36})"', html)
    assert "第 2 页" in html and len(second) == tasks.PER_PAGE and not set(first) & set(second)
    last = re.search(r'href="([^"]+)">末页', html)[1].replace("&amp;", "&")
    html = browser.get(last).get_data(as_text=True)
    assert "，末页" in html and 'rel="next"' not in html and 'rel="prev"' in html


def test_the_deadline_dashboards_read_index_ranges_without_statistics(db, seeded, user):
    """流程概况's and 超期督办's overdue and due-soon counts (issue #17, 18_dashboards): index ranges of the
    open deadlines, never a scan of the task tables; 流程概况's cases per status from the kept counts
    (22_status_counts), never a scan of the cases."""
    from monitoring import dashboards
    now, chief = datetime(2026, 3, 8, tzinfo=timezone.utc), user("leadership_chief")
    pages = {"overview": lambda s: dashboards.overview(s, chief, now=now),
             "overdue board": lambda s: dashboards.overdue_board(s, chief, now=now),
             "overdue board, one post": lambda s: dashboards.overdue_board(s, chief, post=POST, page=3, now=now)}
    for name, work in pages.items():
        for statement, plan in _plans(db, work):
            assert not _full_scans(db, plan), f"{name}: full scan\n{statement}\n{plan}"
