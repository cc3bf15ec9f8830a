"""Timers and async work, run by ``zhifa worker``.

A worker claims due jobs in a short transaction (PostgreSQL: FOR UPDATE SKIP LOCKED,
so workers never wait on each other) by writing a lease; then it runs each job in its
own transaction that locks the case. A worker killed mid-job leaves its lease to
expire and the job to be retried. A timer fires exactly once however many workers
race for it: firing happens under the case lock and is part of the case's state.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from engine import hooks
from engine.execution import runtime
from engine.execution.errors import EngineStepFailed
from engine.store import history
from engine.store.db import Database
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


def run_forever(db: Database, interval: float = 5.0) -> None:
    worker = worker_id()
    log.info("worker %s started", worker)
    while True:
        try:
            for work in hooks.periodic:  # e.g. the monthly purge of expired recordings
                work(db)
            if run_once(db, worker):
                continue
        except Exception:  # keep the loop alive: a database restart must not stop timers
            log.exception("worker pass failed")
        time.sleep(interval)
