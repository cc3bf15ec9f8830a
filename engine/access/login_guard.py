"""Password logins that resist guessing: failure counters per account and per client
address, kept in the database (so every server worker and host sees the same count),
the same work for unknown and known users, and a password policy for new passwords.

Web login (/login) and HTTP Basic on /engine-rest both go through ``login()``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash

from engine.store import history
from engine.access.identity import hash_password
from engine.store.models import Base, User, UTCDateTime, utcnow

TZ = ZoneInfo("Asia/Shanghai")
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)
MAX_FAILURES = {"user": 5, "addr": 20}  # an office behind one NAT address shares the second
DEMO_PASSWORD = "zhifa2026"
# Checked when the user is unknown, so that a wrong name costs what a wrong password costs.
_DUMMY_HASH = hash_password("unknown user placeholder")


class LoginFailure(Base):
    """Failed password logins of one account or one client address in the current window."""
    __tablename__ = "login_failures"
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # user | addr
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginLocked(Exception):
    """Too many failures: the message says when to try again."""

    def __init__(self, until: datetime):
        self.until = until
        minutes = max(1, int((until - utcnow()).total_seconds() // 60) + 1)
        super().__init__(f"登录失败次数过多，已暂时锁定。请于 {until.astimezone(TZ):%H:%M}（约 {minutes} 分钟后）再试，"
                         "或联系管理员。")


@dataclass(frozen=True)
class Attempt:
    username: str
    address: str
    channel: str  # web | rest


def _keys(attempt: Attempt) -> list[tuple[str, str]]:
    return [("user", attempt.username.strip().lower()[:200]), ("addr", (attempt.address or "unknown")[:200])]


def locked_until(session: Session, attempt: Attempt, now: datetime | None = None) -> datetime | None:
    now = now or utcnow()
    rows = session.scalars(select(LoginFailure).where(
        LoginFailure.scope.in_(("user", "addr")), LoginFailure.key.in_([k for _, k in _keys(attempt)])))
    wanted = set(_keys(attempt))
    until = [r.locked_until for r in rows if (r.scope, r.key) in wanted and r.locked_until and r.locked_until > now]
    return max(until) if until else None


def _count_failure(session: Session, scope: str, key: str, now: datetime) -> LoginFailure:
    """Add one failure atomically (an upsert, so concurrent attempts are all counted)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = LoginFailure.__table__
    stmt = insert(table).values(scope=scope, key=key, failures=1, first_at=now, locked_until=None)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.scope, table.c.key],
                                      set_={"failures": table.c.failures + 1})
    session.execute(stmt)
    row = session.execute(select(LoginFailure).where(LoginFailure.scope == scope, LoginFailure.key == key)
                          .execution_options(populate_existing=True)).scalar_one()
    if now - row.first_at > WINDOW:  # an old window: start counting again
        row.failures, row.first_at, row.locked_until = 1, now, None
    return row


def _verify(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    ok = check_password_hash(user.password_hash if user is not None else _DUMMY_HASH, password)
    return user if user is not None and ok and user.active else None


@dataclass(frozen=True)
class Outcome:
    user: User | None             # None: wrong credentials, or locked
    locked: LoginLocked | None    # the error to show while locked


def login(session: Session, attempt: Attempt, password: str) -> Outcome:
    """Check a password login, counting and auditing failures in ``session`` — a write
    transaction the caller commits even when it answers with an error."""
    now = utcnow()
    until = locked_until(session, attempt, now)
    if until is not None:
        history.record(session, "login_refused", None, details={
            "username": attempt.username[:100], "address": attempt.address, "channel": attempt.channel,
            "locked_until": until.isoformat()})
        return Outcome(None, LoginLocked(until))
    user = _verify(session, attempt.username, password)
    if user is not None:
        session.execute(delete(LoginFailure).where(LoginFailure.scope == "user",
                                                   LoginFailure.key == _keys(attempt)[0][1]))
        return Outcome(user, None)
    locked = None
    for scope, key in _keys(attempt):
        row = _count_failure(session, scope, key, now)
        if row.failures >= MAX_FAILURES[scope] and row.locked_until is None:
            row.locked_until = locked = now + LOCK
    history.record(session, "login_locked" if locked else "login_failed", None, details={
        "username": attempt.username[:100], "address": attempt.address, "channel": attempt.channel})
    return Outcome(None, LoginLocked(locked) if locked else None)  # the failure that locks says so at once


# --- password policy ----------------------------------------------------------------

MIN_LENGTH = 10


def password_problems(password: str, username: str) -> list[str]:
    """Why ``password`` may not be set for ``username`` (empty when it may)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"密码至少 {MIN_LENGTH} 位")
    if len(password) > 200:
        problems.append("密码不能超过 200 位")
    classes = sum(bool(re.search(p, password)) for p in (r"[A-Za-z]", r"\d", r"[^A-Za-z\d]"))
    if classes < 2:
        problems.append("密码须包含字母、数字、符号中的至少两类")
    if len(username) >= 3 and username.lower() in password.lower() or username.lower() == password.lower():
        problems.append("密码不能包含用户名")
    if DEMO_PASSWORD in password.lower():
        problems.append("不能使用演示密码")
    return problems
