"""Timers and async work, run by ``zhifa worker``.

A worker sleeps until the next job falls due and wakes early when a transaction
announces a new or moved one (``Waiter``). It claims due jobs in a short transaction (PostgreSQL: FOR UPDATE SKIP LOCKED,
so workers never wait on each other) by writing a lease; then it runs each job in its
own transaction that locks the case. A worker killed mid-job leaves its lease to
expire and the job to be retried. A timer fires exactly once however many workers
race for it: firing happens under the case lock and is part of the case's state.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from engine import hooks
from engine.execution import runtime
from engine.execution.errors import EngineStepFailed
from engine.store import history
from engine.store.db import JOBS_ANNOUNCE_WITHIN, JOBS_CHANNEL, Database
from engine.store.models import Job, ProcessInstance, utcnow

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_due(db: Database, worker: str, now: datetime | None = None, limit: int = 20) -> list[int]:
    now = now or utcnow()
    with db.transaction() as session:
        query = (select(Job).where(Job.status == "pending", Job.due_at <= now,
                                   or_(Job.locked_until.is_(None), Job.locked_until < now))
                 .order_by(Job.due_at).limit(limit))
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        jobs = list(session.scalars(query))
        for job in jobs:
            job.locked_by, job.locked_until, job.attempts = worker, now + LEASE, job.attempts + 1
        return [job.id for job in jobs]


def run_job(db: Database, job_id: int, worker: str) -> bool:
    """Run one claimed job; False if another worker took it over or it failed."""
    try:
        with db.transaction() as session:
            job = session.get(Job, job_id)
            if job is None:
                return False
            runtime.lock_instance(session, job.instance_id)
            session.refresh(job)
            if job.locked_by != worker:  # our lease expired and someone else has it now
                return False
            if job.kind == "timer":
                runtime.fire_timers(session, job.instance_id)
            return True
    except (EngineStepFailed, runtime.InstanceNotActive) as e:
        _record_failure(db, job_id, e)
        return False


def _record_failure(db: Database, job_id: int, error: Exception) -> None:
    log.error("job %s failed: %s", job_id, error)
    with db.transaction() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        job.last_error = str(error)[:2000]
        job.locked_by = None
        job.locked_until = utcnow() + timedelta(minutes=2 ** min(job.attempts, 10))
        if job.attempts >= MAX_ATTEMPTS or isinstance(error, runtime.InstanceNotActive):
            job.status = "failed"
        instance = session.get(ProcessInstance, job.instance_id) if job.instance_id else None
        history.record(session, "job_failed", None, instance=instance, details={"job": job.kind, "error": str(error)})


def run_once(db: Database, worker: str | None = None, now: datetime | None = None) -> int:
    """One pass: claim what is due and run it; returns how many jobs ran."""
    worker = worker or worker_id()
    return sum(run_job(db, job_id, worker) for job_id in claim_due(db, worker, now))


def next_wake(db: Database, now: datetime | None = None) -> datetime | None:
    """When the next job falls due (or a lease on a due job runs out); None if no job waits."""
    now = now or utcnow()
    free = or_(Job.locked_until.is_(None), Job.locked_until < now)
    with db.reading() as session:
        due, lease = session.execute(select(
            select(func.min(Job.due_at)).where(Job.status == "pending", free).scalar_subquery(),
            select(func.min(Job.locked_until)).where(Job.status == "pending", ~free).scalar_subquery())).one()
    return min((t for t in (due, lease) if t is not None), default=None)


class Waiter:
    """Sleeps until a deadline or until a transaction announces a new or moved job
    (PostgreSQL: LISTEN on ``JOBS_CHANNEL``; SQLite: a short poll, so the next due
    time is read again at least every POLL seconds)."""
    POLL = 0.2

    def __init__(self, db: Database):
        self.db = db
        self._conn = None

    def _listening(self):
        if self._conn is None and not self.db.is_sqlite:
            raw = self.db.engine.raw_connection()
            conn = raw.driver_connection
            raw.detach()  # ours for the worker's life, outside the pool
            conn.autocommit = True
            conn.execute(f"LISTEN {JOBS_CHANNEL}")
            self._conn = conn
        return self._conn

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if woken by an announcement."""
        seconds = max(0.0, seconds)
        try:
            conn = self._listening()
        except Exception:  # the database is away: sleep, try again next time
            log.exception("cannot listen for new jobs")
            conn = None
        if conn is None:
            time.sleep(min(seconds, self.POLL) if self.db.is_sqlite else seconds)
            return False
        try:
            return any(True for _ in conn.notifies(timeout=seconds, stop_after=1))
        except Exception:
            log.exception("listening for new jobs failed")
            self.close()
            return False

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


def run_forever(db: Database, interval: float = 5.0, stop: threading.Event | None = None) -> None:
    """Run jobs as they fall due: sleep until the next one (at most ``interval`` or
    JOBS_ANNOUNCE_WITHIN) and wake early when a transaction announces one due sooner."""
    worker = worker_id()
    waiter = Waiter(db)
    log.info("worker %s started", worker)
    periodic_at = 0.0
    try:
        while stop is None or not stop.is_set():
            pause = min(interval, JOBS_ANNOUNCE_WITHIN)
            try:
                if time.monotonic() - periodic_at >= interval:
                    periodic_at = time.monotonic()
                    for work in hooks.periodic:  # e.g. the monthly purge of expired recordings
                        work(db)
                if run_once(db, worker):
                    continue
                wake = next_wake(db)
                if wake is not None:
                    pause = min(pause, (wake - utcnow()).total_seconds())
            except Exception:  # keep the loop alive: a database restart must not stop timers
                log.exception("worker pass failed")
            waiter.wait(pause)
    finally:
        waiter.close()
