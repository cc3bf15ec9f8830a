"""The public site (行政执法公示): a WSGI app of its own, for an Internet-facing host.

No login, no forms, GET only. It reads through disclosure.public alone — published rows of
``publications`` — and registers none of the internal blueprints, so it cannot reach a case, a user
or a file that was not published. ``zhifa serve --public`` runs it (webui/public_wsgi.py).
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, render_template, request, Response
from werkzeug.exceptions import HTTPException

from disclosure import public
from disclosure.models import DECISION_KINDS, KINDS
from zhifa.bootstrap import open_database
from engine.store.config import Settings, load_settings
from engine.store.db import Database

from . import database, filters, security_headers, vendor
from .security import ANONYMOUS_BODY_LIMIT, BoundedInt, MalformedInput, check_request, parse_id

HERE = Path(__file__).resolve().parent
bp = Blueprint("public", __name__)
CATEGORIES = ("行政许可", "行政处罚", "行政强制", "行政检查")


def _db() -> Database:
    return current_app.extensions["zhifa_db"]


def _page() -> int:
    page = parse_id(request.args.get("page"))
    return page if page and page < 100000 else 1


@bp.route("/")
def index():
    with _db().reading() as session:
        latest = {kind: public.listing(session, kind)[0][:5] for kind in DECISION_KINDS}
        return render_template("public/index.html", latest=latest, notices=public.notices(session),
                               years=public.years(session), kinds=KINDS)


@bp.route("/powers")
def powers():
    with _db().reading() as session:
        record = public.current(session, "powers")
    items = record.content["items"] if record else []
    return render_template("public/powers.html", record=record, categories=CATEGORIES,
                           items={c: [i for i in items if i["category"] == c] for c in CATEGORIES})


@bp.route("/guides/<int:item_id>")
def guide(item_id: int):
    with _db().reading() as session:
        record = public.current(session, "powers")
        has_diagram = public.current(session, "diagram:permit") is not None
    item = next((i for i in (record.content["items"] if record else []) if i["id"] == item_id), None)
    if item is None:
        abort(404)
    return render_template("public/guide.html", item=item, record=record, has_diagram=has_diagram)


@bp.route("/spot-items")
def spot_items():
    with _db().reading() as session:
        return render_template("public/spot_items.html", record=public.current(session, "spot_items"))


@bp.route("/officers")
def officers():
    with _db().reading() as session:
        return render_template("public/officers.html", record=public.current(session, "officers"))


@bp.route("/diagrams")
def diagrams():
    with _db().reading() as session:
        return render_template("public/diagrams.html", records=public.diagrams(session))


def _diagram(key: str) -> public.Record:
    with _db().reading() as session:
        record = public.current(session, f"diagram:{key}")
    if record is None:
        abort(404)
    return record


@bp.route("/diagrams/<key>")
def diagram(key: str):
    return render_template("public/diagram.html", record=_diagram(key))


@bp.route("/diagrams/<key>.bpmn")
def diagram_xml(key: str):
    return Response(_diagram(key).content["xml"], mimetype="application/xml")


@bp.route("/decisions/<kind>")
def decisions(kind: str):
    if kind not in DECISION_KINDS:
        abort(404)
    page = _page()
    with _db().reading() as session:
        records, pages = public.listing(session, kind, page)
    return render_template("public/decisions.html", kind=kind, kind_label=KINDS[kind], records=records, page=page,
                           pages=pages)


@bp.route("/records/<int:publication_id>")
def record(publication_id: int):
    with _db().reading() as session:
        found = public.get(session, publication_id)
    if found is None or found.kind not in DECISION_KINDS:
        abort(404)
    return render_template("public/record.html", record=found)


@bp.route("/draws")
def draws():
    page = _page()
    with _db().reading() as session:
        records, pages = public.listing(session, "draw", page)
    return render_template("public/draws.html", records=records, page=page, pages=pages)


@bp.route("/draws/<int:publication_id>")
def draw(publication_id: int):
    with _db().reading() as session:
        found = public.get(session, publication_id)
    if found is None or found.kind != "draw":
        abort(404)
    return render_template("public/draw.html", record=found)


@bp.route("/draws/<int:publication_id>/<int:draw_id>/<which>.json")
def draw_snapshot(publication_id: int, draw_id: int, which: str):
    """A list snapshot exactly as hashed, so anyone can check the SHA-256 and recompute the draw."""
    with _db().reading() as session:
        found = public.get(session, publication_id)
    entry = next((d for d in (found.content["draws"] if found and found.kind == "draw" else []) if d["id"] == draw_id),
                 None)
    if entry is None or which not in ("entities", "inspectors"):
        abort(404)
    return Response(entry[f"{which}_snapshot"], mimetype="application/json")


@bp.route("/annual")
@bp.route("/annual/<int:year>")
def annual(year: int | None = None):
    with _db().reading() as session:
        years = public.years(session)
        year = year or (years[0] if years else None)
        record = public.current(session, f"annual:{year}") if year else None
    if year is not None and record is None and request.view_args.get("year"):
        abort(404)
    return render_template("public/annual.html", record=record, years=years, year=year)


def create_public_app(settings: Settings | None = None, db: Database | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__, static_folder=str(HERE / "static" / "public"), static_url_path="/static",
                template_folder=str(HERE / "templates"))
    app.extensions["zhifa_db"] = db or open_database(settings)
    database.share_reading(app)
    app.jinja_env.filters["localtime"] = filters.localtime
    # The same input hardening as the internal app: ids that fit the columns, no NUL or broken
    # UTF-8, and small bodies (nobody logs in here).
    app.url_map.converters["int"] = BoundedInt
    app.config["MAX_CONTENT_LENGTH"] = ANONYMOUS_BODY_LIMIT

    @app.before_request
    def _malformed():
        try:
            check_request()
        except MalformedInput as e:
            return render_template("public/error.html", code=400, message=f"请求无效：{e}。"), 400

    app.register_blueprint(bp)
    app.register_blueprint(vendor.bp)  # bpmn-js and chart.js, served by the app (no CDN)

    @app.errorhandler(HTTPException)
    def http_error(e):
        messages = {404: "页面不存在。", 405: "不允许的请求方式。"}
        return render_template("public/error.html", code=e.code,
                               message=messages.get(e.code, "请求无法处理。")), e.code

    app.after_request(security_headers)
    return app
