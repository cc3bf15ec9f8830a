"""Manager dashboards on seeded data: every number equals a ground truth computed here,
in plain Python over the seeded rows (and chinese_calendar directly for working days)."""
from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import lxml.html
import pytest
from sqlalchemy import select

from bench.dashboard_bench import seed
from engine.access.identity import NotPermitted
from engine.deploy import repository
from engine.inbox import statistics
from engine.store.models import (CaseDepartment, Department, Group, HumanTask, ProcessDefinition, ProcessInstance,
                                 TaskCandidate)
from monitoring import dashboards
from tests.conftest import FIXTURES
from tests.webclient import Browser, make_app

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 17, 10, 0, tzinfo=TZ).astimezone(timezone.utc)  # a Wednesday
TODAY = date(2026, 6, 17)


def shanghai_day(value: datetime) -> date:
    return value.astimezone(TZ).date()


def third_working_day_after(day: date) -> date:
    n = 0
    while n < 3:
        day += timedelta(days=1)
        n += chinese_calendar.is_workday(day)
    return day


SOON_UNTIL = third_working_day_after(TODAY)


def working_days_after(due: date, today: date) -> int:
    return sum(chinese_calendar.is_workday(due + timedelta(days=i)) for i in range(1, (today - due).days + 1))


@pytest.fixture
def seeded(db, org):
    """Two versions of the test inspection process and the receiving process; 600 cases."""
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "engine"]), source="cli")
        v2 = (FIXTURES / "engine" / "case_flow.bpmn").read_bytes().replace("测试检查流程".encode(), "测试检查流程（修订）".encode())
        repository.deploy(session, [repository.Source("case_flow.bpmn", v2)], source="cli")
        seed(session, 600, now=NOW, seed_value=7, span_days=500)
    with db.reading() as session:
        rows = {t.__tablename__: [dict(r._mapping) for r in session.execute(select(t.__table__))]
                for t in (ProcessInstance, HumanTask, TaskCandidate, CaseDepartment, Group, Department,
                          ProcessDefinition)}
    assert len({r["key"] for r in rows["process_definitions"]}) >= 2
    assert {r["version"] for r in rows["process_definitions"] if r["key"] == "case_flow"} == {1, 2}
    return rows


def open_deadline(task) -> bool:
    return (task["state"] == "ready" and not task["suspended"] and task["due_at"] is not None
            and (task["due_at"] < NOW or shanghai_day(task["due_at"]) <= SOON_UNTIL))


def is_overdue(task) -> bool:
    return task["due_at"] < NOW


def test_dashboards_are_for_leaders_and_legal_staff_only(db, seeded, user):
    officer = user("supervision_investigate1")
    with db.reading() as session:
        for call in (lambda: dashboards.overview(session, officer), lambda: dashboards.overdue_board(session, officer),
                     lambda: dashboards.throughput(session, officer),
                     lambda: dashboards.instance_list(session, officer, dashboards.InstanceFilter()),
                     lambda: dashboards.instances_csv(session, officer, dashboards.InstanceFilter())):
            with pytest.raises(NotPermitted):
                call()
        for who in ("leadership_chief", "legal_review1", "leadership_deputy"):
            assert dashboards.overview(session, user(who), now=NOW).rows


def test_the_overview_counts_equal_the_ground_truth(db, seeded, user):
    instances = {i["id"]: i for i in seeded["process_instances"]}
    expected = {}
    for d in seeded["process_definitions"]:
        mine = [i for i in instances.values() if i["definition_id"] == d["id"]]
        tasks = [t for t in seeded["human_tasks"] if instances[t["instance_id"]]["definition_id"] == d["id"]
                 and open_deadline(t)]
        expected[d["id"]] = {s: sum(i["status"] == s for i in mine) for s in ("running", "suspended", "completed", "terminated")}
        expected[d["id"]]["overdue"] = sum(is_overdue(t) for t in tasks)
        expected[d["id"]]["due_soon"] = sum(not is_overdue(t) for t in tasks)
    with db.reading() as session:
        data = dashboards.overview(session, user("leadership_chief"), now=NOW)
    got = {r.definition_id: {k: getattr(r, k) for k in ("running", "suspended", "completed", "terminated",
                                                         "overdue", "due_soon")} for r in data.rows}
    assert got == expected
    assert data.horizon.soon_until == SOON_UNTIL
    assert sum(v["overdue"] for v in expected.values()) > 20 and sum(v["due_soon"] for v in expected.values()) > 5
    assert all(v["suspended"] for k, v in expected.items() if sum(v.values()) > 100)  # every status is exercised


def test_badges_and_heatmap_equal_the_ground_truth(db, seeded, user):
    instances = {i["id"]: i for i in seeded["process_instances"]}
    with db.reading() as session:
        for d in seeded["process_definitions"]:
            view = dashboards.process_view(session, user("legal_review1"), d["id"])
            waiting = defaultdict(set)
            durations = defaultdict(list)
            for t in seeded["human_tasks"]:
                i = instances[t["instance_id"]]
                if i["definition_id"] != d["id"]:
                    continue
                if t["state"] == "ready":
                    waiting[t["element_id"]].add(i["id"])
                if t["state"] == "completed" and i["status"] == "completed":
                    durations[t["element_id"]].append((t["completed_at"] - t["created_at"]).total_seconds())
            assert view.badges() == {e: len(ids) for e, ids in waiting.items()}
            heat = view.heat()
            assert set(heat) == set(durations)
            for element, values in durations.items():
                assert heat[element]["n"] == len(values)
                assert heat[element]["mean_seconds"] == pytest.approx(sum(values) / len(values), abs=1.0)
            if heat:
                slowest = max(heat, key=lambda e: heat[e]["mean_seconds"])
                assert heat[slowest]["level"] == 5
        flow = [d for d in seeded["process_definitions"] if d["key"] == "case_flow"][0]
        view = dashboards.process_view(session, user("legal_review1"), flow["id"])
        assert "Task_inspect" in view.xml and any(a.in_diagram for a in view.activities)
        assert any(not a.in_diagram for a in view.activities if a.element_id == "UserTask_legal_review")


def ids_of(page) -> list[int]:
    return [r.id for r in page.rows]


def list_all(session, user, f) -> list[int]:
    return ids_of(dashboards.instance_list(session, user, f, 1, per_page=100_000, now=NOW))


def truth(seeded, *, process=None, definition_id=None, status=None, department=None, q=None, started_from=None,
          started_to=None, step=None, overdue=False, sort="-started"):
    departments = defaultdict(set)
    for row in seeded["case_departments"]:
        departments[row["instance_id"]].add(row["department_code"])
    ready = defaultdict(list)
    for t in seeded["human_tasks"]:
        if t["state"] == "ready":
            ready[t["instance_id"]].append(t)
    out = []
    for i in seeded["process_instances"]:
        if process and i["process_key"] != process or definition_id and i["definition_id"] != definition_id:
            continue
        if status and i["status"] != status or department and department not in departments[i["id"]]:
            continue
        if q and q not in i["business_key"] and q not in (i["title"] or ""):
            continue
        day = shanghai_day(i["started_at"])
        if started_from and day < started_from or started_to and day > started_to:
            continue
        if step and not any(t["element_id"] == step for t in ready[i["id"]]):
            continue
        if overdue and not any(t["due_at"] is not None and t["due_at"] < NOW and not t["suspended"] for t in ready[i["id"]]):
            continue
        out.append(i)
    key = {"started": "started_at", "business_key": "business_key", "status": "status", "title": "title"}[sort.lstrip("-")]
    out.sort(key=lambda i: (i[key], i["id"]), reverse=sort.startswith("-"))
    return [i["id"] for i in out]


COMBINATIONS = [
    {},
    {"process": "case_flow"},
    {"process": "case_flow", "status": "running"},
    {"status": "suspended"},
    {"department": "supervision", "status": "completed"},
    {"department": "legal"},
    {"q": "化工"},
    {"q": "LSHB-2026-0001"},
    {"q": "<script>"},
    {"started_from": date(2026, 1, 1), "started_to": date(2026, 3, 31), "status": "running"},
    {"step": "Task_review"},
    {"step": "Task_review", "overdue": True},
    {"overdue": True, "process": "case_flow", "department": "supervision"},
    {"overdue": True, "sort": "business_key"},
    {"status": "terminated", "sort": "-title"},
    {"process": "case_flow", "status": "running", "department": "supervision", "q": "某", "overdue": True,
     "started_from": date(2025, 6, 1), "sort": "started"},
]


def test_filters_combine(db, seeded, user):
    chief = user("leadership_chief")
    sizes = []
    with db.reading() as session:
        for conditions in COMBINATIONS:
            expected = truth(seeded, **conditions)
            assert list_all(session, chief, dashboards.InstanceFilter(**conditions)) == expected, conditions
            sizes.append(len(expected))
    assert sizes[0] == 600 and all(n > 0 for n in sizes) and len(set(sizes)) > 10  # each filter narrows


def test_filter_by_version_and_pagination(db, seeded, user):
    chief = user("leadership_chief")
    v1 = [d["id"] for d in seeded["process_definitions"] if d["key"] == "case_flow" and d["version"] == 1][0]
    expected = truth(seeded, definition_id=v1)
    assert 0 < len(expected) < 600
    with db.reading() as session:
        pages, page = [], 1
        while True:
            p = dashboards.instance_list(session, chief, dashboards.InstanceFilter(definition_id=v1), page, per_page=17, now=NOW)
            pages += ids_of(p)
            assert p.total == len(expected)
            if page == p.pages:
                break
            page += 1
        assert pages == expected
        last = dashboards.instance_list(session, chief, dashboards.InstanceFilter(definition_id=v1), 10_000, per_page=17, now=NOW)
        assert last.page == last.pages  # a page past the end shows the last page


def test_bad_filter_values_are_named_and_ignored():
    f, errors = dashboards.InstanceFilter.parse({"status": "deleted", "started_from": "2026-02-30", "sort": "drop table",
                                                 "definition": "x1", "q": " 化工 ", "overdue": "1"})
    assert f == dashboards.InstanceFilter(q="化工", overdue=True)
    assert any("状态无效" in e for e in errors) and any("发起日期（起）不是有效日期" in e for e in errors)
    assert any("排序" in e for e in errors) and any("版本" in e for e in errors)
    assert dashboards.InstanceFilter.parse(f.query_args())[0] == f  # links reproduce the filter


def test_the_overdue_board_equals_the_ground_truth(db, seeded, user):
    tasks = [t for t in seeded["human_tasks"] if open_deadline(t)]
    groups = defaultdict(set)
    for c in seeded["task_candidates"]:
        if c["kind"] == "group":
            groups[c["task_id"]].add(c["value"])
    department_of = {g["code"]: g["department_code"] for g in seeded["groups"]}
    by_post, by_department = Counter(), Counter()
    for t in tasks:
        kind = "overdue" if is_overdue(t) else "due_soon"
        for g in groups[t["id"]] or {None}:
            by_post[(g, kind)] += 1
        for d in {department_of[g] for g in groups[t["id"]]}:
            by_department[(d, kind)] += 1
    with db.reading() as session:
        board = dashboards.overdue_board(session, user("leadership_chief"), per_page=100_000, now=NOW)
    got_posts = Counter()
    got_departments = Counter()
    for d in board.departments:
        if d.code is not None:
            got_departments[(d.code, "overdue")] += d.overdue
            got_departments[(d.code, "due_soon")] += d.due_soon
        for p in d.posts:
            got_posts[(p.code, "overdue")] += p.overdue
            got_posts[(p.code, "due_soon")] += p.due_soon
    assert +got_posts == +by_post and +got_departments == +by_department
    assert board.total == len(tasks) and {t.id for t in board.tasks} == {t["id"] for t in tasks}
    expected = {t["id"]: working_days_after(shanghai_day(t["due_at"]), TODAY) if is_overdue(t)
                else working_days_after(TODAY, shanghai_day(t["due_at"])) for t in tasks}
    assert {t.id: t.working_days for t in board.tasks} == expected
    assert [t.due_at for t in board.tasks] == sorted(t.due_at for t in board.tasks)
    assert max(expected.values()) >= 5

    post = max(by_post, key=by_post.get)[0]
    with db.reading() as session:
        one = dashboards.overdue_board(session, user("leadership_chief"), post=post, kind="overdue", per_page=100_000, now=NOW)
    assert {t.id for t in one.tasks} == {t["id"] for t in tasks if post in groups[t["id"]] and is_overdue(t)}
    with db.reading() as session:  # one post's pages follow each other in due order, nothing skipped
        whole = dashboards.overdue_board(session, user("leadership_chief"), post=post, per_page=100_000, now=NOW)
        pages = [dashboards.overdue_board(session, user("leadership_chief"), post=post, per_page=7, page=n, now=NOW)
                 for n in (1, 2, 3)]
    assert whole.total == len(whole.tasks) == pages[0].total > 21
    assert [t.id for p in pages for t in p.tasks] == [t.id for t in whole.tasks][:21]
    assert [t.due_at for t in whole.tasks] == sorted(t.due_at for t in whole.tasks)


def test_throughput_tables_equal_the_ground_truth(db, seeded, user):
    since, until = date(2025, 7, 1), TODAY
    with db.reading() as session:
        data = dashboards.throughput(session, user("legal_review1"), since, until, now=NOW)
    started, finished = Counter(), Counter()
    for i in seeded["process_instances"]:
        day = shanghai_day(i["started_at"])
        if since <= day <= until:
            started[(i["process_key"], day - timedelta(days=day.weekday()))] += 1
            started[(i["process_key"], f"{day:%Y-%m}")] += 1
        if i["status"] == "completed":
            day = shanghai_day(i["ended_at"])
            if since <= day <= until:
                finished[(i["process_key"], day - timedelta(days=day.weekday()))] += 1
                finished[(i["process_key"], f"{day:%Y-%m}")] += 1
    got_started, got_finished = Counter(), Counter()
    for w in data.weeks:
        for k, n in w.started.items():
            got_started[(k, w.start)] += n
        for k, n in w.finished.items():
            got_finished[(k, w.start)] += n
    for m in data.months:
        for k, n in m.started.items():
            got_started[(k, m.label)] += n
        for k, n in m.finished.items():
            got_finished[(k, m.label)] += n
    assert got_started == started and got_finished == finished
    assert [m.label for m in data.months] == [f"2025-{m:02d}" for m in range(7, 13)] + [f"2026-{m:02d}" for m in range(1, 7)]
    assert data.weeks[0].start == date(2025, 6, 30) and data.weeks[-1].start == date(2026, 6, 15)

    durations = defaultdict(list)
    reviews = Counter()
    for t in seeded["human_tasks"]:
        if t["state"] == "completed" and since <= shanghai_day(t["completed_at"]) <= until:
            durations[(t["process_key"], t["element_id"])].append((t["completed_at"] - t["created_at"]).total_seconds())
            if t["element_id"] == "UserTask_legal_review":
                reviews[(f"{shanghai_day(t['completed_at']):%Y-%m}", json.loads(t["submitted"])["legal_review_outcome"])] += 1
    got = {(s.process_key, s.element_id): s for s in data.steps}
    assert set(got) == set(durations)
    names = {t["element_id"]: t["name"] for t in seeded["human_tasks"]}
    assert {s.element_id: s.name for s in data.steps} == {e: names[e] for _, e in durations}  # names, not ids
    shown = {d["key"]: d["name"] for d in seeded["process_definitions"] if d["key"] in {k for k, _ in data.processes}}
    assert dict(data.processes) == shown and all(k != n for k, n in shown.items())
    for key, values in durations.items():
        values.sort()
        assert got[key].count == len(values)
        assert got[key].mean_seconds == pytest.approx(sum(values) / len(values), abs=1.0)
        # read from the duration buckets: documented on the page as within PERCENTILE_ERROR
        assert got[key].p90_seconds == pytest.approx(values[math.ceil(0.9 * len(values)) - 1],
                                                     rel=statistics.PERCENTILE_ERROR)
    got_reviews = Counter()
    for m in data.reviews:
        for outcome in ("approved", "reinvestigate", "revise"):
            if getattr(m, outcome):
                got_reviews[(m.label, outcome)] = getattr(m, outcome)
    assert got_reviews == reviews and sum(reviews.values()) > 10
    assert data.review_totals().returned == sum(n for (_, o), n in reviews.items() if o != "approved")

    with db.reading() as session:
        only = dashboards.throughput(session, user("legal_review1"), since, until, process="case_receiver", now=NOW)
    assert {k for k, _ in only.processes} == {"case_receiver"} and all(s.process_key == "case_receiver" for s in only.steps)
    with db.reading() as session, pytest.raises(dashboards.FilterInvalid, match="起始日期不能晚于截止日期"):
        dashboards.throughput(session, user("legal_review1"), until, since, now=NOW)


# --- the pages show the same numbers ---------------------------------------------------------

@pytest.fixture
def web(db, seeded, tmp_path, monkeypatch):
    monkeypatch.setattr(dashboards, "utcnow", lambda: NOW)
    app = make_app(db, tmp_path)
    browser = Browser(app)
    assert browser.login("leadership_chief").status_code == 302
    return browser


def page(browser, url):
    response = browser.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return lxml.html.fromstring(response.get_data(as_text=True))


def test_the_pages_show_the_engine_numbers(db, web, user, seeded):
    chief = user("leadership_chief")
    with db.reading() as session:
        overview = dashboards.overview(session, chief, now=NOW)
        board = dashboards.overdue_board(session, chief, now=NOW)
        flow = [d for d in seeded["process_definitions"] if d["key"] == "case_flow"][0]
        view = dashboards.process_view(session, chief, flow["id"])
        data = dashboards.throughput(session, chief, now=NOW)
    doc = page(web, "/dashboard")
    for r in overview.rows:
        row = doc.xpath(f'//table[@id="overview"]//tr[@data-definition="{r.definition_id}"]')[0]
        shown = {el.get("data-k"): int(el.text_content()) for el in row.xpath(".//*[@data-k]")}
        assert shown == {k: getattr(r, k) for k in shown} and len(shown) == 6

    doc = page(web, f"/dashboard/process/{flow['id']}")
    assert json.loads(doc.get_element_by_id("diagram-badges").text) == view.badges()
    for a in view.activities:
        row = doc.xpath(f'//table[@id="activities"]//tr[@data-element="{a.element_id}"]')[0]
        assert int(row.xpath('.//*[@data-k="waiting"]')[0].text_content()) == a.waiting
        assert int(row.xpath('.//*[@data-k="completed"]')[0].text_content()) == a.completed

    doc = page(web, "/dashboard/overdue")
    for d in board.departments:
        for p in d.posts:
            row = doc.xpath(f'//table[@id="board"]//tr[@data-post="{p.code or "-"}"]')[0]
            assert [int(row.xpath(f'.//*[@data-k="{k}"]')[0].text) for k in ("overdue", "due_soon")] == [p.overdue, p.due_soon]
    assert len(doc.xpath('//table[@id="deadline-tasks"]/tbody/tr')) == min(50, board.total)

    doc = page(web, "/dashboard/throughput")
    for s in data.steps:
        row = doc.xpath(f'//table[@id="table-steps"]//tr[@data-step="{s.process_key}:{s.element_id}"]')[0]
        assert int(row.xpath('.//*[@data-k="count"]')[0].text) == s.count
        assert int(row.xpath('.//*[@data-k="p90"]')[0].get("data-seconds")) == round(s.p90_seconds)
    for m in data.months:
        row = doc.xpath(f'//table[@id="table-months"]//tr[@data-period="{m.start.isoformat()}"]')[0]
        for k, _ in data.processes:
            assert int(row.xpath(f'.//*[@data-k="started:{k}"]')[0].text) == m.started.get(k, 0)
    charts = json.loads(doc.get_element_by_id("throughput-data").text)
    assert charts["reviews"]["approved"] == [m.approved for m in data.reviews]


def test_the_list_page_and_the_csv_have_the_same_rows(db, web, user, seeded):
    query = "process=case_flow&status=running&overdue=1&sort=business_key"
    expected = truth(seeded, process="case_flow", status="running", overdue=True, sort="business_key")
    keys = {i["id"]: i["business_key"] for i in seeded["process_instances"]}
    listed, n = [], 1
    while True:
        doc = page(web, f"/dashboard/instances?{query}&page={n}")
        listed += [int(r.get("data-id")) for r in doc.xpath('//table[@id="instances"]/tbody/tr[@data-id]')]
        if not doc.xpath('//a[@rel="next"]'):
            break
        n += 1
    assert listed == expected
    response = web.get(f"/dashboard/instances.csv?{query}")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["案件编号", "流程", "版本", "当事人/案件名称", "状态", "当前环节", "是否超期", "承办部门", "发起时间", "结束时间",
                       "决定书文号"]
    assert [r[0] for r in rows[1:]] == [keys[i] for i in expected]
    assert all(r[4] == "办理中" and r[6] == "是" for r in rows[1:])
    everything = list(csv.reader(io.StringIO(web.get("/dashboard/instances.csv").get_data().decode("utf-8-sig"))))
    assert len(everything) == 601
    formulas = [r[3] for r in everything[1:] if "HYPERLINK" in r[3]]
    assert formulas and all(f.startswith("'=") for f in formulas)  # no formula injection into Excel/WPS


def test_pages_escape_and_refuse_what_they_must(db, web, seeded, tmp_path):
    html = web.get("/dashboard/instances?q=script").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    response = web.get("/dashboard/instances?status=nope&started_from=2026-13-01")
    assert response.status_code == 200 and "状态无效" in response.get_data(as_text=True)
    response = web.get("/dashboard/throughput?since=2026-06-01&until=2026-01-01")
    assert response.status_code == 400 and "起始日期不能晚于截止日期" in response.get_data(as_text=True)
    assert web.get("/dashboard/process/999999").status_code == 404
    assert web.get("/dashboard/instances/999999").status_code == 404
    assert web.get("/dashboard/overdue?page=abc&kind=zzz").status_code == 200
    officer = Browser(make_app(db, tmp_path))
    officer.login("supervision_investigate1")
    for url in ("/dashboard", "/dashboard/instances", "/dashboard/instances.csv", "/dashboard/overdue",
                "/dashboard/throughput"):
        assert officer.get(url).status_code == 403, url
    assert "流程监控" not in officer.get("/inbox").get_data(as_text=True)
    assert "流程监控" in web.get("/inbox").get_data(as_text=True)


def test_a_year_without_a_calendar_is_estimated_and_the_page_says_so(db):
    h = dashboards.horizon(datetime(2026, 12, 30, 10, 0, tzinfo=TZ))  # 3 working days reach into 2027
    assert h.soon_until == date(2027, 1, 4) and "2027" in h.warning and "周一至周五估算" in h.warning
    assert dashboards.horizon(NOW).warning is None
    assert dashboards.working_days_overdue(datetime(2027, 1, 8, 23, 59, tzinfo=TZ), date(2027, 1, 4)) == -4
