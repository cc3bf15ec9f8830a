"""Login, logout and the user's own password (flask-login sessions, CSRF on every POST).

Sessions are signed cookies, so they are ended server-side through the user's
``session_generation``: logout and a password change raise it, and a cookie carrying an
older value no longer loads its user. Idle and absolute lifetimes are checked on every
request (ZHIFA_SESSION_IDLE_MINUTES, ZHIFA_SESSION_MAX_HOURS).
"""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session as web_session, url_for
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from engine.access import identity, login_guard
from engine.store import history
from engine.store.models import User

from . import login_manager
from .database import get_db

bp = Blueprint("auth", __name__)
_GEN, _LOGIN_AT, _SEEN = "zhifa_gen", "zhifa_login_at", "zhifa_seen"


class SessionUser(UserMixin):
    """The logged-in user as flask-login sees it; ``.user`` is the engine's User row."""

    def __init__(self, user: User):
        self.user = user
        self.id = str(user.id)
        self.username, self.full_name = user.username, user.full_name


def _expired() -> bool:
    settings = current_app.config["ZHIFA_SETTINGS"]
    now = time.time()
    login_at, seen = web_session.get(_LOGIN_AT, 0), web_session.get(_SEEN, 0)
    return now - seen > settings.session_idle_minutes * 60 or now - login_at > settings.session_max_hours * 3600


# The user and their posts in one statement, built once: every request reads it.
_USER = select(User).options(joinedload(User.groups)).where(User.id == bindparam("id"))


@login_manager.user_loader
def load_user(user_id: str):
    if not (user_id.isascii() and user_id.isdigit()) or len(user_id) > 9:
        return None
    with get_db().reading() as session:
        user = session.scalars(_USER, {"id": int(user_id)}).unique().one_or_none()
        if user is None or not user.active or web_session.get(_GEN) != user.session_generation or _expired():
            web_session.clear()
            return None
        now = int(time.time())
        if now - web_session.get(_SEEN, 0) > 60:  # (not on every request: the cookie would change each time)
            web_session[_SEEN] = now
        return SessionUser(user)


def _start_session(user: User) -> None:
    web_session.clear()  # no value from before the login survives it (session fixation)
    login_user(SessionUser(user))
    now = int(time.time())
    web_session.update({_GEN: user.session_generation, _LOGIN_AT: now, _SEEN: now})
    web_session.permanent = True


def _end_all_sessions(session, user: User) -> int:
    generation = user.session_generation + 1
    session.execute(update(User).where(User.id == user.id).values(session_generation=generation))
    return generation


def _safe_next(target: str | None) -> str:
    """Only local paths: a login link must not send people to another site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("inbox.index")


def client_address() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:100]
        attempt = login_guard.Attempt(username, client_address(), "web")
        with get_db().transaction() as session:
            outcome = login_guard.login(session, attempt, request.form.get("password", ""))
        user = outcome.user
        if outcome.locked:
            flash(str(outcome.locked), "error")
            return render_template("login.html", username=username), 429
        if user is None:
            flash("用户名或密码错误", "error")
            return render_template("login.html", username=username), 401
        _start_session(user)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", username="")


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    with get_db().transaction() as session:
        _end_all_sessions(session, current_user.user)
    logout_user()
    web_session.clear()
    flash("已退出登录", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    if request.method == "GET":
        return render_template("password.html", errors=[])
    current, new, repeat = (request.form.get(k, "") for k in ("current", "new", "repeat"))
    user = current_user.user
    errors = []
    if not identity.check_password(user, current):
        errors.append("当前密码不正确")
    if new != repeat:
        errors.append("两次输入的新密码不一致")
    if new == current:
        errors.append("新密码不能与当前密码相同")
    errors += login_guard.password_problems(new, user.username)
    if errors:
        return render_template("password.html", errors=errors), 400
    with get_db().transaction() as session:
        session.execute(update(User).where(User.id == user.id).values(password_hash=identity.hash_password(new)))
        _end_all_sessions(session, user)
        history.record(session, "password_changed", user)
        fresh = session.get(User, user.id)
        session.refresh(fresh)
    _start_session(fresh)
    flash("密码已修改；其他设备上的登录已全部失效。", "info")
    return redirect(url_for("inbox.index"))
