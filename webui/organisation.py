"""组织机构: departments, posts and users in the web (administrators only)."""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from organisation import directory

from .database import get_db

bp = Blueprint("org", __name__, url_prefix="/org")


def _date(name: str, label: str):
    return directory.parse_date(request.form.get(name, ""), label)


@bp.route("/")
@login_required
def index():
    with get_db().reading() as session:
        directory.require_admin(session, current_user.user)
        found = directory.overview(session)
        return render_template("org/index.html", org=found, permission_labels=directory.PERMISSION_LABELS,
                               columns=directory.COLUMNS)


def _act(do, done: str, back: str):
    """Run one change in a transaction; a bad input is a message and changes nothing."""
    try:
        with get_db().transaction() as session:
            directory.require_admin(session, current_user.user)
            do(session)
        flash(done, "info")
    except directory.OrgInvalid as e:
        for line in str(e).splitlines():
            flash(line, "error")
    return redirect(back)


@bp.route("/departments", methods=["POST"])
@login_required
def save_department():
    code, name = request.form.get("code", ""), request.form.get("name", "")
    return _act(lambda s: directory.save_department(s, current_user.user, code, name),
                f"已保存部门：{name.strip()}", url_for("org.index") + "#departments")


@bp.route("/posts", methods=["POST"])
@login_required
def save_post():
    form = request.form
    return _act(lambda s: directory.save_post(s, current_user.user, form.get("department", ""), form.get("code", ""),
                                              form.get("name", ""), form.getlist("permissions")),
                f"已保存岗位：{form.get('name', '').strip()}", url_for("org.index") + "#posts")


@bp.route("/users", methods=["POST"])
@login_required
def add_user():
    form = request.form

    def do(session):
        directory.add_user(session, current_user.user, form.get("username", ""), form.get("full_name", ""),
                           form.get("password", ""), form.getlist("posts"), form.get("cert_no"),
                           _date("cert_valid_from", "执法证有效期起"), _date("cert_valid_until", "执法证有效期止"))
    return _act(do, f"已添加用户：{form.get('full_name', '').strip()}", url_for("org.index") + "#users")


@bp.route("/users/<int:user_id>")
@login_required
def user(user_id: int):
    with get_db().reading() as session:
        directory.require_admin(session, current_user.user)
        try:
            found = directory.get_user(session, user_id)
        except directory.OrgInvalid:
            abort(404)
        return render_template("org/user.html", person=found, org=directory.overview(session),
                               held={g.code for g in found.groups})


def _user_action(user_id: int, change, done: str):
    def do(session):
        change(session, directory.get_user(session, user_id))
    return _act(do, done, url_for("org.user", user_id=user_id))


@bp.route("/users/<int:user_id>/posts", methods=["POST"])
@login_required
def user_posts(user_id: int):
    posts = request.form.getlist("posts")
    return _user_action(user_id, lambda s, u: directory.set_posts(s, current_user.user, u, posts), "已调整岗位")


@bp.route("/users/<int:user_id>/certificate", methods=["POST"])
@login_required
def user_certificate(user_id: int):
    def change(session, u):
        directory.set_certificate(session, current_user.user, u, request.form.get("cert_no"),
                                  _date("cert_valid_from", "执法证有效期起"), _date("cert_valid_until", "执法证有效期止"))
    return _user_action(user_id, change, "已保存执法证信息")


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@login_required
def user_password(user_id: int):
    password = request.form.get("password", "")
    return _user_action(user_id, lambda s, u: directory.reset_password(s, current_user.user, u, password),
                        "已重置密码，请将新密码当面告知本人")


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@login_required
def user_active(user_id: int):
    active = request.form.get("active") == "1"
    released: list[int] = []

    def change(session, u):
        released.append(directory.set_active(session, current_user.user, u, active))
    response = _user_action(user_id, change, "已启用账号" if active else "已停用账号")
    if released and released[0]:
        flash(f"其领取的 {released[0]} 件任务已退回岗位", "info")
    return response


@bp.route("/import", methods=["POST"])
@login_required
def import_file():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要导入的 .xlsx 或 .csv 文件", "error")
        return redirect(url_for("org.index") + "#import")
    suffix = Path(upload.filename).suffix.lower()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"org{suffix if suffix in ('.xlsx', '.csv') else '.txt'}"
        upload.save(path)
        result: list[directory.ImportResult] = []
        response = _act(lambda s: result.append(directory.import_file(s, current_user.user, path)),
                        "已导入组织机构", url_for("org.index"))
    if result:
        r = result[0]
        flash(f"部门 {r.departments} 个，岗位 {r.posts} 个，用户 {r.users} 个", "info")
    return response
