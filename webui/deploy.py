"""流程部署 for legal staff: upload .bpmn/.dmn, read the validation report, deploy; every
deployment and version, downloads, diffs between versions, migration of running cases,
and the decision tables with the 试算 tester."""
from __future__ import annotations

import base64
import binascii
from functools import wraps

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.access.identity import DEPLOY, MANAGE_INSTANCES, NotPermitted, permissions_of
from engine.admin import catalog, instance_migration
from paperwork import deployment, library
from engine.deploy import diff, repository
from engine.spec import dmn
from engine.spec.problems import ModelInvalid, Problem

from .database import get_db
from . import security
from .security import parse_id

bp = Blueprint("admin", __name__, url_prefix="/admin")


def deployer_required(view):
    """Legal staff only (the deploy permission); migration pages also admit managers."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        with get_db().reading() as session:
            perms = permissions_of(session, current_user.user)
        allowed = {DEPLOY, MANAGE_INSTANCES} if view.__name__.startswith("migrat") else {DEPLOY}
        if not perms & allowed:
            raise NotPermitted("只有具有部署权限的岗位（法制股）可以使用流程部署")
        return view(*args, **kwargs)
    return wrapped


# --- 流程部署 ----------------------------------------------------------------------

def _deploy_page(status=200, **extra):
    with get_db().reading() as session:
        versions, decision_versions = catalog.process_versions(session), catalog.decision_versions(session)
        return render_template("admin/deploy.html", versions=versions, decision_versions=decision_versions,
                               refused=catalog.refused_versions(session, versions, decision_versions),
                               deployments=catalog.deployments(session),
                               template_versions=library.versions(session), **extra), status


@bp.get("/deploy")
@deployer_required
def deploy_page():
    return _deploy_page()


def _uploaded() -> list[repository.Source]:
    return [repository.Source(f.filename or "未命名", f.read()) for f in request.files.getlist("files") if f.filename]


def _carried() -> list[repository.Source] | None:
    """The files the report page carries to the deploy button (base64 in hidden fields)."""
    names, blobs = request.form.getlist("file_name"), request.form.getlist("file_data")
    if not names or len(names) != len(blobs):
        return None
    try:
        return [repository.Source(n, base64.b64decode(b, validate=True)) for n, b in zip(names, blobs)]
    except (binascii.Error, ValueError):
        return None


def _report(sources, problems=None, preview=None, template_changes=None, status=200):
    files = [{"name": s.name, "size": len(s.data), "sha256": s.sha256,
              "data": base64.b64encode(s.data).decode()} for s in sources]
    return render_template("admin/deploy_check.html", files=files, problems=problems or [],
                           preview=preview, template_changes=template_changes or []), status


@bp.post("/deploy/check")
@deployer_required
def deploy_check():
    sources = _uploaded()
    if not sources:
        flash("请选择要部署的 .bpmn、.dmn 或 .docx 文件", "error")
        return _deploy_page(status=400)
    try:
        with get_db().transaction() as session:
            preview, changes = deployment.preview(session, sources, user=current_user.user)
    except ModelInvalid as e:
        return _report(sources, problems=e.problems, status=400)
    return _report(sources, preview=preview, template_changes=changes)


@bp.post("/deploy")
@deployer_required
def deploy():
    sources = _carried()
    if sources is None:
        flash("部署请求不完整，请重新上传文件", "error")
        return redirect(url_for("admin.deploy_page"))
    try:
        with get_db().transaction() as session:
            outcome, templates = deployment.deploy(session, sources, user=current_user.user, source="web",
                                                   name=(request.form.get("name") or "").strip()[:200] or None)
            new = outcome is not None and outcome.created
            created = [f"流程 {d.name}（{d.key}）第 {d.version} 版" for d in (outcome.processes if new else [])] + \
                      [f"决策表 {d.name}（{d.key}）第 {d.version} 版" for d in (outcome.decisions if new else [])] + \
                      [f"文书模板 {t.title}（{t.key}）第 {t.version} 版" for t in templates]
    except ModelInvalid as e:
        return _report(sources, problems=e.problems, status=400)
    if created:
        flash("已部署：" + "；".join(created), "info")
    else:
        flash("文件与当前版本相同，没有产生新版本", "info")
    return redirect(url_for("admin.deploy_page"))


# --- versions, downloads, diffs ------------------------------------------------------

@bp.get("/processes/<key>")
@deployer_required
def process(key: str):
    with get_db().reading() as session:
        versions = catalog.process_versions(session).get(key)
        if not versions:
            abort(404)
        return render_template("admin/process.html", key=key, versions=versions)


@bp.get("/processes/<key>/<int:version>/download")
@deployer_required
def download_process(key: str, version: int):
    return _download("process", key, version)


@bp.get("/decisions/<key>/<int:version>/download")
@deployer_required
def download_decision(key: str, version: int):
    return _download("decision", key, version)


def _download(kind: str, key: str, version: int):
    with get_db().reading() as session:
        try:
            filename, content = catalog.download(session, kind, key, version)
        except catalog.VersionNotFound:
            abort(404)
    disposition = "inline" if request.args.get("inline") else "attachment"
    response = Response(content.encode("utf-8"), mimetype="application/xml")
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{filename}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = security.FILE_CSP  # XML may carry XHTML script
    return response


def _version_arg(name: str) -> int | None:
    return parse_id(request.args.get(name))


@bp.get("/processes/<key>/diff", endpoint="diff")
@deployer_required
def version_diff(key: str):
    old, new = _version_arg("from"), _version_arg("to")
    if old is None or new is None:
        flash("请选择要比较的两个版本", "error")
        return redirect(url_for("admin.process", key=key))
    with get_db().reading() as session:
        try:
            a, b = catalog.process_version(session, key, old), catalog.process_version(session, key, new)
            changes = diff.diff_versions(session, a, b)
        except catalog.VersionNotFound as e:
            flash(str(e), "error")
            return redirect(url_for("admin.process", key=key))
        return render_template("admin/diff.html", key=key, old=a, new=b, changes=changes,
                               categories=diff.CATEGORIES)


# --- migration of running cases ------------------------------------------------------------

@bp.get("/processes/<key>/migrate")
@deployer_required
def migrate_page(key: str):
    target = _version_arg("to")
    with get_db().reading() as session:
        versions = catalog.process_versions(session).get(key)
        if not versions:
            abort(404)
        target = target or versions[0].definition.version
        try:
            plan = instance_migration.plan(session, key, target, current_user.user)
        except catalog.VersionNotFound as e:
            flash(str(e), "error")
            return redirect(url_for("admin.process", key=key))
        return render_template("admin/migrate.html", key=key, plan=plan, versions=versions)


@bp.post("/processes/<key>/migrate")
@deployer_required
def migrate(key: str):
    target = parse_id(request.form.get("to"))
    if target is None:
        flash("请选择目标版本", "error")
        return redirect(url_for("admin.migrate_page", key=key))
    ids = [i for i in map(parse_id, request.form.getlist("instance")) if i is not None]
    if not ids:
        flash("没有选择要迁移的案件", "error")
        return redirect(url_for("admin.migrate_page", key=key, to=target))
    try:
        with get_db().transaction() as session:
            result = instance_migration.migrate(session, key, target, current_user.user, instance_ids=ids)
            moved = [c.instance.business_key for c in result.movable]
            refused = [f"{c.instance.business_key}：{c.reason}" for c in result.refused]
    except catalog.VersionNotFound as e:
        flash(str(e), "error")
        return redirect(url_for("admin.process", key=key))
    if moved:
        flash(f"已将 {len(moved)} 件案件迁移到第 {target} 版：{'、'.join(moved)}", "info")
    if refused:
        flash("未迁移：" + "；".join(refused), "error")
    return redirect(url_for("admin.migrate_page", key=key, to=target))


# --- decision tables and 试算 ----------------------------------------------------------------

@bp.get("/decisions")
@deployer_required
def decisions_page():
    with get_db().reading() as session:
        return render_template("admin/decisions.html", decisions=catalog.decision_versions(session))


def _decision_page(key: str, values=None, errors=None, result=None, error=None, status=200):
    version = _version_arg("version")
    with get_db().reading() as session:
        try:
            definition = catalog.decision_version(session, key, version)
        except catalog.VersionNotFound:
            abort(404)
        view = catalog.table_view(session, definition)
        versions = catalog.decision_versions(session)[key]
        return render_template("admin/decision.html", view=view, versions=versions, values=values or {},
                               errors=errors or {}, result=result, error=error), status


@bp.get("/decisions/<key>")
@deployer_required
def decision(key: str):
    return _decision_page(key)


@bp.post("/decisions/<key>")
@deployer_required
def try_decision(key: str):
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    version = _version_arg("version")
    with get_db().reading() as session:
        try:
            definition = catalog.decision_version(session, key, version)
            _, result = catalog.try_decision(session, definition, values)
        except catalog.VersionNotFound:
            abort(404)
        except catalog.TrialInvalid as e:
            return _decision_page(key, values, errors=e.errors, status=400)
        except dmn.DecisionError as e:
            return _decision_page(key, values, error=f"决策表无法得出结果：{e.reason}", status=400)
    return _decision_page(key, values, result=result)


__all__ = ["bp", "Problem"]
