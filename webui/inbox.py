"""我的待办 and the task page: show a task's form, claim it, complete it."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import forms, runtime, tasks
from engine.errors import EngineStepFailed

from .database import get_db

bp = Blueprint("inbox", __name__)


@bp.route("/")
@login_required
def index():
    return redirect(url_for("inbox.inbox"))


@bp.route("/inbox")
@login_required
def inbox():
    with get_db().reading() as session:
        rows = tasks.inbox(session, current_user.user)
    return render_template("inbox.html", tasks=rows)


def _render_task(task_id: str, values=None, errors=None, status=200):
    with get_db().reading() as session:
        try:
            view = tasks.view(session, task_id, current_user.user)
        except tasks.TaskNotFound:
            abort(404)
    if values is not None:
        view.values = values
    return render_template("task.html", view=view, errors=errors or {}), status


@bp.route("/tasks/<task_id>")
@login_required
def task(task_id: str):
    try:
        return _render_task(task_id)
    except tasks.TaskClaimed as e:
        flash(str(e), "error")
        return redirect(url_for("inbox.inbox"))


@bp.route("/tasks/<task_id>", methods=["POST"])
@login_required
def complete(task_id: str):
    submitted = _submitted()
    try:
        with get_db().transaction() as session:
            done = tasks.complete(session, task_id, current_user.user, submitted)
    except forms.FormInvalid as e:
        return _render_task(task_id, values=submitted, errors=e.errors, status=400)
    except (tasks.TaskAlreadyCompleted, tasks.TaskClaimed, runtime.InstanceNotActive, EngineStepFailed) as e:
        flash(str(e), "error")
        return redirect(url_for("inbox.inbox"))
    except tasks.TaskNotFound:
        abort(404)
    flash(f"已办理：{done.name}（{done.business_key}）", "info")
    return redirect(url_for("inbox.inbox"))


def _submitted() -> dict:
    """Form values as the engine takes them; multi-valued fields stay lists."""
    values = {}
    for key in request.form:
        if key == "csrf_token":
            continue
        items = request.form.getlist(key)
        values[key] = items if len(items) > 1 else items[0]
    return values


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: str):
    try:
        with get_db().transaction() as session:
            tasks.claim(session, task_id, current_user.user)
        flash("已领取任务", "info")
    except (tasks.TaskAlreadyCompleted, tasks.TaskClaimed) as e:
        flash(str(e), "error")
    except tasks.TaskNotFound:
        abort(404)
    return redirect(url_for("inbox.task", task_id=task_id))
