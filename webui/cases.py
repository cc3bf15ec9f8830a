"""Starting a case, the case page (diagram, history, comments, attachments), downloads."""
from __future__ import annotations

import uuid

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.access import identity
from engine.deploy import repository
from engine.execution import runtime
from engine.execution.errors import EngineStepFailed
from engine.inbox import attachments, case_view, tasks
from engine.sandbox.scripting import today
from engine.spec import forms
from engine.store import files
from monitoring import oversight
from paperwork import case_file, issuing
from recording import evidence

from . import security
from .database import get_db
from .filters import localtime, person
from .inbox import _submitted

bp = Blueprint("cases", __name__)


@bp.route("/start")
@login_required
def start_list():
    with get_db().reading() as session:
        definitions = runtime.startable(session, current_user.user)
    return render_template("start_list.html", definitions=definitions)


def _start_page(key: str, values=None, errors=None, status=200):
    with get_db().reading() as session:
        definition = repository.latest_definition(session, key)
        if definition is None or definition not in runtime.startable(session, current_user.user):
            abort(404)
        spec, _ = repository.specs_of(session, definition)
        form = runtime.start_form(spec)
        officers = {f.id: identity.certified(session, f.posts, today()) for f in form.fields if f.type == "officers"}
    return render_template("start_form.html", definition=definition, form=form, start_token=uuid.uuid4().hex,
                           values=values if values is not None else forms.initial_values(form, {}),
                           errors=errors or {}, officers=officers), status


@bp.route("/start/<key>")
@login_required
def start_form(key: str):
    return _start_page(key)


@bp.route("/start/<key>", methods=["POST"])
@login_required
def start(key: str):
    submitted = _submitted()
    token = str(submitted.pop("_start_token", "") or "")[:64] or None
    try:
        with get_db().transaction() as session:
            instance = runtime.start(session, key, current_user.user, submitted, start_token=token)
            ready = [t for t in tasks.ready_tasks(session, instance.id) if tasks.may_act(session, t, current_user.user)]
    except forms.FormInvalid as e:
        return _start_page(key, values=submitted, errors=e.errors, status=400)
    except runtime.NoSuchProcess:
        abort(404)
    except runtime.AlreadyStarted:
        with get_db().reading() as session:
            earlier = runtime.started_by_token(session, token)
        flash(f"该案件已于 {localtime(earlier.started_at)} 发起（{earlier.business_key}），请勿重复提交", "error")
        return redirect(url_for("cases.case", instance_id=earlier.id))
    except EngineStepFailed as e:
        flash(str(e), "error")
        return redirect(url_for("cases.start_list"))
    flash(f"已发起案件 {instance.business_key}", "info")
    if ready:
        return redirect(url_for("inbox.task", task_id=ready[0].id))
    return redirect(url_for("cases.case", instance_id=instance.id))


@bp.route("/cases/<int:instance_id>")
@login_required
def case(instance_id: int):
    with get_db().reading() as session:
        try:
            found = case_view.case_file(session, instance_id, current_user.user)
        except runtime.InstanceNotFound:
            abort(404)
        # Step names for timeline lines that carry only an element id (领取, 退还到岗位 …).
        step_names = {e.event.element_id: e.details["task"] for e in found.timeline
                      if e.event.element_id and isinstance(e.details.get("task"), str)}
        step_names.update({t.element_id: t.name for t in found.ready})
        pressed = oversight.of_case(session, instance_id)
        recipient_names = {r.recipient: oversight.recipient_name(session, r.recipient)
                           for n in pressed for r in n.recipients}
        return render_template("case.html", case=found, instance=found.instance, definition=found.definition,
                               due_status=tasks.due_status, step_names=step_names, pressed=pressed,
                               recipient_names=recipient_names, exception_reasons=evidence.EXCEPTION_REASONS,
                               documents=issuing.of_case(session, instance_id),
                               case_file_build=case_file.latest(session, instance_id),
                               may_serve=bool(found.actionable),
                               recusals=tasks.recusals_of(session, instance_id),
                               officers=tasks.involved_officers(session, instance_id)
                               if found.instance.status == "running" else [])


@bp.route("/cases/<int:instance_id>/recusal", methods=["POST"])
@login_required
def recusal(instance_id: int):
    """回避: a party's request against a named officer, recorded on the case."""
    try:
        with get_db().transaction() as session:
            done = tasks.recuse(session, instance_id, current_user.user, request.form.get("officer", ""),
                                request.form.get("reason", ""))
        flash(f"已记录 {person(done.username)} 回避，其不再办理本案的任务", "info")
    except tasks.ActionInvalid as e:
        flash(str(e), "error")
    except runtime.InstanceNotFound:
        abort(404)
    return redirect(url_for("cases.case", instance_id=instance_id) + "#recusals")


@bp.route("/cases/<int:instance_id>/diagram.bpmn")
@login_required
def diagram(instance_id: int):
    with get_db().reading() as session:
        try:
            xml = case_view.diagram_xml(session, instance_id, current_user.user)
        except runtime.InstanceNotFound:
            abort(404)
    return Response(xml, mimetype="application/xml", headers={"X-Content-Type-Options": "nosniff",
                                                              "Content-Security-Policy": security.FILE_CSP,
                                                              "Cache-Control": "private, max-age=300"})


@bp.route("/cases/<int:instance_id>/comment", methods=["POST"])
@login_required
def comment(instance_id: int):
    try:
        with get_db().transaction() as session:
            tasks.add_comment(session, instance_id, current_user.user, request.form.get("text", ""))
        flash("已添加意见", "info")
    except tasks.ActionInvalid as e:
        flash(str(e), "error")
    except runtime.InstanceNotFound:
        abort(404)
    return redirect(url_for("cases.case", instance_id=instance_id) + "#comments")


@bp.route("/files/<int:attachment_id>")
@login_required
def download(attachment_id: int):
    with get_db().reading() as session:
        try:
            attachment, path = attachments.for_download(session, attachment_id, current_user.user,
                                                       current_app.config["ZHIFA_SETTINGS"])
        except attachments.AttachmentNotFound:
            abort(404)
        except files.FileMissing as e:
            return render_template("error.html", code=404, message=str(e)), 404
    return security.send_stored(attachment, path, inline=False, conditional=True, etag=attachment.sha256)
