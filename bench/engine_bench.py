#!/usr/bin/env python
"""What persistence costs: the engine against raw SpiffWorkflow, per task completion.

    .venv/bin/python bench/engine_bench.py [--instances N] [--backend sqlite|postgresql|both] [--json]

Runs N cases of ``bench/models/bench_case.bpmn`` (20 user tasks on the path taken:
forms of 2–3 fields, candidate groups of the demo organisation, due dates, three
exclusive gateways with JUEL conditions, a business rule task with a DMN table and a
boundary timer) to their end, four ways:

- ``raw in memory``: stock SpiffWorkflow (``CamundaParser``, default script engine),
  one workflow object kept in memory; set the form values, ``run()``,
  ``do_engine_steps()``;
- ``raw serialize+reload``: the same, but every step starts from the workflow's JSON
  (``deserialize_json``) and ends by writing it (``serialize_json``): the stock
  ``BpmnWorkflowSerializer`` with the Camunda config, full JSON including the spec;
- ``engine SQLite`` / ``engine PostgreSQL``: ``engine.tasks.complete`` in one
  ``db.transaction()`` per completion, as the web does (lock, load, validate the form,
  run, projection, timers, audit, save, commit), on a fresh migrated database
  (a temporary SQLite file; a PostgreSQL schema dropped at the end).

The raw runs parse the same files after the deploy-time translation (JUEL → Python,
FEEL → Python), so all four execute the same conditions and decision table. Only the
completion is timed; finding the next task (the inbox query) is not. The modes take turns, one
case each per round, so that a machine whose speed drifts during the run slows them alike. Besides wall time
it reports this process's CPU time per completion (``time.process_time``), which other
work on the machine does not inflate (it leaves out the PostgreSQL server's own CPU and
SQLite's fsync wait).

Then the cost of one action by instance age: cases whose 案件审查 keeps returning the
case to 立案审查 (a loop of 7 user tasks), so the 2nd completion (age 1: one task done)
and the 51st (age 50) complete the same task with the same data; flat is the goal.
Also the stored sizes: the instance row (``process_instances.state``) at ages 1 and 50
and the spec row (``process_definitions.spec_json``).

PostgreSQL is ``--pg-url``, else ``ZHIFA_DATABASE_URL`` if it is a PostgreSQL URL, else
``postgresql+psycopg://postgres@127.0.0.1:5432/test``; with ``--backend both`` (the
default) it is skipped with a note when unreachable. ``--profile`` prints a cProfile of
the engine completions on the first backend. Nothing here touches the network beyond
that local server.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "bench" / "models"
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.camunda.parser import CamundaParser  # noqa: E402
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG as CAMUNDA_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import create_engine, event, select, text  # noqa: E402

from engine.deploy import repository  # noqa: E402
from engine.execution import runtime  # noqa: E402
from engine.inbox import tasks  # noqa: E402
from engine.spec import dmn, rules  # noqa: E402
from engine.store.db import Database  # noqa: E402
from engine.store.models import Membership, ProcessInstance, User  # noqa: E402
from organisation import demo  # noqa: E402
from workdays import calendar  # noqa: E402
from zhifa import bureau, schema  # noqa: E402

bureau.install()

PROCESS = "bench_case"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LOOP_TASK = "T02"          # 立案审查: where 案件审查's "return" sends the case
AGE_LOW, AGE_HIGH = 1, 50  # completed tasks before the measured action

# What an officer types into each task's form (strings, as a browser posts them).
# The path: an organisation, 80,000 yuan (→ 法制审核), asks for a hearing (→ 听证): 20 tasks.
SUBMIT: dict[str, dict[str, str]] = {
    "T01": {"party_name": "鲁山县某化工有限公司", "party_type": "organization", "source": "patrol"},
    "T02": {"file_ok": "true", "file_opinion": "符合立案条件，建议立案"},
    "T03": {"file_approved": "true", "file_approval_note": "同意立案"},
    "T04": {"inspected_on": "2026-03-02", "findings": "废水未经处理直接排放，现场制作笔录并拍照", "inspectors": "2"},
    "T05": {"evidence_count": "12", "evidence_note": "现场笔录、照片、监测报告"},
    "T06": {"fine_amount": "80000", "violation": "true", "legal_basis": "《水污染防治法》第八十三条"},
    "T07": {"legal_ok": "true", "legal_opinion": "事实清楚，证据确凿，适用依据正确，程序合法"},
    "T08": {"conclusion": "approve", "review_opinion": "同意"},
    "T09": {"discussed_on": "2026-03-20", "minutes": "经集体讨论，决定给予罚款八万元的行政处罚"},
    "T10": {"notified_on": "2026-03-23", "hearing_requested": "true"},
    "T11": {"hearing_on": "2026-04-02", "hearing_result": "当事人陈述申辩理由不成立"},
    "T12": {"decision_no": "鲁环罚〔2026〕12号", "final_amount": "80000"},
    "T13": {"decision_approved": "true", "decision_note": "同意"},
    "T14": {"delivered_on": "2026-04-10", "delivery_method": "direct"},
    "T15": {"paid": "true", "paid_amount": "80000"},
    "T16": {"execution_confirmed": "true", "execution_note": "已足额缴纳"},
    "T17": {"close_ok": "true", "close_opinion": "符合结案条件"},
    "T18": {"close_approved": "true", "close_note": "同意结案"},
    "T19": {"published": "true", "publication_ref": "GS-2026-0012"},
    "T20": {"archive_no": "DA-2026-0012", "pages": "86"},
}
_TYPED = {"inspectors": int, "evidence_count": int, "fine_amount": int, "final_amount": int,
          "paid_amount": int, "pages": int}


def raw_values(element_id: str, conclusion: str) -> dict[str, Any]:
    """The same values, typed as a SpiffWorkflow user would set them (dates stay ISO
    strings: the stock serializer has no converter for ``date``)."""
    out: dict[str, Any] = {}
    for k, v in submitted(element_id, conclusion).items():
        out[k] = _TYPED[k](v) if k in _TYPED else (v == "true" if v in ("true", "false") else v)
    return out


def submitted(element_id: str, conclusion: str) -> dict[str, str]:
    values = SUBMIT[element_id]
    return {**values, "conclusion": conclusion} if element_id == "T08" else values


# --- measurements ---------------------------------------------------------------

@dataclass
class Series:
    label: str
    ms: list[float] = field(default_factory=list)
    sql: list[int] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # this process's CPU time: robust to other load

    def summary(self) -> dict[str, Any]:
        xs = sorted(self.ms)
        out = {"n": len(xs), "median_ms": statistics.median(xs), "p95_ms": _percentile(xs, 95),
               "mean_ms": statistics.fmean(xs), "cpu_median_ms": statistics.median(self.cpu_ms)}
        if self.sql:
            out["sql_per_completion"] = statistics.median(self.sql)
        return out


def _percentile(xs: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted ``xs``."""
    k = max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return xs[k]


@dataclass
class AgeResult:
    label: str
    low_ms: list[float] = field(default_factory=list)
    high_ms: list[float] = field(default_factory=list)
    low_bytes: int = 0
    high_bytes: int = 0
    low_cpu: list[float] = field(default_factory=list)
    high_cpu: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        low, high = statistics.median(self.low_ms), statistics.median(self.high_ms)
        cpu_low, cpu_high = statistics.median(self.low_cpu), statistics.median(self.high_cpu)
        out = {"age_1_ms": low, "age_50_ms": high, "growth": high / low, "samples": len(self.low_ms),
               "age_1_cpu_ms": cpu_low, "age_50_cpu_ms": cpu_high, "cpu_growth": cpu_high / cpu_low}
        if self.high_bytes:
            out.update(age_1_bytes=self.low_bytes, age_50_bytes=self.high_bytes)
        return out


# --- raw SpiffWorkflow ---------------------------------------------------------------

def raw_specs():
    """Parse the bench models with the stock CamundaParser, after the deploy-time translation."""
    parser = CamundaParser()
    for path in sorted(MODELS.glob("*.dmn")):
        root = etree.parse(str(path)).getroot()
        problems = dmn.translate_dmn(root, path.name)
        assert not problems, problems
        parser.add_dmn_xml(root, filename=path.name)
    for path in sorted(MODELS.glob("*.bpmn")):
        root = etree.parse(str(path)).getroot()
        _, problems = rules.prepare(root, path.name)
        assert not problems, problems
        parser.add_bpmn_xml(root, filename=path.name)
    return parser.get_spec(PROCESS), parser.get_subprocess_specs(PROCESS)


class Raw:
    def __init__(self):
        self.spec, self.subprocess_specs = raw_specs()
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))

    def new(self, business_key: str) -> BpmnWorkflow:
        wf = BpmnWorkflow(self.spec, self.subprocess_specs)
        wf.task_tree.data.update(business_key=business_key)
        wf.do_engine_steps()
        return wf

    @staticmethod
    def next_task(wf: BpmnWorkflow):
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        return ready[0] if ready else None

    def run_in_memory(self, key: str = "BENCH", loop_until: int | None = None, on_step: Callable | None = None,
                      series: Series | None = None) -> list[float]:
        wf, times = self.new(key), []
        while (task := self.next_task(wf)) is not None:
            values = raw_values(task.task_spec.bpmn_id, _conclusion(len(times), loop_until))
            t0, c0 = time.perf_counter(), time.process_time()
            task.set_data(**values)
            task.run()
            wf.do_engine_steps()
            times.append((time.perf_counter() - t0) * 1000)
            if series is not None:
                series.cpu_ms.append((time.process_time() - c0) * 1000)
            if on_step and on_step(len(times), None):
                break
        return times

    def run_serialized(self, key: str = "BENCH", loop_until: int | None = None, on_step: Callable | None = None,
                       series: Series | None = None) -> list[float]:
        wf, times = self.new(key), []
        state = self.serializer.serialize_json(wf)
        while (task := self.next_task(wf)) is not None:
            task_id, element = task.id, task.task_spec.bpmn_id
            values = raw_values(element, _conclusion(len(times), loop_until))
            t0, c0 = time.perf_counter(), time.process_time()
            wf = self.serializer.deserialize_json(state)
            task = wf.get_task_from_id(task_id)
            task.set_data(**values)
            task.run()
            wf.do_engine_steps()
            state = self.serializer.serialize_json(wf)
            times.append((time.perf_counter() - t0) * 1000)
            if series is not None:
                series.cpu_ms.append((time.process_time() - c0) * 1000)
            if on_step and on_step(len(times), state):
                break
        return times


def _conclusion(done: int, loop_until: int | None) -> str:
    """案件审查 returns the case while the age run needs more completed tasks."""
    return "return" if loop_until is not None and done < loop_until else "approve"


# --- the engine ------------------------------------------------------------------

class EngineRun:
    """A fresh migrated database with the demo organisation and the bench models deployed."""

    def __init__(self, label: str, url: str, cleanup: Callable[[], None]):
        self.label, self.url, self._cleanup = label, url, cleanup
        self.db = Database(url)
        schema.upgrade(self.db)
        self.statements = 0
        event.listen(self.db.write_engine, "before_cursor_execute", self._count)
        with self.db.transaction() as session:
            demo.load(session)
            result = repository.deploy(session, repository.read_paths([MODELS]), source="bench")
            self.spec_bytes = len(result.processes[0].spec_json.encode())
        with self.db.reading() as session:
            calendar.load(session)
            self.users = self._users(session)

    def _count(self, *args) -> None:
        self.statements += 1

    @staticmethod
    def _users(session) -> dict[str, User]:
        """Group code → the first demo user holding it (loaded once, as a logged-in user is)."""
        out: dict[str, User] = {}
        for user in session.scalars(select(User).join(Membership).order_by(User.username)):
            for g in user.groups:
                out.setdefault(g.code, user)
        return out

    def start(self) -> int:
        with self.db.transaction() as session:
            return runtime.start(session, PROCESS, self.users["supervision.file"]).id

    def next_task(self, instance_id: int):
        with self.db.reading() as session:
            ready = tasks.ready_tasks(session, instance_id)
        return ready[0] if ready else None

    def state_bytes(self, instance_id: int) -> int:
        with self.db.reading() as session:
            state = session.scalar(select(ProcessInstance.state).where(ProcessInstance.id == instance_id))
        return len(state.encode())

    def run(self, loop_until: int | None = None, on_step: Callable | None = None,
            series: Series | None = None) -> list[float]:
        instance_id, times = self.start(), []
        while (task := self.next_task(instance_id)) is not None:
            user = self.users[task.candidate_groups.split(",")[0]]
            form = submitted(task.element_id, _conclusion(len(times), loop_until))
            before = self.statements
            t0, c0 = time.perf_counter(), time.process_time()
            with self.db.transaction() as session:
                tasks.complete(session, task.id, user, form)
            times.append((time.perf_counter() - t0) * 1000)
            if series is not None:
                series.cpu_ms.append((time.process_time() - c0) * 1000)
                series.sql.append(self.statements - before)
            if on_step and on_step(len(times), instance_id):
                break
        if loop_until is None:
            with self.db.reading() as session:
                status = session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == instance_id))
            assert status == "completed", status
        return times

    def close(self) -> None:
        self.db.dispose()
        self._cleanup()


def sqlite_run() -> EngineRun:
    folder = tempfile.mkdtemp(prefix="zhifa-bench-")
    return EngineRun("engine, SQLite", f"sqlite:///{folder}/zhifa.db", lambda: shutil.rmtree(folder, ignore_errors=True))


def pg_reachable(url: str) -> str | None:
    """None if the server answers, else why not."""
    try:
        probe = create_engine(url, connect_args={"connect_timeout": 3})
        with probe.connect() as c:
            c.execute(text("SELECT 1"))
        probe.dispose()
        return None
    except Exception as e:  # noqa: BLE001 - any failure means "skip it"
        return f"{type(e).__name__}: {str(e).splitlines()[0]}"


def pg_run(url: str) -> EngineRun:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()
    sep = "&" if "?" in url else "?"
    try:
        return EngineRun("engine, PostgreSQL", f"{url}{sep}options=-csearch_path%3D{name}", drop)
    except BaseException:
        drop()
        raise


# --- the benchmark ---------------------------------------------------------------------

def age_probe(sizes: dict[int, int], size_of: Callable[[Any], int]):
    """An on_step callback recording the completions after AGE_LOW and AGE_HIGH tasks."""
    def on_step(done: int, handle) -> bool:
        if done == AGE_LOW:
            sizes[AGE_LOW] = size_of(handle)
        elif done == AGE_HIGH:
            sizes[AGE_HIGH] = size_of(handle)
        return done == AGE_HIGH + 1
    return on_step


def measure_ages(modes: dict[str, tuple[str, Callable[..., list[float]], Callable[[Any], int]]],
                 samples: int) -> dict[str, AgeResult]:
    """Each mode's (label, run, size_of): ``samples`` cases looped to age 50, mode after mode (each
    is compared with itself)."""
    results = {key: AgeResult(label) for key, (label, _, _) in modes.items()}
    for key, (label, run, size_of) in modes.items():
        run("warm-up", loop_until=AGE_HIGH + 1, on_step=age_probe({}, size_of))
        for i in range(samples):
            result, sizes, cpu = results[key], {}, Series(label)
            times = run(f"AGE-{i}", loop_until=AGE_HIGH + 1, on_step=age_probe(sizes, size_of), series=cpu)
            assert len(times) == AGE_HIGH + 1
            result.low_ms.append(times[AGE_LOW])    # completion AGE_LOW + 1
            result.high_ms.append(times[AGE_HIGH])  # completion AGE_HIGH + 1
            result.low_cpu.append(cpu.cpu_ms[AGE_LOW])
            result.high_cpu.append(cpu.cpu_ms[AGE_HIGH])
            result.low_bytes, result.high_bytes = sizes[AGE_LOW], sizes[AGE_HIGH]
    return results


def check_loop_alignment(raw: Raw) -> None:
    """The age run must complete the same task at both ages (the loop has 7 tasks)."""
    names: list[str] = []
    wf = raw.new("align")
    while (task := raw.next_task(wf)) is not None and len(names) <= AGE_HIGH:
        names.append(task.task_spec.bpmn_id)
        task.set_data(**raw_values(names[-1], _conclusion(len(names) - 1, AGE_HIGH + 1)))
        task.run()
        wf.do_engine_steps()
    assert names[AGE_LOW] == names[AGE_HIGH] == LOOP_TASK, (names[AGE_LOW], names[AGE_HIGH])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instances", type=int, default=20, help="cases run to their end per mode (default 20)")
    ap.add_argument("--age-samples", type=int, default=5, help="cases looped to age 50 per mode (default 5)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--pg-url", default=None, help="PostgreSQL server (a fresh schema is created and dropped)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    ap.add_argument("--profile", action="store_true", help="also print a cProfile of the engine completions")
    args = ap.parse_args(argv)
    began = time.perf_counter()

    pg_url = args.pg_url or (os.environ.get("ZHIFA_DATABASE_URL", "")
                             if os.environ.get("ZHIFA_DATABASE_URL", "").startswith("postgresql") else DEFAULT_PG)
    notes: list[str] = []
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends:
        why = pg_reachable(pg_url)
        if why is not None:
            if args.backend == "postgresql":
                print(f"PostgreSQL unreachable at {pg_url}: {why}", file=sys.stderr)
                return 2
            backends.remove("postgresql")
            notes.append(f"PostgreSQL skipped (unreachable: {why})")

    raw = Raw()
    check_loop_alignment(raw)
    series: dict[str, Series] = {"raw_memory": Series("raw SpiffWorkflow, in memory"),
                                 "raw_serialized": Series("raw SpiffWorkflow, serialize+reload")}
    ages: dict[str, AgeResult] = {}
    profile_text = None
    tasks_per_case = len(raw.run_in_memory("count"))
    raw_spec_bytes = len(json.dumps({"spec": raw.serializer.to_dict(raw.spec)}).encode())
    runs: dict[str, EngineRun] = {}
    try:
        for backend in backends:
            runs[f"engine_{backend}"] = sqlite_run() if backend == "sqlite" else pg_run(pg_url)
        # every mode as a function of (case number, series); warmed up once (spec and statement caches, pools)
        modes: dict[str, Callable[..., list[float]]] = {
            "raw_memory": lambda i, **kw: raw.run_in_memory(f"RAW-{i}", **kw),
            "raw_serialized": lambda i, **kw: raw.run_serialized(f"RAW-S-{i}", **kw),
            **{key: (lambda i, run=run, **kw: run.run(**kw)) for key, run in runs.items()}}
        for key, run in runs.items():
            series[key] = Series(run.label)
        for mode in modes.values():
            mode("warm-up")
        # In turns, one case of every mode per round: a machine whose speed drifts during the run
        # (shared CPUs do, by a third within minutes here) weighs on every mode alike
        for i in range(args.instances):
            gc.collect()
            for key, mode in modes.items():
                series[key].ms += mode(i, series=series[key])
        sizes = {"raw_serialized": lambda state: len(state.encode()), "raw_memory": lambda _: 0,
                 **{key: run.state_bytes for key, run in runs.items()}}
        ages = measure_ages({key: (series[key].label, modes[key], sizes[key]) for key in sizes}, args.age_samples)
        if args.profile and runs:
            key, run = next(iter(runs.items()))
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(max(1, args.instances // 4)):
                run.run()
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).strip_dirs()
            stats.sort_stats("cumulative").print_stats(35)
            stats.sort_stats("tottime").print_stats(25)
            profile_text = f"cProfile, {run.label}, {max(1, args.instances // 4)} cases:\n{out.getvalue()}"
        spec_bytes = next(iter(runs.values())).spec_bytes if runs else None
    finally:
        for run in runs.values():
            run.close()

    results = {
        "process": PROCESS, "user_tasks_per_case": tasks_per_case, "instances": args.instances,
        "age_samples": args.age_samples, "python": platform.python_version(),
        "spiffworkflow": _spiff_version(), "cpus": os.cpu_count(),
        "completion": {k: v.summary() for k, v in series.items()},
        "ratios": _ratios(series),
        "age": {k: v.summary() for k, v in ages.items()},
        "sizes": {"spec_row_bytes": spec_bytes, "raw_spec_bytes": raw_spec_bytes,
                  **{f"{k}_age_{a}_bytes": getattr(v, f"{w}_bytes") for k, v in ages.items() if k != "raw_memory"
                     for a, w in ((AGE_LOW, "low"), (AGE_HIGH, "high"))}},
        "notes": notes, "seconds": round(time.perf_counter() - began, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(_rounded(results), indent=2, ensure_ascii=False))
    else:
        print(render(results, series, ages))
    if profile_text:
        print(profile_text, file=sys.stderr if args.json else sys.stdout)
    return 0


def _rounded(value):
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _spiff_version() -> str:
    from importlib.metadata import version
    return version("SpiffWorkflow")


def _ratios(series: dict[str, Series]) -> dict[str, dict[str, float]]:
    out = {}
    mem, ser = series["raw_memory"].summary(), series["raw_serialized"].summary()
    for key, s in series.items():
        if key.startswith("engine_"):
            e = s.summary()
            out[key] = {"vs_raw_memory_median": e["median_ms"] / mem["median_ms"],
                        "vs_raw_memory_mean": e["mean_ms"] / mem["mean_ms"],
                        "vs_raw_serialized_median": e["median_ms"] / ser["median_ms"],
                        "vs_raw_serialized_mean": e["mean_ms"] / ser["mean_ms"],
                        "cpu_vs_raw_serialized_median": e["cpu_median_ms"] / ser["cpu_median_ms"]}
    return out


def render(r: dict[str, Any], series: dict[str, Series], ages: dict[str, AgeResult]) -> str:
    lines = [f"zhifa engine benchmark: {r['process']} ({r['user_tasks_per_case']} user tasks per case), "
             f"{r['instances']} cases per mode; Python {r['python']}, SpiffWorkflow {r['spiffworkflow']}, "
             f"{r['cpus']} CPUs", ""]
    lines.append(f"{'ms per task completion':<40}{'n':>6}{'median':>9}{'p95':>9}{'mean':>9}{'SQL/compl.':>12}"
                 f"{'CPU median':>12}")
    for key, s in series.items():
        m = r["completion"][key]
        sql = f"{m['sql_per_completion']:>12.0f}" if "sql_per_completion" in m else f"{'-':>12}"
        lines.append(f"{s.label:<40}{m['n']:>6}{m['median_ms']:>9.2f}{m['p95_ms']:>9.2f}{m['mean_ms']:>9.2f}{sql}"
                     f"{m['cpu_median_ms']:>12.2f}")
    lines.append("")
    for key, q in r["ratios"].items():
        lines.append(f"{series[key].label + ' ÷ raw in memory':<58}{q['vs_raw_memory_median']:>7.1f}× median"
                     f"{q['vs_raw_memory_mean']:>7.1f}× mean")
        lines.append(f"{series[key].label + ' ÷ raw serialize+reload':<58}{q['vs_raw_serialized_median']:>7.1f}× median"
                     f"{q['vs_raw_serialized_mean']:>7.1f}× mean{q['cpu_vs_raw_serialized_median']:>7.1f}× CPU median")
    lines += ["", f"one action by instance age (median of {r['age_samples']} cases; both complete {LOOP_TASK} 立案审查)",
              f"{'ms per completion':<40}{'age 1':>9}{'age 50':>9}{'50 ÷ 1':>9}{'CPU age 1':>11}{'age 50':>9}"
              f"{'50 ÷ 1':>9}"]
    for key, a in ages.items():
        m = r["age"][key]
        lines.append(f"{a.label:<40}{m['age_1_ms']:>9.2f}{m['age_50_ms']:>9.2f}{m['growth']:>8.2f}×"
                     f"{m['age_1_cpu_ms']:>11.2f}{m['age_50_cpu_ms']:>9.2f}{m['cpu_growth']:>8.2f}×")
    lines += ["", f"{'stored bytes':<40}{'age 1':>9}{'age 50':>9}"]
    for key, a in ages.items():
        if key == "raw_memory":
            continue
        what = "full workflow JSON incl. spec" if key == "raw_serialized" else f"instance row ({a.label.split(', ')[1]})"
        lines.append(f"{what:<40}{a.low_bytes:>9,}{a.high_bytes:>9,}")
    if r["sizes"]["spec_row_bytes"]:
        lines.append(f"{'spec row (once per version)':<40}{r['sizes']['spec_row_bytes']:>9,}")
    lines += [f"note: {n}" for n in r["notes"]]
    lines.append(f"({r['seconds']} s; load average {', '.join(map(str, r['load_average']))}: "
                 "timings are wall-clock, a busy machine inflates them)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
