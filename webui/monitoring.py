"""流程监控: overview with diagram badges and heatmap, instance list and CSV, overdue
board, throughput charts, and suspend/resume/terminate of a case."""
from __future__ import annotations

from datetime import date
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user, login_required

from engine.admin import management
from engine.execution import runtime
from monitoring import dashboards, oversight
from workdays import calendar

from .database import get_db
from .security import parse_id

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.app_template_filter("duration")
def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} 天"
    return f"{seconds / 3600:.1f} 小时"


def _page() -> int:
    page = parse_id(request.args.get("page"))
    return page if page and page < 10**6 else 1


@bp.route("")
@login_required
def overview():
    with get_db().reading() as session:
        data = dashboards.overview(session, current_user.user)
    return render_template("dashboard_overview.html", data=data)


@bp.route("/process/<int:definition_id>")
@login_required
def process(definition_id: int):
    with get_db().reading() as session:
        try:
            view = dashboards.process_view(session, current_user.user, definition_id)
        except dashboards.DefinitionNotFound:
            abort(404)
    return render_template("dashboard_process.html", view=view)


@bp.route("/instances")
@login_required
def instance_list():
    f, errors = dashboards.InstanceFilter.parse(request.args)
    with get_db().reading() as session:
        data = dashboards.instance_list(session, current_user.user, f, _page(), errors=errors)
    return render_template("dashboard_instances.html", data=data, labels=dashboards.STATUS_LABELS)


@bp.route("/instances.csv")
@login_required
def instances_csv():
    f, errors = dashboards.InstanceFilter.parse(request.args)
    if errors:
        flash("；".join(errors), "error")
        return redirect(url_for("dashboard.instance_list", **f.query_args()))
    session = get_db().new_session(write=False)
    try:
        lines = dashboards.instances_csv(session, current_user.user, f)
    except BaseException:
        session.close()
        raise

    def generate():
        try:
            yield from (line.encode("utf-8") for line in lines)
        finally:
            session.close()
    name = f"案件列表-{calendar.today():%Y%m%d}.csv"
    return Response(stream_with_context(generate()), mimetype="text/csv", headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f"attachment; filename=instances.csv; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store"})


@bp.route("/overdue")
@login_required
def overdue():
    with get_db().reading() as session:
        board = dashboards.overdue_board(session, current_user.user, department=request.args.get("department") or None,
                                         post=request.args.get("post") or None,
                                         kind=request.args.get("kind", "all"), page=_page())
        may_press = oversight.may_send(session, current_user.user)
        pressed = oversight.counts(session)
        open_notices = oversight.open_by_task(session, [t.id for t in board.tasks])
    return render_template("dashboard_overdue.html", board=board, may_press=may_press, pressed=pressed,
                           open_notices=open_notices, default_reply_by=calendar.add_working_days(date.today(), 3))


@bp.route("/overdue/<task_id>/press", methods=["POST"])
@login_required
def press(task_id: str):
    """督办: a notice with a reply deadline to the task's handler and the section head."""
    back = request.form.get("back") or url_for("dashboard.overdue")
    back = back if back.startswith("/") and not back.startswith("//") else url_for("dashboard.overdue")
    try:
        reply_by = date.fromisoformat(request.form.get("reply_by", "").strip())
    except ValueError:
        flash("办结（答复）期限不是有效日期（格式：2026-03-01）", "error")
        return redirect(back)
    try:
        with get_db().transaction() as session:
            notice = oversight.send(session, current_user.user, task_id, request.form.get("text", ""), reply_by)
            names = "、".join(oversight.recipient_name(session, r.recipient) for r in notice.recipients)
        flash(f"已督办“{notice.task_name}”，已通知：{names}", "info")
    except oversight.OversightInvalid as e:
        flash(str(e), "error")
    return redirect(back)


def _date_arg(name: str, label: str, errors: list[str]) -> date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        errors.append(f"{label}不是有效日期（格式：2026-03-01）")
        return None


@bp.route("/throughput")
@login_required
def throughput():
    errors: list[str] = []
    since, until = _date_arg("since", "起始日期", errors), _date_arg("until", "截止日期", errors)
    process = (request.args.get("process") or "").strip()[:200] or None
    with get_db().reading() as session:
        try:
            data = dashboards.throughput(session, current_user.user, since, until, process)
        except dashboards.FilterInvalid as e:
            errors.append(str(e))
            data = dashboards.throughput(session, current_user.user, None, None, process)
        choices = dashboards.process_choices(session)
    return render_template("dashboard_throughput.html", data=data, errors=errors, choices=choices,
                           ), 400 if errors else 200


def _manage_page(instance_id: int, error: str | None = None, status: int = 200):
    with get_db().reading() as session:
        try:
            data = management.summary(session, current_user.user, instance_id)
        except runtime.InstanceNotFound:
            abort(404)
    return render_template("dashboard_instance.html", data=data, error=error,
                           reason=request.form.get("reason", "") if error else ""), status


@bp.route("/instances/<int:instance_id>")
@login_required
def instance(instance_id: int):
    return _manage_page(instance_id)


_ACTIONS = {"suspend": (management.suspend, "已挂起案件"), "resume": (management.resume, "已恢复案件"),
            "terminate": (management.terminate, "已终止案件")}


@bp.route("/instances/<int:instance_id>/<action>", methods=["POST"])
@login_required
def manage(instance_id: int, action: str):
    if action not in _ACTIONS:
        abort(404)
    act, done = _ACTIONS[action]
    try:
        with get_db().transaction() as session:
            case = act(session, instance_id, current_user.user, request.form.get("reason", ""))
    except runtime.InstanceNotFound:
        abort(404)
    except management.ReasonRequired as e:
        return _manage_page(instance_id, str(e), 400)
    except management.WrongStatus as e:
        return _manage_page(instance_id, str(e), 409)
    flash(f"{done} {case.business_key}", "info")
    return redirect(url_for("dashboard.instance", instance_id=instance_id))
