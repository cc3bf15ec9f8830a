"""人员与执法证: the registry's 执法证 numbers and validity, kept by administrators."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from engine.access import identity
from engine.sandbox.scripting import today
from engine.store.models import User

from .database import get_db

bp = Blueprint("organisation", __name__, url_prefix="/admin/officers")


def _require_admin(session) -> None:
    if not identity.has_permission(session, current_user.user, identity.ADMIN):
        raise identity.NotPermitted("只有管理员可以登记执法证")


@bp.route("")
@login_required
def officers():
    with get_db().reading() as session:
        _require_admin(session)
        users = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.department_code,
                                                                                          User.username)))
        return render_template("organisation/officers.html", users=users, today=today())


def _date(name: str) -> date | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"日期“{raw}”格式应为 年-月-日，例如 2026-03-02") from None


@bp.route("/<username>", methods=["POST"])
@login_required
def save(username: str):
    try:
        with get_db().transaction() as session:
            _require_admin(session)
            user = identity.user_by_name(session, username)
            if user is None:
                raise ValueError(f"用户 {username} 不存在")
            identity.set_certificate(user, request.form.get("cert_no"), _date("cert_valid_from"), _date("cert_valid_until"))
            flash(f"已保存 {user.full_name} 的执法证" if user.cert_no else f"已清除 {user.full_name} 的执法证", "info")
    except ValueError as e:
        flash(str(e), "error")
    return redirect(url_for("organisation.officers") + f"#u-{username}")
