"""Starting a case and the case page."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from engine import forms, history, identity, repository, runtime, tasks
from engine.errors import EngineStepFailed
from engine.models import ProcessInstance

from .database import get_db
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
    return render_template("start_form.html", definition=definition, form=form,
                           values=values if values is not None else forms.initial_values(form, {}),
                           errors=errors or {}), status


@bp.route("/start/<key>")
@login_required
def start_form(key: str):
    return _start_page(key)


@bp.route("/start/<key>", methods=["POST"])
@login_required
def start(key: str):
    submitted = _submitted()
    try:
        with get_db().transaction() as session:
            instance = runtime.start(session, key, current_user.user, submitted)
            ready = [t for t in tasks.ready_tasks(session, instance.id) if tasks.may_act(session, t, current_user.user)]
    except forms.FormInvalid as e:
        return _start_page(key, values=submitted, errors=e.errors, status=400)
    except runtime.NoSuchProcess:
        abort(404)
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
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            abort(404)
        identity.require_instance_visible(session, current_user.user, instance)
        return render_template("case.html", instance=instance, definition=instance.definition,
                               ready=tasks.ready_tasks(session, instance.id),
                               events=history.events_of(session, instance.id),
                               links=runtime.linked_instances(session, instance.id))
