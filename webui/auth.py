"""Login and logout (flask-login sessions, hashed passwords, CSRF on every POST)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import UserMixin, login_required, login_user, logout_user

from engine.access import identity
from engine.store.models import User

from . import login_manager
from .database import get_db

bp = Blueprint("auth", __name__)


class SessionUser(UserMixin):
    """The logged-in user as flask-login sees it; ``.user`` is the engine's User row."""

    def __init__(self, user: User):
        self.user = user
        self.id = str(user.id)
        self.username, self.full_name = user.username, user.full_name


@login_manager.user_loader
def load_user(user_id: str):
    with get_db().reading() as session:
        user = session.get(User, int(user_id)) if user_id.isdigit() else None
        return SessionUser(user) if user is not None and user.active else None


def _safe_next(target: str | None) -> str:
    """Only local paths: a login link must not send people to another site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("inbox.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        with get_db().reading() as session:
            user = identity.authenticate(session, username, request.form.get("password", ""))
        if user is None:
            flash("用户名或密码错误", "error")
            return render_template("login.html", username=username), 401
        login_user(SessionUser(user))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", username="")


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("已退出登录", "info")
    return redirect(url_for("auth.login"))
