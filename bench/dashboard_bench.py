#!/usr/bin/env python
"""Dashboard speed on a large database: seed N cases by bulk insert, time each page.

    .venv/bin/python bench/dashboard_bench.py [--instances 100000] [--backend sqlite|postgresql|both]
                                              [--repeat 20] [--pg-url URL] [--json] [--only throughput]

Seeding writes rows directly (``process_instances``, ``human_tasks``,
``task_candidates``, ``case_departments``) — not through the engine — for the process
versions deployed from ``bpmn/`` and ``dmn/``: cases started over the last two years,
55 % running, 5 % suspended, 33 % completed, 7 % terminated; each with the user tasks of
its process done one after the other (exponential durations, mean 3 days), a ready task
for open cases (80 % with a due date between 10 days ago and 30 days ahead, some
claimed), and a 法制审核 task with an outcome in a quarter of the cases.

Each page is then requested ``--repeat`` times through the Flask app (logged in as
局长, the test client, no network); the time is the server's: from the request to the
last byte of the response (for the CSV: the whole streamed export). Reports the median
and the 95th percentile per page and backend. ``seed()`` is also what the dashboard
tests use, with a few hundred cases and a pinned clock.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from engine.execution import case_counts, case_statistics, status_counts  # noqa: E402
from engine.inbox import statistics as step_statistics  # noqa: E402
from engine.store.models import (NO_DUE, CaseDepartment, Group, HumanTask, Membership, ProcessDefinition,  # noqa: E402
                                 ProcessInstance, Resource, TaskCandidate, User)
from monitoring import reviews  # noqa: E402

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
LEGAL_STEP = ("UserTask_legal_review", "法制审核", ["legal.review"])
PARTIES = ["鲁山县某化工有限公司", "平顶山某建材厂", "张某某", "鲁山县某养殖场", "某某砂石加工点",
           "<script>alert(1)</script>某厂", "=HYPERLINK(\"http://x\")某公司", "李某", "鲁山县某医院", "某汽修厂"]
STATUSES = [("running", 0.55), ("suspended", 0.05), ("completed", 0.33), ("terminated", 0.07)]


def process_steps(session: Session, definition: ProcessDefinition) -> list[tuple[str, str, list[str]]]:
    """(element id, name, candidate groups) of the user tasks of a version, in document order."""
    xml = session.scalar(select(Resource.content).where(Resource.id == definition.resource_id))
    root = etree.fromstring(xml.encode("utf-8"))
    known = set(session.scalars(select(Group.code)))
    steps = []
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        if process.get("id") != definition.key:
            continue
        lanes = {ref.text.strip(): lane.get("name") for lane in process.iter(f"{{{BPMN_NS}}}lane")
                 for ref in lane.iter(f"{{{BPMN_NS}}}flowNodeRef") if ref.text}
        for el in process.iter(f"{{{BPMN_NS}}}userTask"):
            raw = el.get(f"{{{CAMUNDA_NS}}}candidateGroups") or lanes.get(el.get("id")) or ""
            if "${" in raw:  # an expression: the posts it names, else the post suffix in the first department
                groups = [g for g in re.findall(r"'([a-z_]+\.[a-z_]+)'", raw) if g in known][:1]
                groups = groups or [f"dev.{m}" for m in re.findall(r"'\.([a-z_]+)'", raw) if f"dev.{m}" in known][:1]
            else:
                groups = [g.strip() for g in raw.split(",") if g.strip() in known]
            steps.append((el.get("id"), el.get("name") or el.get("id"), groups or ["supervision.investigate"]))
    return steps


def seed(session: Session, instances: int, *, now: datetime, seed_value: int = 1, span_days: int = 730,
         key_prefix: str = "LSHB", chunk: int = 5000) -> None:
    """Bulk-insert ``instances`` cases over every deployed process version (see module doc)."""
    rng = random.Random(seed_value)
    now = now.astimezone(timezone.utc)
    definitions = [d for d in session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.id))]
    steps = {d.id: process_steps(session, d) for d in definitions}
    definitions = [d for d in definitions if steps[d.id]]
    group_department = dict(session.execute(select(Group.code, Group.department_code)).all())
    members: dict[str, list[str]] = {}
    for username, group in session.execute(select(User.username, Membership.group_code).join(Membership)):
        members.setdefault(group, []).append(username)
    next_id = (session.scalar(select(func.max(ProcessInstance.id))) or 0) + 1
    rows_i, rows_t, rows_c, rows_d = [], [], [], []

    def flush() -> None:
        for table, rows in ((ProcessInstance, rows_i), (CaseDepartment, rows_d), (HumanTask, rows_t),
                            (TaskCandidate, rows_c)):
            if rows:
                session.execute(insert(table.__table__), rows)
                rows.clear()

    for n in range(instances):
        instance_id = next_id + n
        d = rng.choice(definitions)
        status = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES])[0]
        path = list(steps[d.id])
        if rng.random() < 0.25:
            path.insert(min(len(path), max(1, len(path) // 2)), LEGAL_STEP)
        started = now - timedelta(seconds=rng.uniform(3600, span_days * 86400))
        title = rng.choice(PARTIES)
        business_key = f"{key_prefix}-{started.year}-{n + 1:06d}"
        if status == "completed":
            done = rng.randint(1, len(path))
        else:
            done = rng.randint(0, len(path) - 1)
        t, tasks = started, []
        for element_id, name, groups in path[:done]:
            finished = t + timedelta(seconds=min(rng.expovariate(1 / (3 * 86400)), 40 * 86400) + 60)
            if finished >= now:
                break
            submitted = {"opinion": "同意"}
            if element_id == LEGAL_STEP[0]:
                submitted = {"legal_review_outcome": rng.choice(["approved", "approved", "reinvestigate", "revise"])}
            user = rng.choice(members.get(groups[0], ["leadership_chief"]))
            tasks.append(dict(state="completed", element_id=element_id, name=name, groups=groups, created_at=t,
                              completed_at=finished, completed_by=user, assignee=user,
                              submitted=json.dumps(submitted, ensure_ascii=False)))
            t = finished
        if status == "completed" and len(tasks) < done:
            status = "running"
        ended = None
        if status in ("running", "suspended"):
            element_id, name, groups = path[len(tasks)]
            due = t + timedelta(days=rng.uniform(1, 30)) if rng.random() < 0.8 else None
            if due is not None and rng.random() < 0.5:
                due = now + timedelta(days=rng.uniform(-10, 30))
            assignee = rng.choice(members.get(groups[0], [None])) if rng.random() < 0.3 else None
            tasks.append(dict(state="ready", element_id=element_id, name=name, groups=groups, created_at=t,
                              due_at=due, assignee=assignee, suspended=status == "suspended"))
        elif status == "terminated":
            element_id, name, groups = path[min(len(tasks), len(path) - 1)]
            ended = min(now, t + timedelta(days=rng.uniform(0, 10)))
            tasks.append(dict(state="cancelled", element_id=element_id, name=name, groups=groups, created_at=t,
                              completed_at=ended))
        else:
            ended = t
        departments = {group_department[g] for task in tasks for g in task["groups"] if g in group_department}
        start_department = group_department.get(path[0][2][0])
        if start_department:
            departments.add(start_department)
        rows_i.append(dict(id=instance_id, definition_id=d.id, process_key=d.key, business_key=business_key,
                           title=title, department_code=start_department, status=status, state="",
                           started_at=started, updated_at=t, ended_at=ended, next_timer_at=None))
        rows_d.extend(dict(instance_id=instance_id, department_code=c) for c in sorted(departments))
        for task in tasks:
            task_id = str(uuid.UUID(int=rng.getrandbits(128)))
            groups = task.pop("groups")
            rows_t.append(dict(id=task_id, instance_id=instance_id, process_key=d.key, business_key=business_key,
                               title=title, lane=None, candidate_groups=",".join(groups), candidate_users="",
                               priority=50, follow_up_at=None, problem=None, due_at=task.pop("due_at", None),
                               suspended=task.pop("suspended", False), completed_by=task.pop("completed_by", None),
                               completed_at=task.pop("completed_at", None), submitted=task.pop("submitted", None),
                               assignee=task.pop("assignee", None), **task))
            if task["state"] == "ready":  # the 岗位待办 index rows, with the sort keys the engine writes
                row = rows_t[-1]
                rows_c.extend(dict(task_id=task_id, kind="group", value=g, suspended=row["suspended"],
                                   claimable=row["assignee"] is None and not row["suspended"],
                                   due_key=row["due_at"] or NO_DUE, created_at=row["created_at"]) for g in groups)
        if len(rows_i) >= chunk:
            flush()
    flush()
    session.flush()
    step_statistics.rebuild(session)  # what the migrations backfill; the engine keeps them current after that
    case_statistics.rebuild(session)
    case_counts.rebuild(session)
    status_counts.rebuild(session)
    reviews.rebuild(session)
    if session.get_bind().dialect.name == "postgresql":  # explicit ids: move the serial past them
        session.execute(text("SELECT setval(pg_get_serial_sequence('process_instances', 'id'), "
                             "(SELECT max(id) FROM process_instances))"))


# --- the benchmark ---------------------------------------------------------------------

def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))] if ordered else 0.0


def run_backend(url: str, instances: int, repeat: int, data_dir: Path, only: str | None = None) -> dict:
    from engine.deploy import repository
    from engine.store.db import Database
    from organisation import demo
    from tests.webclient import Browser, make_app
    from workdays import calendar
    from zhifa import bureau, schema

    bureau.install()

    db = Database(url)
    schema.upgrade(db)
    with db.transaction() as session:
        demo.load(session)
        repository.deploy(session, repository.read_paths([ROOT / "dmn", ROOT / "bpmn"]), source="seed")
    now = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    with db.transaction() as session:
        seed(session, instances, now=now)
    seeded = time.perf_counter() - t0
    # what the README asks after a bulk import (on PostgreSQL VACUUM too: index-only scans need the visibility map)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("ANALYZE" if db.is_sqlite else "VACUUM ANALYZE")
    with db.reading() as session:
        calendar.load(session)
        penalty = session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == "penalty")
                                 .order_by(ProcessDefinition.version.desc()))
        counts = {t.__tablename__: session.scalar(select(func.count()).select_from(t))
                  for t in (ProcessInstance, HumanTask, TaskCandidate, CaseDepartment)}
    app = make_app(db, data_dir)
    browser = Browser(app)
    assert browser.login("leadership_chief").status_code == 302
    pages = {
        "overview /dashboard": "/dashboard",
        "diagram /dashboard/process/<penalty>": f"/dashboard/process/{penalty}",
        "instance list (no filter, page 1)": "/dashboard/instances",
        "instance list (page 1000)": "/dashboard/instances?page=1000",
        "instance list (process+status+dept+overdue)": "/dashboard/instances?process=penalty&status=running"
                                                      "&department=supervision&overdue=1",
        "instance list (party search)": "/dashboard/instances?q=%E5%8C%96%E5%B7%A5&sort=business_key",
        "instance list (current step)": "/dashboard/instances?step=UserTask_investigate",
        "CSV export (penalty, running)": "/dashboard/instances.csv?process=penalty&status=running",
        "overdue board": "/dashboard/overdue",
        "overdue board (one post)": "/dashboard/overdue?post=supervision.investigate",
        "throughput (12 months)": "/dashboard/throughput",
    }
    results = {}
    if only:
        pages = {label: path for label, path in pages.items() if only in label}
    for label, path in pages.items():
        times = []
        size = 0
        for _ in range(repeat):
            t = time.perf_counter()
            response = browser.get(path)
            body = response.get_data()
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (path, response.status_code)
            size = len(body)
        results[label] = {"median_ms": round(statistics.median(times), 1), "p95_ms": round(_percentile(times, 95), 1),
                          "bytes": size}
    full = []
    for _ in range(0 if only else max(1, repeat // 10)):
        t = time.perf_counter()
        body = browser.get("/dashboard/instances.csv").get_data()
        full.append((time.perf_counter() - t) * 1000)
    if full:
        results["CSV export (all cases)"] = {"median_ms": round(statistics.median(full), 1),
                                             "p95_ms": round(_percentile(full, 95), 1), "bytes": len(body)}
    db.dispose()
    return {"rows": counts, "seed_seconds": round(seeded, 1), "pages": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", help="time only the pages whose label contains this, e.g. throughput")
    args = parser.parse_args()
    pg_url = args.pg_url or (os.environ.get("ZHIFA_DATABASE_URL", "") if os.environ.get(
        "ZHIFA_DATABASE_URL", "").startswith("postgresql") else "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    report = {}
    tmp = Path(tempfile.mkdtemp(prefix="zhifa-dash-bench-"))
    try:
        if args.backend in ("sqlite", "both"):
            report["SQLite"] = run_backend(f"sqlite:///{tmp / 'bench.db'}", args.instances, args.repeat, tmp / "data",
                                               args.only)
        if args.backend in ("postgresql", "both"):
            from sqlalchemy import create_engine, text
            schema_name = f"dash_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE SCHEMA "{schema_name}"'))
            try:
                sep = "&" if "?" in pg_url else "?"
                report["PostgreSQL"] = run_backend(f"{pg_url}{sep}options=-csearch_path%3D{schema_name}",
                                                   args.instances, args.repeat, tmp / "data-pg", args.only)
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP SCHEMA "{schema_name}" CASCADE'))
                admin.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for backend, result in report.items():
        print(f"\n{backend}: {args.instances} cases seeded in {result['seed_seconds']} s; rows {result['rows']}")
        print(f"{'page':<48}{'median ms':>12}{'p95 ms':>10}")
        for label, r in result["pages"].items():
            print(f"{label:<48}{r['median_ms']:>12}{r['p95_ms']:>10}")


if __name__ == "__main__":
    main()
