"""The web UI: a Flask app factory; views parse the request, call engine/, render."""
from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, redirect, render_template, url_for
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.access import identity
from engine.admin import catalog
from engine.execution import runtime
from engine.inbox import attachments, tasks
from engine.store.config import Settings, load_settings
from engine.store.db import Database
from zhifa import bureau
from zhifa.bootstrap import open_database

from . import database, filters, menus, security
from .security import security_headers  # (both apps: this one and the public site)

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录"


def _secret_key(settings: Settings) -> str:
    """ZHIFA_SECRET_KEY, else one generated once per data dir (shared by all server workers)."""
    if settings.secret_key:
        return settings.secret_key
    path: Path = settings.data_dir / "secret_key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip()


def create_app(settings: Settings | None = None, db: Database | None = None) -> Flask:
    bureau.install()
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(SECRET_KEY=_secret_key(settings), MAX_CONTENT_LENGTH=settings.max_upload_bytes,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", WTF_CSRF_TIME_LIMIT=None,
                      SESSION_COOKIE_SECURE=settings.secure_cookies, REMEMBER_COOKIE_SECURE=settings.secure_cookies,
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_max_hours),
                      ZHIFA_SETTINGS=settings)
    if settings.proxy_hops:  # the client's address and scheme as the reverse proxy saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    app.extensions["zhifa_db"] = db or open_database(settings)
    database.share_reading(app)  # first: the user is read (by the body limit) in the request's session
    security.install(app)  # its body limit must apply before CSRF reads the form
    csrf.init_app(app)
    login_manager.init_app(app)
    filters.register(app)

    from . import (auth, cases, deploy, disclosure, inbox, monitoring, organisation, paperwork, recording, rest,
                   spot_checks, vendor)
    for module in (auth, inbox, cases, vendor, rest, monitoring, recording, deploy, disclosure, spot_checks, organisation,
                   paperwork):
        app.register_blueprint(module.bp)

    @app.context_processor
    def navigation():
        if not current_user.is_authenticated:
            return {}
        return menus.current()

    @app.route("/favicon.ico")
    def favicon():  # browsers ask for it on pages that are not HTML (downloads, the media viewer)
        return redirect(url_for("static", filename="favicon.svg"), 301)

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return render_template("error.html", code=400, message="页面已过期或请求来源无效（CSRF 校验失败），请刷新页面后重试。"), 400

    @app.errorhandler(identity.NotPermitted)
    def forbidden(e):
        return render_template("error.html", code=403, message=str(e)), 403

    # A task, case, file or version id that does not exist, wherever a view meets it (a typed or
    # stale link is a 404, never a 500).
    for missing in (tasks.TaskNotFound, runtime.InstanceNotFound, attachments.AttachmentNotFound,
                    catalog.VersionNotFound):
        app.register_error_handler(missing, lambda e: (render_template("error.html", code=404, message=str(e)),
                                                       404))

    @app.errorhandler(HTTPException)
    def http_error(e):
        messages = {400: "请求无效，请检查输入后重试。", 403: "您没有权限访问此页面。", 404: "页面不存在。",
                    405: "不允许的请求方式。", 413: "请求内容超过大小限制（未登录时只接受很小的请求；文件超过上传上限）。"}
        return render_template("error.html", code=e.code, message=messages.get(e.code, e.description)), e.code

    app.after_request(security_headers)
    return app

