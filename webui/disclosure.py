"""公示管理 (法制股): decisions awaiting or past publication, withdrawals with their notice, the
权责清单 and 办事指南 as data, and publishing the lists the public site shows."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from disclosure import annual, catalog, publications
from disclosure.models import KINDS, STATES
from engine.access.identity import NotPermitted
from spot_checks import plans
from workdays import calendar

from .database import get_db
from .security import parse_id

bp = Blueprint("disclosure", __name__, url_prefix="/disclosure")


def _require() -> None:
    if not publications.may_manage(current_user.user):
        raise NotPermitted("公示管理仅对法制股开放")


@bp.app_context_processor
def _nav():
    return {"may_manage_disclosure": current_user.is_authenticated and publications.may_manage(current_user.user)}


@bp.route("/")
@login_required
def index():
    _require()
    today = calendar.today()
    with get_db().reading() as session:
        year, deadline = annual.due(today)
        return render_template("disclosure/index.html", decisions=publications.decisions(session), kinds=KINDS,
                               states=STATES, today=today, counts=publications.counts(session, today),
                               withdrawal_kinds=publications.WITHDRAWAL_KINDS, annual_year=year,
                               annual_deadline=deadline, annual_done=annual.is_published(session, year),
                               lists=publications.current_lists(session))


@bp.route("/<int:publication_id>/withdraw", methods=["POST"])
@login_required
def withdraw(publication_id: int):
    _require()
    try:
        basis_on = date.fromisoformat(request.form.get("basis_on", ""))
    except ValueError:
        flash("请填写撤销、变更或确认违法的决定日期。", "error")
        return redirect(url_for(".index"))
    try:
        with get_db().transaction() as session:
            publication = publications.withdraw(session, publications.get(session, publication_id),
                                                request.form.get("withdrawal_kind", ""), basis_on,
                                                request.form.get("reason", ""), current_user.username)
            flash(f"已撤回“{publication.title}”，公示网站显示撤回公告。", "info")
    except publications.PublicationError as e:
        flash(str(e), "error")
    return redirect(url_for(".index"))


@bp.route("/publish/<what>", methods=["POST"])
@login_required
def publish(what: str):
    _require()
    actor = current_user.username
    try:
        with get_db().transaction() as session:
            if what == "powers":
                catalog.publish_powers(session, actor)
            elif what == "spot_items":
                plans.seed_items(session)
                plans.publish_items(session, actor)
            elif what == "officers":
                catalog.publish_officers(session, actor, calendar.today())
            elif what == "diagrams":
                catalog.publish_diagrams(session, actor)
            elif what == "annual":
                annual.publish(session, parse_id(request.form.get("year")) or 0, actor)
            else:
                raise publications.PublicationError("未知的公示内容")
    except (publications.PublicationError, ValueError) as e:
        flash(str(e), "error")
    else:
        flash("已发布到行政执法公示网站。", "info")
    return redirect(url_for(".index"))


@bp.route("/powers")
@login_required
def powers():
    _require()
    with get_db().transaction() as session:
        catalog.seed_powers(session)
        return render_template("disclosure/powers.html", items=catalog.powers(session))


@bp.route("/powers/new", methods=["GET", "POST"])
@bp.route("/powers/<int:item_id>", methods=["GET", "POST"])
@login_required
def power(item_id: int | None = None):
    _require()
    values = request.form if request.method == "POST" else None
    if values is not None:
        try:
            with get_db().transaction() as session:
                catalog.save_power(session, item_id, values, current_user.username)
            flash("已保存。修改后请在公示管理页发布权责清单。", "info")
            return redirect(url_for(".powers"))
        except publications.PublicationError as e:
            flash(str(e), "error")
    try:
        with get_db().reading() as session:
            item = catalog.powers_by_id(session, item_id)
    except publications.PublicationError:
        abort(404)
    return render_template("disclosure/power.html", item=item, values=values, fields=catalog.FIELD_LABELS,
                           categories=catalog.CATEGORIES), 200 if values is None else 400
