#!/usr/bin/env python
"""The web under load: completions per second with N open tasks in one post.

    .venv/bin/python bench/http_bench.py [--open 2000,100000] [--clients 20] [--duration 30] [--workers 2]

For each N: a fresh PostgreSQL schema (``--pg-url``, else ``ZHIFA_DATABASE_URL`` if it
is PostgreSQL, else the local test server), the demo organisation, the model
``bench/http_models/http_loop.bpmn`` (one task 办理 that comes back after each
completion, assigned to the case's handler), one case per client, and N more open tasks
of the post 环境监察大队·调查岗 written directly (no ANALYZE is run: plans must not need
statistics). Then ``zhifa serve`` (gunicorn, ``--workers``) on 127.0.0.1 and C clients,
each a user of that post logging in through the form and repeating: GET /inbox (我的待办,
with the menu counts over the post's N tasks), GET the task page, POST its form
(CSRF token included). Every request goes to loopback only; each run stops after
``--duration`` seconds or ``--max-completions``.

Prints completions/s, p50/p95/p99 of each request kind in ms, errors, and the CPU seconds
of the server (gunicorn master and workers) and of the database (the PostgreSQL backends
serving the server, found by application_name), then each inbox page's median time for
one client alone (我的待办, 岗位待办 pages 1 and 2, the last page, overdue, a search), with the
load average.
"""
from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from bench.engine_bench import DEFAULT_PG, _percentile, pg_reachable  # noqa: E402
from engine.access import identity  # noqa: E402
from engine.deploy import repository  # noqa: E402
from engine.execution import runtime  # noqa: E402
from engine.store import search_index  # noqa: E402
from engine.store.db import Database  # noqa: E402
from engine.store.models import NO_DUE, HumanTask, ProcessInstance, TaskCandidate  # noqa: E402
from organisation import demo  # noqa: E402
from zhifa import bureau, schema  # noqa: E402

bureau.install()
MODELS = ROOT / "bench" / "http_models"
POST = "supervision.investigate"
PASSWORD = "zhifa2026"
APP_NAME = "zhifa_http_bench"
TICK = os.sysconf("SC_CLK_TCK")


# --- database and server -------------------------------------------------------------------

def seed(url: str, open_tasks: int, clients: int) -> list[str]:
    """Demo organisation, the loop model, one case per client, ``open_tasks`` more in the post (a case each)."""
    db = Database(url)
    schema.upgrade(db)
    names = [f"bench{i:02d}" for i in range(clients)]
    with db.transaction() as session:
        demo.load(session)
        repository.deploy(session, repository.read_paths([MODELS]), source="bench")
        shared = identity.hash_password(PASSWORD)
        users = [identity.add_user(session, n, None, f"压测{n[-2:]}号", [POST], password_hash=shared) for n in names]
        session.flush()
        for user in users:
            runtime.start(session, "http_loop", user, {"handler": user.username, "note": ""})
        definition_id = runtime.start(session, "http_loop", users[0], {"handler": "nobody", "note": ""}).definition_id
    base = datetime.now(timezone.utc)
    for start in range(0, open_tasks, 5000):
        numbers = range(start, min(open_tasks, start + 5000))
        cases = [dict(definition_id=definition_id, process_key="http_loop", business_key=f"FILL-{i:06d}",
                      title=f"待办企业{i}", status="running", state="") for i in numbers]  # a case per task, as in use
        rows, candidates = [], []
        with db.transaction() as session:
            case_ids = session.scalars(insert(ProcessInstance).returning(ProcessInstance.id, sort_by_parameter_order=True),
                                       cases).all()
            for i, case_id in zip(numbers, case_ids):
                task_id, due = str(uuid.uuid4()), base + timedelta(hours=i % 2000 - 200) if i % 4 else None
                created = base - timedelta(seconds=open_tasks - i)
                rows.append(dict(id=task_id, instance_id=case_id, process_key="http_loop", business_key=f"FILL-{i:06d}",
                                 title=f"待办企业{i}", element_id="Task_handle", name="办理", candidate_groups=POST,
                                 candidate_users="", assignee=None, priority=50, due_at=due, state="ready",
                                 suspended=False, created_at=created))
                candidates.append(dict(task_id=task_id, kind="group", value=POST, claimable=True,
                                       due_key=due or NO_DUE, created_at=created))
            session.execute(insert(HumanTask), rows)
            session.execute(insert(TaskCandidate), candidates)
            search_index.add(session, [(r["instance_id"], r["business_key"], r["title"]) for r in rows])
    db.dispose()
    return names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, data_dir: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "ZHIFA_DATABASE_URL": url, "ZHIFA_DATA_DIR": data_dir, "ZHIFA_SECRET_KEY": "bench-" + "x" * 32,
           "ZHIFA_LOG_LEVEL": "WARNING"}
    return launch([str(ROOT / ".venv/bin/zhifa"), "serve", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", str(workers)], env, port)


def launch(argv: list[str], env: dict, port: int) -> tuple[subprocess.Popen, str]:
    """Start a server listening on ``port`` and wait until its login page answers."""
    server = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            urllib.request.urlopen(base + "/login", timeout=2).read()
            return server, base
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited")
            time.sleep(0.25)
    raise RuntimeError(f"{argv[0]} did not answer in 60 s")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0.0


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def server_pids(server: subprocess.Popen) -> list[int]:
    return [server.pid, *_children(server.pid)]


def db_pids(admin_url: str) -> list[int]:
    probe = create_engine(admin_url)
    with probe.connect() as c:
        pids = [r[0] for r in c.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"),
                                        {"a": APP_NAME})]
    probe.dispose()
    return pids


def settled(admin_url: str, limit: float = 120.0) -> float:
    """Wait (at most ``limit`` s) until no autovacuum worker runs: the load leaves tens of thousands
    of dead index rows behind, and a page timed while autovacuum clears them on a 2-core machine
    measures the vacuum. Returns the seconds waited."""
    probe, began = create_engine(admin_url), time.monotonic()
    with probe.connect() as c:
        while time.monotonic() - began < limit and c.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")).scalar():
            time.sleep(0.5)
    probe.dispose()
    return time.monotonic() - began


# --- clients ---------------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Stats:
    ms: dict[str, list[float]] = field(default_factory=lambda: {"login": [], "inbox": [], "task": [], "post": []})
    completions: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_TASK = re.compile(r'href="/tasks/([0-9a-f-]{36})"')


class Client:
    def __init__(self, base: str, username: str, stats: Stats):
        self.base, self.username, self.stats = base, username, stats
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect())

    def _call(self, kind: str, path: str, form: dict | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        t0 = time.perf_counter()
        try:
            with self.opener.open(self.base + path, data=data, timeout=60) as response:
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read().decode(errors="replace")
        ms = (time.perf_counter() - t0) * 1000
        with self.stats.lock:
            self.stats.ms[kind].append(ms)
        return status, body

    def _error(self, what: str) -> None:
        with self.stats.lock:
            self.stats.errors.append(f"{self.username}: {what}")

    def login(self) -> bool:
        _, page = self._call("login", "/login")
        token = _CSRF.search(page)
        status, _ = self._call("login", "/login", {"csrf_token": token[1] if token else "", "username": self.username,
                                                   "password": PASSWORD})
        if status != 302:
            self._error(f"login {status}")
        return status == 302

    def work(self, stop_at: float, budget: threading.Semaphore) -> None:
        if not self.login():
            return
        while time.monotonic() < stop_at and budget.acquire(blocking=False):
            status, page = self._call("inbox", "/inbox?tab=mine")
            found = _TASK.search(page)
            if status != 200 or not found:
                self._error(f"inbox {status}, task link {'found' if found else 'missing'}")
                return
            status, page = self._call("task", f"/tasks/{found[1]}")
            token = _CSRF.search(page)
            if status != 200 or not token:
                self._error(f"task page {status}")
                continue
            status, _ = self._call("post", f"/tasks/{found[1]}", {"csrf_token": token[1], "note": "同意，继续办理"})
            if status == 302:
                with self.stats.lock:
                    self.stats.completions += 1
            else:
                self._error(f"POST {status}")


PAGES = {"我的待办": "/inbox?tab=mine", "岗位待办 page 1": "/inbox?tab=group", "岗位待办 page 2": None,
         "岗位待办 last page": "/inbox?tab=group&before=end", "岗位待办 overdue": "/inbox?tab=group&due=overdue",
         "岗位待办 search": "/inbox?tab=group&q=" + urllib.parse.quote("待办企业1999")}


PAGE_REPEAT = 31


def inbox_pages(base: str, username: str, repeat: int = PAGE_REPEAT) -> dict[str, float]:
    """Median ms of each inbox page, one client alone (after the load), ``repeat`` times each, the
    pages taken in turn: a pause of the machine (autovacuum after the load, a checkpoint) then
    spreads over all of them instead of skewing one."""
    stats = Stats()
    client = Client(base, username, stats)
    client.login()
    paths = dict(PAGES)
    _, page = client._call("inbox", PAGES["岗位待办 page 1"])  # page 2: the 下一页 link of page 1, a cursor
    paths["岗位待办 page 2"] = re.search(r'href="([^"]+)" rel="next"', page)[1].replace("&amp;", "&")
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeat):
        for name, path in paths.items():
            stats.ms["inbox"] = []
            status, _ = client._call("inbox", path)
            if status != 200:
                client._error(f"{name}: {status}")
            times[name] += stats.ms["inbox"]
    return {name: statistics.median(ms) for name, ms in times.items()}


def load(server: subprocess.Popen, base: str, users: list[str], pg_url: str, duration: float,
         max_completions: int) -> dict:
    """A warm pass (one cycle per client), then every client cycling until ``duration`` or
    ``max_completions``: completions/s, each request kind's percentiles, errors, and the CPU
    seconds of the server's processes and of its PostgreSQL backends (``application_name``)."""
    warm = Stats()  # connections, caches, first compiles
    budget = threading.Semaphore(len(users))
    threads = [threading.Thread(target=Client(base, u, warm).work, args=(time.monotonic() + 60, budget))
               for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = Stats()
    pids_s, pids_d = server_pids(server), db_pids(pg_url)
    cpu_s, cpu_d = {p: _cpu_of(p) for p in pids_s}, {p: _cpu_of(p) for p in pids_d}
    budget = threading.Semaphore(max_completions)
    began = time.monotonic()
    threads = [threading.Thread(target=Client(base, u, stats).work, args=(began + duration, budget)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - began
    server_cpu = sum(_cpu_of(p) - cpu_s.get(p, 0.0) for p in set(server_pids(server)) | set(pids_s))
    db_cpu = sum(_cpu_of(p) - cpu_d.get(p, 0.0) for p in set(db_pids(pg_url)) | set(pids_d))
    return {"wall_s": wall, "completions": stats.completions, "per_s": stats.completions / wall,
            "ms": {k: _summary(v) for k, v in stats.ms.items() if k != "login"}, "errors": stats.errors + warm.errors,
            "server_cpu_s": server_cpu, "db_cpu_s": db_cpu}


@contextlib.contextmanager
def scratch_schema(pg_url: str):
    """A fresh schema, dropped afterwards; yields the URL whose connections use it and are named
    ``APP_NAME`` (for the database's CPU)."""
    name = f"http_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{name}"'))
    sep = "&" if "?" in pg_url else "?"
    try:
        yield f"{pg_url}{sep}options=-csearch_path%3D{name}&application_name={APP_NAME}"
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def run_size(pg_url: str, open_tasks: int, clients: int, workers: int, duration: float,
             max_completions: int, pages: bool = True) -> dict:
    data_dir = tempfile.mkdtemp(prefix="zhifa-http-bench-")
    server = None
    try:
        with scratch_schema(pg_url) as url:
            try:
                t0 = time.perf_counter()
                users = seed(url, open_tasks, clients)
                seeded_s = time.perf_counter() - t0
                server, base = start_server(url, data_dir, workers)
                r = load(server, base, users, pg_url, duration, max_completions)
                if pages:
                    r.update(settled_s=settled(pg_url), pages=inbox_pages(base, users[0]))
                return {"open": open_tasks, "seed_s": seeded_s, **r}
            finally:
                if server is not None:
                    stop_server(server)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _summary(xs: list[float]) -> dict:
    xs = sorted(xs)
    if not xs:
        return {"n": 0}
    return {"n": len(xs), "p50": statistics.median(xs), "p95": _percentile(xs, 95), "p99": _percentile(xs, 99)}


def load_options(ap: argparse.ArgumentParser) -> None:
    """The options of a load run, shared with ``bench/http_floor.py``."""
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (4 threads each)")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of load per run (default 30)")
    ap.add_argument("--max-completions", type=int, default=20_000)
    ap.add_argument("--pg-url", default=None)


def pg_url_of(args) -> str | None:
    """``--pg-url``, else ``ZHIFA_DATABASE_URL`` if it is PostgreSQL, else the local test server;
    None (and why, on stderr) if it does not answer."""
    pg_url = args.pg_url or (os.environ.get("ZHIFA_DATABASE_URL", "")
                             if os.environ.get("ZHIFA_DATABASE_URL", "").startswith("postgresql") else DEFAULT_PG)
    if (why := pg_reachable(pg_url)) is not None:
        print(f"PostgreSQL unreachable at {pg_url}: {why}", file=sys.stderr)
        return None
    return pg_url


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--open", default="2000,100000", help="open tasks in the post, comma-separated sizes")
    load_options(ap)
    args = ap.parse_args(argv)
    if (pg_url := pg_url_of(args)) is None:
        return 2
    sizes = [int(s) for s in args.open.split(",") if s.strip()]
    print(f"zhifa HTTP load: {args.clients} clients (login form, GET /inbox, GET task, POST form), "
          f"zhifa serve --workers {args.workers}, PostgreSQL, {args.duration:g} s per size, {os.cpu_count()} CPUs")
    print(f"{'open tasks':>10}{'compl/s':>9}{'errors':>7}  {'ms p50/p95/p99':<15}{'POST':>18}{'GET inbox':>18}"
          f"{'GET task':>18}{'server CPU':>12}{'DB CPU':>9}")
    results = []
    for n in sizes:
        r = run_size(pg_url, n, args.clients, args.workers, args.duration, args.max_completions)
        results.append(r)
        cell = lambda k: "/".join(f"{r['ms'][k].get(p, 0):.0f}" for p in ("p50", "p95", "p99"))  # noqa: E731
        print(f"{n:>10,}{r['per_s']:>9.1f}{len(r['errors']):>7}  {'':<15}{cell('post'):>18}{cell('inbox'):>18}"
              f"{cell('task'):>18}{r['server_cpu_s']:>10.1f} s{r['db_cpu_s']:>7.1f} s")
        for e in r["errors"][:5]:
            print(f"    error: {e}")
    waited = ", ".join(f"{r['settled_s']:.0f}" for r in results)
    print(f"\ninbox pages, one client after the load and its autovacuum (waited {waited} s), "
          f"median ms of {PAGE_REPEAT} requests each, pages in turn")
    print(f"{'page':<22}" + "".join(f"{r['open']:>10,}" for r in results)
          + (f"{'ratio':>8}" if len(results) > 1 else ""))
    for name in PAGES:
        cells = [r["pages"][name] for r in results]
        print(f"{name:<22}" + "".join(f"{c:>10.1f}" for c in cells)
              + (f"{cells[-1] / cells[0]:>7.2f}×" if len(results) > 1 else ""))
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(f"{last['open']:,} ÷ {first['open']:,} open tasks: completions/s {last['per_s'] / first['per_s']:.2f}×, "
              f"POST p95 {last['ms']['post']['p95'] / first['ms']['post']['p95']:.2f}×, "
              f"GET inbox p95 {last['ms']['inbox']['p95'] / first['ms']['inbox']['p95']:.2f}×")
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
