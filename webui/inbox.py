"""The inbox (我的待办 / 岗位待办 / 已办), the task page and its actions, notifications."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.routing import BuildError

from engine.execution import runtime
from engine.execution.errors import EngineStepFailed
from engine.inbox import attachments, case_view, notices, tasks
from engine.spec import forms
from engine.store import files
from engine.store.models import ProcessInstance
from monitoring import oversight
from paperwork import issuing as paperwork_issuing
from paperwork import notes as paperwork_notes
from recording import evidence

from . import menus
from .database import get_db
from .filters import person
from .security import parse_id

bp = Blueprint("inbox", __name__)
_UPLOAD_SUFFIX = "__upload"
# Errors a person can cause by acting on a stale page or with bad input: a message, nothing changed.
_TASK_ERRORS = (tasks.TaskAlreadyCompleted, tasks.TaskClaimed, tasks.ActionInvalid, runtime.InstanceNotActive,
                EngineStepFailed, files.FileStoreError)


@bp.app_template_filter("attachment_ids")
def attachment_ids(value) -> list[int]:
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    return [i for i in map(parse_id, items) if i is not None]


@bp.route("/")
@login_required
def index():
    return redirect(url_for("inbox.inbox"))


@bp.route("/inbox")
@login_required
def inbox():
    query = tasks.TaskQuery.parse(request.args)
    shown = menus.current()  # a list the menus count none of is not read
    with get_db().reading() as session:
        page = tasks.task_page(session, current_user.user, query)
        exceptions = evidence.pending_exceptions(session, current_user.user) if shown["evidence_pending"] else []
        cases = dict(session.execute(select(ProcessInstance.id, ProcessInstance.business_key).where(
            ProcessInstance.id.in_({e.instance_id for e in exceptions}))).all()) if exceptions else {}
        pressed = oversight.open_for(session, current_user.user) if shown["oversight_open"] else []
        ids = {t.instance_id for t in page.rows}
        documents = dict(session.execute(select(ProcessInstance.id, ProcessInstance.documents).where(
            ProcessInstance.id.in_(ids), ProcessInstance.documents != "")).all()) if ids else {}
    return render_template("inbox.html", page=page, q=query, tabs=tasks.TABS,
                           due_status=tasks.due_status, exceptions=exceptions, exception_cases=cases,
                           reasons=evidence.EXCEPTION_REASONS, pressed=pressed, today=date.today(),
                           documents=documents)


@bp.route("/oversight/<int:notice_id>/answer", methods=["POST"])
@login_required
def answer_oversight(notice_id: int):
    try:
        with get_db().transaction() as session:
            oversight.answer(session, current_user.user, notice_id, request.form.get("recipient", ""),
                             request.form.get("text", ""))
        flash("已答复督办", "info")
    except oversight.OversightInvalid as e:
        flash(str(e), "error")
    return redirect(url_for("inbox.inbox") + "#other-work")


def _settings():
    return current_app.config["ZHIFA_SETTINGS"]


def _render_task(task_id: str, values=None, errors=None, status=200, shown_notes=None):
    """``shown_notes``: 笔录 key → (values, errors) of a note form to show again."""
    with get_db().reading() as session:
        try:
            view = tasks.view(session, task_id, current_user.user)
        except tasks.TaskNotFound:
            abort(404)
        document = paperwork_issuing.draft(session, task_id, current_user.user, values) \
            if view.actionable else None
        notes = paperwork_notes.offers(session, task_id, current_user.user, shown_notes) if view.actionable else []
        summary = case_view.task_summary(session, view.task, current_user.user)
    if values is not None:
        view.values = values
    try:  # the recordings page of a 执法全过程记录 step (recording/evidence.py, webui/recording.py)
        evidence_url = url_for("evidence.step", task_id=task_id) if view.extensions.get("recordItem") else None
    except BuildError:
        evidence_url = None
    return render_template("task.html", view=view, errors=errors or {}, due_status=tasks.due_status,
                           evidence_url=evidence_url, summary=summary, decisions=summary.decisions, document=document,
                           notes=notes, task_id=task_id), status


@bp.route("/tasks/<task_id>")
@login_required
def task(task_id: str):
    try:
        return _render_task(task_id)
    except tasks.TaskClaimed as e:
        flash(str(e), "error")
        return redirect(url_for("inbox.inbox"))


def _submitted() -> dict:
    """Form values as the engine takes them; multi-valued fields (checkboxes) stay lists."""
    values = {}
    for key in request.form:
        if key in ("csrf_token", "_upload"):
            continue
        items = request.form.getlist(key)
        if len(items) == 2 and items[0] == "false":  # a checkbox after its hidden "false" (_form.html)
            items = items[1:]
        values[key] = items if len(items) > 1 else items[0]
    return values


def _uploads(only_field: str | None = None) -> list[attachments.Upload]:
    """Files chosen in ``<field>__upload`` inputs, as streams (werkzeug spools big parts to disk)."""
    out = []
    for key in request.files:
        if not key.endswith(_UPLOAD_SUFFIX):
            continue
        field = key[: -len(_UPLOAD_SUFFIX)]
        if only_field is not None and field != only_field:
            continue
        for storage in request.files.getlist(key):
            if storage and storage.filename:
                out.append((field, storage.stream, storage.filename, storage.mimetype))
    return out


@bp.route("/tasks/<task_id>", methods=["POST"])
@login_required
def complete(task_id: str):
    submitted = _submitted()
    uploads = _uploads()
    try:
        with get_db().transaction() as session:
            done = attachments.complete_with_files(session, task_id, current_user.user, submitted, uploads, _settings())
    except (forms.FormInvalid, files.FileStoreError) as e:  # bad values, a file too large, recordings missing
        errors = dict(e.errors) if isinstance(e, forms.FormInvalid) else {"_files": str(e)}
        kept = _keep(task_id, submitted, uploads)
        if kept:
            errors["_files"] = " ".join(filter(None, [errors.get("_files"), f"已暂存本次选择的文件：{kept}。"]))
        return _render_task(task_id, values=submitted, errors=errors, status=400)
    except paperwork_issuing.DocumentError as e:  # the step's document not issued, or changed since
        return _render_task(task_id, values=submitted, errors={"_document": str(e)}, status=400)
    except _TASK_ERRORS as e:
        flash(str(e), "error")
        return redirect(url_for("inbox.task", task_id=task_id) if isinstance(e, tasks.ActionInvalid)
                        else url_for("inbox.inbox"))
    except tasks.TaskNotFound:
        abort(404)
    if done.explanations:  # the case went back: say why instead of a bare 已办理
        flash(f"“{done.name}”（{done.business_key}）已退回：" + "；".join(done.explanations), "error")
    else:
        flash(f"已办理：{done.name}（{done.business_key}）", "info")
    return redirect(url_for("inbox.inbox"))


def _keep(task_id: str, submitted: dict, uploads: list) -> str:
    """After a refused submit: store the chosen files as the holder's draft so nothing is chosen twice.
    ``submitted`` gets their ids (the form shows them ticked); returns their names, or ""."""
    if not uploads:
        return ""
    for _, stream, _, _ in uploads:
        stream.seek(0)
    try:
        with get_db().transaction() as session:
            stored = attachments.upload_many(session, task_id, current_user.user, uploads, _settings())
            for a in stored:
                submitted[a.field_id] = attachment_ids(submitted.get(a.field_id)) + [a.id]
            tasks.save_draft(session, task_id, current_user.user, submitted)
    except (files.FileStoreError, *_TASK_ERRORS, tasks.NotPermitted):
        return ""  # e.g. the file itself was refused: its message is already shown
    return "、".join(a.original_name for a in stored)


@bp.route("/tasks/<task_id>/draft", methods=["POST"])
@login_required
def save_draft(task_id: str):
    """暂存: keep what was typed and the chosen files, unchecked, for the holder."""
    submitted, uploads = _submitted(), _uploads()
    try:
        with get_db().transaction() as session:
            for a in attachments.upload_many(session, task_id, current_user.user, uploads, _settings()) if uploads else []:
                submitted[a.field_id] = attachment_ids(submitted.get(a.field_id)) + [a.id]
            tasks.save_draft(session, task_id, current_user.user, submitted)
    except (tasks.ActionInvalid, files.FileStoreError) as e:
        return _render_task(task_id, values=submitted, errors={"_files": str(e)}, status=400)
    except _TASK_ERRORS as e:
        flash(str(e), "error")
        return redirect(url_for("inbox.inbox"))
    except tasks.TaskNotFound:
        abort(404)
    flash("已暂存，下次打开此任务时继续填写", "info")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.route("/tasks/<task_id>/upload", methods=["POST"])
@login_required
def upload(task_id: str):
    """The 上传 button of one file field: store its files, show the form again with what was typed."""
    field = request.form.get("_upload", "")
    submitted = _submitted()
    try:
        with get_db().transaction() as session:
            stored = attachments.upload_many(session, task_id, current_user.user, _uploads(field), _settings())
    except (tasks.ActionInvalid, files.FileStoreError) as e:
        return _render_task(task_id, values=submitted, errors={field: str(e)}, status=400)
    except (tasks.TaskAlreadyCompleted, tasks.TaskClaimed) as e:
        flash(str(e), "error")
        return redirect(url_for("inbox.inbox"))
    except tasks.TaskNotFound:
        abort(404)
    stored = list({a.id: a for a in stored}.values())  # a file sent twice is one attachment
    submitted[field] = list(dict.fromkeys(attachment_ids(submitted.get(field)) + [a.id for a in stored]))
    flash("已上传：" + "、".join(a.original_name for a in stored), "info")
    return _render_task(task_id, values=submitted)


def _task_action(task_id: str, do, done_message: str, back_to_task: bool = True):
    try:
        with get_db().transaction() as session:
            do(session)
        flash(done_message, "info")
    except tasks.ActionInvalid as e:
        flash(str(e), "error")
        return redirect(url_for("inbox.task", task_id=task_id))
    except _TASK_ERRORS as e:
        flash(str(e), "error")
        return redirect(url_for("inbox.inbox"))
    except tasks.TaskNotFound:
        abort(404)
    return redirect(url_for("inbox.task", task_id=task_id) if back_to_task else url_for("inbox.inbox"))


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: str):
    """领取, from the task page or from the inbox list (``back=inbox``: stay on the list)."""
    return _task_action(task_id, lambda s: tasks.claim(s, task_id, current_user.user), "已领取任务，已移到“我的待办”",
                        back_to_task=request.form.get("back") != "inbox")


@bp.route("/tasks/<task_id>/unclaim", methods=["POST"])
@login_required
def unclaim(task_id: str):
    return _task_action(task_id, lambda s: tasks.unclaim(s, task_id, current_user.user),
                        "已退还任务，岗位其他人员可以领取", back_to_task=False)


@bp.route("/tasks/<task_id>/delegate", methods=["POST"])
@login_required
def delegate(task_id: str):
    to, reason = request.form.get("to", ""), request.form.get("reason", "")
    return _task_action(task_id, lambda s: tasks.delegate(s, task_id, current_user.user, to, reason),
                        f"已转办给 {person(to)}", back_to_task=False)


@bp.route("/tasks/<task_id>/return", methods=["POST"])
@login_required
def send_back(task_id: str):
    reason = request.form.get("reason", "")
    return _task_action(task_id, lambda s: tasks.send_back(s, task_id, current_user.user, reason),
                        f"已退回：{reason.strip()}", back_to_task=False)


@bp.route("/tasks/<task_id>/comment", methods=["POST"])
@login_required
def comment(task_id: str):
    text = request.form.get("text", "")
    return _task_action(task_id, lambda s: tasks.add_comment(s, None, current_user.user, text, task_id=task_id),
                        "已添加意见")


@bp.route("/notifications")
@login_required
def notifications():
    with get_db().reading() as session:
        found = notices.for_user(session, current_user.user)
    return render_template("notifications.html", notices=found)


@bp.route("/notifications/seen", methods=["POST"])
@login_required
def notifications_seen():
    with get_db().transaction() as session:
        notices.mark_seen(session, current_user.user)
    flash("通知已全部标为已读", "info")
    return redirect(url_for("inbox.notifications"))
