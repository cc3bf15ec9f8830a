#!/usr/bin/env python
"""zhifa against the floor of its stack, under the same HTTP load on the same machine.

    .venv/bin/python bench/http_floor.py [--rounds 3] [--open 2000] [--clients 20] [--duration 30] [--workers 2]

The floor is ``bench/floor_app.py``: Flask, flask-login, SQLAlchemy Core, Jinja2 and stock
SpiffWorkflow under gunicorn with ``zhifa serve``'s settings, doing only what the cycle of
``bench/http_bench.py`` cannot do without. Each round runs the floor, then zhifa (``--open``
open tasks in the post, no page timings), each in a fresh PostgreSQL schema, and prints for
both: completions/s, POST p95, and the server's and the database's CPU milliseconds per
cycle. The rounds alternate so that the machine's drift falls on both alike.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from bench import floor_app  # noqa: E402
from bench.http_bench import (PASSWORD, free_port, launch, load, load_options, pg_url_of, run_size,  # noqa: E402
                              scratch_schema, stop_server)


def seed(url: str, open_tasks: int, clients: int) -> list[str]:
    """The floor's tables, one user and one case per client, ``open_tasks`` more tasks of nobody's."""
    names = [f"floor{i:02d}" for i in range(clients)]
    spec, db = floor_app.model(), create_engine(url)
    with db.begin() as c:
        for statement in filter(str.strip, floor_app.SCHEMA.split(";")):
            c.execute(text(statement))
        shared = generate_password_hash(PASSWORD)
        c.execute(text("INSERT INTO floor_users (username, password_hash) VALUES (:u, :h)"),
                  [{"u": n, "h": shared} for n in names])
        for n in [*names, "nobody"]:
            wf = floor_app.new_case(spec, n)
            case = c.execute(text("INSERT INTO floor_cases (state) VALUES (:s) RETURNING id"),
                             {"s": floor_app.SERIALIZER.serialize_json(wf)}).scalar()
            c.execute(text("INSERT INTO floor_tasks (id, case_id, assignee, title, name, state) "
                           "VALUES (:id, :case, :u, '压测企业', '办理', 'ready')"),
                      [{"id": t.id, "case": case, "u": n} for t in floor_app.ready(wf)])
        c.execute(text("INSERT INTO floor_tasks (id, case_id, assignee, title, name, state) "
                       "SELECT gen_random_uuid(), :case, 'nobody', '待办企业' || i, '办理', 'ready' "
                       "FROM generate_series(1, :n) i"), {"case": case, "n": open_tasks})
    db.dispose()
    return names


def run_floor(pg_url: str, open_tasks: int, clients: int, workers: int, duration: float, max_completions: int) -> dict:
    with scratch_schema(pg_url) as url:
        users = seed(url, open_tasks, clients)
        port = free_port()
        env = {**os.environ, "FLOOR_DATABASE_URL": url, "FLOOR_SECRET_KEY": uuid.uuid4().hex * 2}
        gunicorn = str(ROOT / ".venv/bin/gunicorn")
        server, base = launch([gunicorn, "--chdir", str(ROOT), "--bind", f"127.0.0.1:{port}", "--workers",
                               str(workers), "--threads", "4", "--timeout", "30", "--access-logfile", "-",
                               "bench.floor_app:create_app()"], env, port)
        try:
            return load(server, base, users, pg_url, duration, max_completions)
        finally:
            stop_server(server)


def _line(label: str, r: dict) -> str:
    n = max(r["completions"], 1)
    return (f"{label:<8}{r['per_s']:>9.1f}{r['ms']['post'].get('p95', 0):>10.0f}"
            f"{r['server_cpu_s'] * 1000 / n:>12.1f}{r['db_cpu_s'] * 1000 / n:>9.1f}{len(r['errors']):>7}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--open", type=int, default=2000, help="open tasks in the post (zhifa) or of nobody (floor)")
    load_options(ap)
    args = ap.parse_args(argv)
    if (pg_url := pg_url_of(args)) is None:
        return 2
    print(f"floor vs zhifa: {args.clients} clients (login form, GET /inbox, GET task, POST form), {args.workers} "
          f"gunicorn workers × 4 threads, PostgreSQL, {args.open:,} more open tasks, {args.duration:g} s per run, "
          f"{os.cpu_count()} CPUs")
    print(f"{'':<8}{'compl/s':>9}{'POST p95':>10}{'server ms':>12}{'DB ms':>9}{'errors':>7}   (CPU per cycle)")
    per_s: dict[str, list[float]] = {"floor": [], "zhifa": []}
    for i in range(args.rounds):
        print(f"round {i + 1}")
        for label, run in (("floor", run_floor), ("zhifa", lambda *a: run_size(*a, pages=False))):
            r = run(pg_url, args.open, args.clients, args.workers, args.duration, args.max_completions)
            per_s[label].append(r["per_s"])
            print(_line(label, r))
            for e in r["errors"][:3]:
                print(f"    error: {e}")
    floor, zhifa = statistics.median(per_s["floor"]), statistics.median(per_s["zhifa"])
    print(f"median completions/s: floor {floor:.1f}, zhifa {zhifa:.1f} ({zhifa / floor:.2f} of the floor)")
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
