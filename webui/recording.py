"""执法记录: recordings of a step, exception approvals, downloads with the 查阅登记簿,
long-term keeping, the 执法记录仪台账, and the annual 评查 report."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request
from flask import session as web_session
from flask import url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from engine.inbox import tasks
from engine.store import chain, files
from engine.store.models import Attachment, ProcessInstance, User
from paperwork import case_file
from recording import access, devices, evidence, retention

from . import security
from .security import parse_id
from .database import get_db

bp = Blueprint("evidence", __name__, url_prefix="/evidence")
TZ = ZoneInfo("Asia/Shanghai")
_PURPOSES = "evidence_purposes"
_VIEWED = "evidence_viewed"  # recordings this session opened on the player page (may fetch their bytes)
_PLAYED = ("video", "audio", "photo")  # shown on the player page; other records open as files


def _settings():
    return current_app.config["ZHIFA_SETTINGS"]


@bp.context_processor
def _people():
    """``person(username)`` → 姓名 on the 执法记录 pages (usernames mean nothing to a bureau reader);
    ``may_read_log``: the 查阅登记簿 and 评查 links only for those who may open them."""
    if not current_user.is_authenticated:
        return {}
    with get_db().reading() as s:
        names = dict(s.execute(select(User.username, User.full_name)).all())
    return {"person": lambda username: names.get(username) or username or "—",
            "may_read_log": evidence.may_read_access_log(current_user.user)}


def _case_keys(session, recordings) -> dict[int, str]:
    ids = {a.instance_id for a in recordings if a.instance_id}
    return dict(session.execute(select(ProcessInstance.id, ProcessInstance.business_key)
                                .where(ProcessInstance.id.in_(ids))).all()) if ids else {}


def _local(text: str | None) -> datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=TZ)
    except ValueError:
        raise evidence.InvalidInput("记录时间格式不正确。")


@bp.route("/")
@login_required
def index():
    user = current_user.user
    with get_db().reading() as s:
        pending = evidence.pending_exceptions(s, user)
        instances = {i.id: i for i in s.query(ProcessInstance).filter(
            ProcessInstance.id.in_([e.instance_id for e in pending]))} if pending else {}
        late = evidence.late_count(s)
    return render_template("evidence/index.html", pending=pending, instances=instances, late=late,
                           reasons=evidence.EXCEPTION_REASONS, may_approve=evidence.may_approve(user),
                           may_read_log=evidence.may_read_access_log(user))


@bp.route("/exceptions/<int:exception_id>", methods=["POST"])
@login_required
def decide(exception_id: int):
    approve = request.form.get("decision") == "approve"
    try:
        with get_db().transaction() as s:
            evidence.decide_exception(s, exception_id, current_user.user, approve, request.form.get("note", ""))
        flash("已批准情况说明" if approve else "已不予批准", "info")
    except evidence.EvidenceError as e:
        flash(str(e), "error")
    return redirect(url_for("evidence.index"))


# --- a step's recordings -------------------------------------------------------------

def _render_step(task_id: str, status=200):
    with get_db().reading() as s:
        try:
            step = evidence.step_status(s, task_id, current_user.user)
        except tasks.TaskNotFound:
            abort(404)
        device_list = devices.all_devices(s)
    return render_template("evidence/step.html", step=step, reasons=evidence.EXCEPTION_REASONS,
                           kinds=evidence.KIND_NAMES, devices=device_list), status


@bp.route("/tasks/<task_id>")
@login_required
def step(task_id: str):
    return _render_step(task_id)


@bp.route("/tasks/<task_id>/upload", methods=["POST"])
@login_required
def upload(task_id: str):
    # the file chosen, or the photo/video just taken with the phone's camera (two inputs named "file")
    storage = next((f for f in request.files.getlist("file") if f and f.filename), None)
    try:
        if storage is None or not storage.filename:
            raise evidence.InvalidInput("请选择要上传的记录文件。")
        device = request.form.get("device_id", "").strip()
        with get_db().transaction() as s:
            a = evidence.upload(s, task_id, current_user.user, storage.stream, storage.filename, storage.mimetype,
                                recorded_at=_local(request.form.get("recorded_at")),
                                device_id=parse_id(device),
                                late_reason=request.form.get("late_reason"), settings=_settings())
        flash(f"已上传“{a.original_name}”（{evidence.KIND_NAMES.get(a.media_kind, a.media_kind)}"
              f"{'，逾期上传' if a.late else ''}）", "info")
    except files.FileStoreError as e:
        flash(str(e), "error")
        return _render_step(task_id, 400)
    except tasks.TaskNotFound:
        abort(404)
    return redirect(url_for("evidence.step", task_id=task_id))


@bp.route("/tasks/<task_id>/text", methods=["POST"])
@login_required
def text_record(task_id: str):
    try:
        with get_db().transaction() as s:
            evidence.add_text_record(s, task_id, current_user.user, request.form.get("text", ""), settings=_settings())
        flash("已保存文字记录", "info")
    except files.FileStoreError as e:
        flash(str(e), "error")
        return _render_step(task_id, 400)
    return redirect(url_for("evidence.step", task_id=task_id))


@bp.route("/tasks/<task_id>/exception", methods=["POST"])
@login_required
def request_exception(task_id: str):
    try:
        with get_db().transaction() as s:
            evidence.request_exception(s, task_id, current_user.user, request.form.get("reason", ""),
                                       request.form.get("explanation", ""))
        flash("情况说明已提交，等待主要负责人审批", "info")
    except files.FileStoreError as e:
        flash(str(e), "error")
        return _render_step(task_id, 400)
    return redirect(url_for("evidence.step", task_id=task_id))


# --- viewing and downloading (查阅登记簿) -------------------------------------------------

@bp.route("/files/<int:attachment_id>/<any(view, download):action>", methods=["GET", "POST"])
@login_required
def open_file(attachment_id: int, action: str):
    purposes = web_session.get(_PURPOSES, {})
    with get_db().reading() as s:
        attachment = s.get(files.Attachment, attachment_id)
        if attachment is None:
            abort(404)
        key = str(attachment.instance_id)
        evidence.recordings_of_case(s, attachment.instance_id, current_user.user) if attachment.instance_id else None
        instance = s.get(ProcessInstance, attachment.instance_id) if attachment.instance_id else None
    if request.method == "POST":
        purpose = request.form.get("purpose", "").strip()
        if len(purpose) < 2:
            flash("请填写查阅事由。", "error")
            return render_template("evidence/purpose.html", attachment=attachment, action=action,
                                   instance=instance), 400
        purposes[key] = purpose[:500]
        web_session[_PURPOSES] = purposes
        return redirect(url_for("evidence.open_file", attachment_id=attachment_id, action=action))
    if key not in purposes:  # asked on the first access to the case in this session
        return render_template("evidence/purpose.html", attachment=attachment, action=action, instance=instance)
    try:
        with get_db().transaction() as s:
            attachment = evidence.open_recording(s, attachment_id, current_user.user, purposes[key], action)
            handle = files.open_file(attachment, _settings())
    except files.FileStoreError as e:
        flash(str(e), "error")
        return redirect(url_for("evidence.index"))
    if action == "view" and attachment.media_kind in _PLAYED:
        # One viewing, one 查阅登记簿 line: the player page is the viewing; the player's own
        # (range) requests for the bytes go to ``media``, which this session may now read.
        handle.close()
        web_session[_VIEWED] = sorted({*web_session.get(_VIEWED, []), attachment.id})[-50:]
        return render_template("evidence/viewer.html", attachment=attachment, instance=instance)
    return security.send_stored(attachment, handle, inline=action == "view", conditional=False, etag=False)


@bp.route("/files/<int:attachment_id>/media")
@login_required
def media(attachment_id: int):
    """The bytes of a recording opened on the player page in this session (already registered)."""
    if attachment_id not in web_session.get(_VIEWED, []):
        abort(403)
    with get_db().reading() as s:
        attachment = s.get(files.Attachment, attachment_id)
        if attachment is None or attachment.purged_at is not None:
            abort(404)
        path = files.path_of(attachment, _settings())
        if not path.is_file():
            abort(404)
    return security.send_stored(attachment, path, inline=True, conditional=True, etag=attachment.sha256)


@bp.route("/cases/<int:instance_id>")
@login_required
def case(instance_id: int):
    with get_db().reading() as s:
        instance = s.get(ProcessInstance, instance_id)
        if instance is None:
            abort(404)
        recordings = evidence.recordings_of_case(s, instance_id, current_user.user)
        holds = retention.holds_of(s, instance_id)
        expires = retention.expires_at(instance)
    return render_template("evidence/case.html", instance=instance, recordings=recordings, holds=holds,
                           expires=expires, hold_reasons=retention.HOLD_REASONS, kinds=evidence.KIND_NAMES,
                           may_flag=retention.may_flag(current_user.user))


@bp.route("/cases/<int:instance_id>/hold", methods=["POST"])
@login_required
def hold(instance_id: int):
    try:
        with get_db().transaction() as s:
            retention.flag_long_term(s, instance_id, current_user.user, request.form.get("reason", ""),
                                     request.form.get("explanation", ""))
            result = retention.export_package(s, instance_id, _settings().data_dir / "exports",
                                              current_user.user.username, _settings())
        flash(f"已标记长期保存，并生成一式两份的刻录包：{result.copies[0].parent}", "info")
    except retention.RetentionError as e:
        flash(str(e), "error")
    return redirect(url_for("evidence.case", instance_id=instance_id))


@bp.route("/access-log")
@login_required
def access_log():
    with get_db().reading() as s:
        entries = evidence.access_log(s, current_user.user)
        ids = {e.attachment_id for e in entries if e.attachment_id}
        names = dict(s.execute(select(Attachment.id, Attachment.original_name).where(Attachment.id.in_(ids)))
                     .all()) if ids else {}
    return render_template("evidence/access_log.html", entries=entries, file_names=names,
                           modes={"view": "查看", "download": "下载", **access.MODES})


# --- devices ---------------------------------------------------------------------------

@bp.route("/devices", methods=["GET", "POST"])
@login_required
def device_list():
    if request.method == "POST":
        try:
            with get_db().transaction() as s:
                op = request.form.get("op")
                if op == "add":
                    devices.add_device(s, current_user.user, request.form.get("number", ""),
                                       request.form.get("kind", ""), request.form.get("model", ""))
                elif op == "checkout":
                    devices.checkout(s, current_user.user, parse_id(request.form.get("device_id")) or 0,
                                     request.form.get("officer", ""), request.form.get("purpose", ""))
                elif op == "return":
                    devices.return_device(s, current_user.user, parse_id(request.form.get("device_id")) or 0,
                                          request.form.get("content", ""))
            flash("台账已更新", "info")
        except devices.DeviceError as e:
            flash(str(e), "error")
        return redirect(url_for("evidence.device_list"))
    with get_db().reading() as s:
        ledger = devices.ledger(s, current_user.user)
        keeper = devices.may_keep(s, current_user.user)
    return render_template("evidence/devices.html", devices=ledger, kinds=devices.DEVICE_KINDS, keeper=keeper)


@bp.route("/devices/<int:device_id>")
@login_required
def device(device_id: int):
    with get_db().reading() as s:
        try:
            page = devices.device_page(s, current_user.user, device_id)
        except devices.DeviceError:
            abort(404)
        case_keys = _case_keys(s, page.recordings)
    return render_template("evidence/device.html", page=page, kinds=devices.DEVICE_KINDS,
                           media=evidence.KIND_NAMES, case_keys=case_keys)


@bp.route("/officers/<username>")
@login_required
def officer(username: str):
    with get_db().reading() as s:
        try:
            page = devices.officer_page(s, current_user.user, username)
        except devices.DeviceError:
            abort(404)
        case_keys = _case_keys(s, page.recordings)
    return render_template("evidence/officer.html", page=page, media=evidence.KIND_NAMES, case_keys=case_keys)


# --- 评查 report ---------------------------------------------------------------------------

def _year() -> int:
    year = parse_id(request.args.get("year"))
    return year if year and 2000 <= year <= 2100 else datetime.now(TZ).year


@bp.route("/report")
@login_required
def report():
    year = _year()
    with get_db().reading() as s:
        rows = evidence.annual_report(s, current_user.user, year)
        anchor = chain.latest_anchor(s, _settings())
        filed = case_file.finished_in_year(s, year)
    return render_template("evidence/report.html", rows=rows, year=year, columns=evidence.REPORT_COLUMNS,
                           anchor=anchor, filed=filed)


@bp.route("/report.csv")
@login_required
def report_csv():
    year = _year()
    with get_db().reading() as s:
        rows = evidence.annual_report(s, current_user.user, year)
    return Response(evidence.report_csv(rows), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=evidence-review-{year}.csv"})
