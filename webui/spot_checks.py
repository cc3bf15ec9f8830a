"""双随机: the 检查对象名录库 (import, edit, history), the 执法检查人员名录库, 随机抽查事项清单,
抽查计划 and draws (run, 回避 redraw, verify, confirm → inspection cases, published record)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.access.identity import NotPermitted
from engine.execution.errors import EngineStepFailed
from spot_checks import directory, draws, plans
from spot_checks.models import CATEGORIES, RISK_LEVELS, Draw, RegulatedEntity, SpotPlan
from workdays import calendar

from .database import get_db

bp = Blueprint("spot_checks", __name__, url_prefix="/spot-checks")


def _require_view() -> None:
    if not plans.may_view(current_user.user):
        raise NotPermitted("双随机抽查页面仅对立案岗、局领导和法制股开放")


def _require_draw() -> None:
    if not plans.may_draw(current_user.user):
        raise NotPermitted("抽查计划和抽取由立案岗或局领导办理")


@bp.app_context_processor
def _nav():
    return {"may_view_spot_checks": current_user.is_authenticated and plans.may_view(current_user.user)}


@bp.route("/")
@login_required
def index():
    _require_view()
    with get_db().reading() as session:
        return render_template("spot_checks/index.html", entities=directory.entities(session), categories=CATEGORIES,
                               pool=directory.inspector_pool(session, calendar.today()),
                               may_draw=plans.may_draw(current_user.user))


@bp.route("/import", methods=["POST"])
@login_required
def import_directory():
    _require_draw()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要导入的 .xlsx 或 .csv 文件。", "error")
        return redirect(url_for(".index"))
    try:
        with get_db().transaction() as session:
            result = directory.import_rows(session, directory.read_table(upload.stream, upload.filename),
                                           current_user.username)
        flash(f"导入完成：新增 {result['added']} 家，更新 {result['updated']} 家。", "info")
    except directory.DirectoryInvalid as e:
        flash("未导入任何数据：" + "；".join(e.errors[:20]), "error")
    return redirect(url_for(".index"))


@bp.route("/entities/<int:entity_id>", methods=["GET", "POST"])
@login_required
def entity(entity_id: int):
    _require_view()
    values, status = None, 200
    if request.method == "POST":
        _require_draw()
        values = {**request.form, "key_polluter": "是" if request.form.get("key_polluter") else "否",
                  "special_supervision": "是" if request.form.get("special_supervision") else "否",
                  "active": "是" if request.form.get("active") else "否"}
        try:
            with get_db().transaction() as session:
                directory.update(session, entity_id, values, current_user.username)
            flash("已保存，变更记入历史。", "info")
            return redirect(url_for(".entity", entity_id=entity_id))
        except directory.DirectoryInvalid as e:
            flash("未保存：" + "；".join(e.errors), "error")
            status = 400
    with get_db().reading() as session:
        found = session.get(RegulatedEntity, entity_id)
        if found is None:
            abort(404)
        return render_template("spot_checks/entity.html", entity=found, history=directory.history(session, entity_id),
                               risk_levels=RISK_LEVELS, values=values, categories=CATEGORIES,
                               may_draw=plans.may_draw(current_user.user)), status


@bp.route("/plans", methods=["GET", "POST"])
@login_required
def plan_list():
    _require_view()
    status = 200
    if request.method == "POST":
        _require_draw()
        form = request.form
        try:
            with get_db().transaction() as session:
                plan = plans.create(session, form.get("name", ""), int(form.get("item_id") or 0),
                                    _date(form.get("period_start")), _date(form.get("period_end")),
                                    int(form.get("team_size") or 0),
                                    {c: (form.get(f"ratio_{c}"), form.get(f"frequency_{c}")) for c in CATEGORIES},
                                    current_user.username)
            flash(f"已制定抽查计划“{plan.name}”。", "info")
            return redirect(url_for(".plan_list"))
        except (plans.PlanInvalid, ValueError) as e:
            flash("未保存：" + "；".join(getattr(e, "errors", ["人数应为整数"])), "error")
            status = 400
    with get_db().transaction() as session:
        plans.seed_items(session)
        return render_template("spot_checks/plans.html", plans=plans.all_plans(session), items=plans.items(session),
                               categories=CATEGORIES, draws=draws.batches(session), label=draws.plan_quotas_label,
                               may_draw=plans.may_draw(current_user.user), form=request.form), status


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return None


@bp.route("/plans/<int:plan_id>/draw", methods=["POST"])
@login_required
def run_draw(plan_id: int):
    _require_draw()
    try:
        with get_db().transaction() as session:
            plan = session.get(SpotPlan, plan_id)
            if plan is None:
                abort(404)
            draw = draws.run(session, plan, current_user.username, calendar.today())
        return redirect(url_for(".draw", draw_id=draw.id))
    except draws.DrawRefused as e:
        flash(str(e), "error")
        return redirect(url_for(".plan_list"))


def _draw_or_404(session, draw_id: int) -> Draw:
    found = session.get(Draw, draw_id)
    if found is None:
        abort(404)
    return found


@bp.route("/draws/<int:draw_id>")
@login_required
def draw(draw_id: int):
    _require_view()
    with get_db().reading() as session:
        found = session.get(Draw, draw_id)
        if found is None or found.kind != "batch":
            abort(404)
        return render_template("spot_checks/draw.html", **draws.describe(session, found),
                               may_draw=plans.may_draw(current_user.user), categories=CATEGORIES)


@bp.route("/draws/<int:draw_id>/recuse", methods=["POST"])
@login_required
def recuse(draw_id: int):
    _require_draw()
    try:
        with get_db().transaction() as session:
            found = _draw_or_404(session, draw_id)
            draws.recuse(session, found, request.form.get("credit_code", ""), request.form.get("cert_no", ""),
                         request.form.get("reason", ""), current_user.username, calendar.today())
        flash("已回避并重新抽取，抽取记录已留存。", "info")
    except draws.DrawRefused as e:
        flash(str(e), "error")
    return redirect(url_for(".draw", draw_id=draw_id))


@bp.route("/draws/<int:draw_id>/confirm", methods=["POST"])
@login_required
def confirm(draw_id: int):
    _require_draw()
    try:
        with get_db().transaction() as session:
            found = _draw_or_404(session, draw_id)
            made = draws.confirm(session, found, current_user.user)
        flash(f"已确认抽取结果：发起检查案件 {len(made)} 件，抽取记录已公示。", "info")
    except (draws.DrawRefused, EngineStepFailed) as e:
        flash(str(e), "error")
    return redirect(url_for(".draw", draw_id=draw_id))


@bp.route("/draws/<int:draw_id>/verify", methods=["POST"])
@login_required
def verify(draw_id: int):
    _require_view()
    with get_db().reading() as session:
        found = _draw_or_404(session, draw_id)
        problems = [(d.id, p) for d in [found, *draws.redraws(session, found)] for p in draws.verify(session, d.id).problems]
    if problems:
        flash("复核不一致：" + "；".join(f"记录{i}：{p}" for i, p in problems), "error")
    else:
        flash("复核一致：按记录的名录快照、随机种子和算法重新计算，结果相同。", "info")
    return redirect(url_for(".draw", draw_id=draw_id))

