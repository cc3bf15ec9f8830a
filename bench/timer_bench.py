#!/usr/bin/env python
"""Timers on time: how late ``zhifa worker`` fires a PT2S timer.

    .venv/bin/python bench/timer_bench.py [--cases N] [--backend sqlite|postgresql|both] [--workers W]

On a fresh database (a temporary SQLite file; a PostgreSQL schema dropped at the end)
it starts W ``zhifa worker`` processes with their default settings, then N cases of
``bench/timer_models/timer_case.bpmn`` (start → wait PT2S → a task) spread over a few
seconds, and reads each case's lateness: when the timer fired (the ``timer`` audit
event) minus when it was due (the case's timer job). Prints median, p95 and max with
the load average. Everything runs on this machine; the workers are stopped at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.engine_bench import DEFAULT_PG, _percentile, pg_reachable, pg_run, sqlite_run  # noqa: E402
from engine.deploy import repository  # noqa: E402
from engine.execution import runtime  # noqa: E402
from engine.store.models import AuditEvent, ProcessInstance  # noqa: E402

MODELS = ROOT / "bench" / "timer_models"
ZHIFA = ROOT / ".venv" / "bin" / "zhifa"


def measure(run, cases: int, workers: int, spread: float, timeout: float) -> dict:
    with run.db.transaction() as session:
        repository.deploy(session, repository.read_paths([MODELS]), source="bench")
    env = {**os.environ, "ZHIFA_DATABASE_URL": run.url, "ZHIFA_DATA_DIR": str(Path(run.url.split("///")[-1]).parent)
           if run.url.startswith("sqlite") else os.environ.get("ZHIFA_DATA_DIR", "/tmp/zhifa-timer-bench"),
           "ZHIFA_LOG_LEVEL": "INFO"}
    procs = [subprocess.Popen([str(ZHIFA), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for _ in range(workers)]
    try:
        for p in procs:  # each has migrated, connected and logged "worker … started"
            while "started" not in (line := p.stderr.readline()):
                if not line:
                    raise RuntimeError("zhifa worker exited")
            threading.Thread(target=p.stderr.read, daemon=True).start()  # keep draining its log
        time.sleep(0.5)
        starter = run.users["supervision.investigate"]
        due: dict[int, datetime] = {}
        for _ in range(cases):
            with run.db.transaction() as session:
                instance = runtime.start(session, "timer_case", starter)
                due[instance.id] = instance.next_timer_at
            time.sleep(spread / cases)
        fired: dict[int, datetime] = {}
        deadline = time.monotonic() + timeout
        while len(fired) < cases and time.monotonic() < deadline:
            time.sleep(0.2)
            with run.db.reading() as session:
                for instance_id, details in session.execute(select(AuditEvent.instance_id, AuditEvent.details)
                                                            .where(AuditEvent.action == "timer")):
                    fired[instance_id] = datetime.fromisoformat(json.loads(details)["at"])
        with run.db.reading() as session:
            waiting = session.scalar(select(ProcessInstance.id).where(ProcessInstance.next_timer_at.is_not(None)))
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    late = sorted((fired[i] - due[i]).total_seconds() for i in fired)
    return {"cases": cases, "fired": len(fired), "still_waiting": waiting is not None, "workers": workers,
            "median_s": statistics.median(late) if late else None, "p95_s": _percentile(late, 95) if late else None,
            "max_s": late[-1] if late else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2, help="zhifa worker processes (default 2)")
    ap.add_argument("--spread", type=float, default=8.0, help="seconds over which the cases start (default 8)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--pg-url", default=None)
    args = ap.parse_args(argv)
    pg_url = args.pg_url or (os.environ.get("ZHIFA_DATABASE_URL", "")
                             if os.environ.get("ZHIFA_DATABASE_URL", "").startswith("postgresql") else DEFAULT_PG)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and (why := pg_reachable(pg_url)):
        print(f"PostgreSQL skipped (unreachable: {why})")
        backends.remove("postgresql")
    print(f"timer lateness, PT2S, {args.cases} cases over {args.spread:g} s, {args.workers} × zhifa worker (default settings)")
    print(f"{'backend':<14}{'fired':>8}{'median s':>10}{'p95 s':>8}{'max s':>8}")
    for backend in backends:
        run = sqlite_run() if backend == "sqlite" else pg_run(pg_url)
        try:
            r = measure(run, args.cases, args.workers, args.spread, timeout=args.spread + 60)
        finally:
            run.close()
        print(f"{backend:<14}{r['fired']:>5}/{r['cases']:<2}{r['median_s']:>10.3f}{r['p95_s']:>8.3f}{r['max_s']:>8.3f}")
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
