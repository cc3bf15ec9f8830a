"""Request and response hardening in one place: the Content-Security-Policy on every page,
files that are never active content, and the rejection of malformed input before any view
sees it (a NUL byte or broken UTF-8 would otherwise reach the database as a 500)."""
from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from flask import Flask, Response, jsonify, render_template, request, send_file
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from engine.store import files
from engine.store.db import ValueTooLong
from engine.store.models import Attachment

# Scripts only from the app itself (the vendored bpmn-js/dmn-js/chart.js included);
# bpmn-js and dmn-js set style attributes on the SVG they draw, hence 'unsafe-inline'
# for styles only. JSON data blocks (<script type="application/json">) are not executed.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
            "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")
# A stored file shown inline: no script, no plugin, no same-origin access even if a browser
# were tricked into rendering it as a document.
FILE_CSP = "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'"

# A stranger may send a login form or a Basic-auth REST call, nothing large (a modeler
# deployment through /engine-rest authenticates per request and may carry models).
ANONYMOUS_BODY_LIMIT = 64 * 1024
REST_BODY_LIMIT = 16 * 1024 * 1024


class BoundedInt(IntegerConverter):
    """``<int:id>`` that only matches ids a 32-bit column can hold: a 20-digit id is a 404,
    not a database overflow error."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


_ID = re.compile(r"[0-9]{1,9}")


def parse_id(value) -> int | None:
    """A database id typed or posted by a user: ASCII digits that fit the column, else None."""
    text = str(value if value is not None else "").strip()
    return int(text) if _ID.fullmatch(text) else None


class MalformedInput(Exception):
    """A request carrying NUL bytes or bytes that are not UTF-8."""


def _check_text(value: str, where: str) -> None:
    if "\x00" in value:
        raise MalformedInput(f"{where}包含空字符（NUL）")
    if any("\udc80" <= ch <= "\udcff" for ch in value):  # werkzeug's surrogateescape of broken UTF-8
        raise MalformedInput(f"{where}不是有效的 UTF-8 编码")


def _check_encoded(raw: bytes, where: str) -> None:
    """Percent-encoded text (a query string, a plain form body) must decode to UTF-8: werkzeug
    would otherwise pass invalid sequences on undecoded."""
    try:
        _check_text(unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8"), where)
    except UnicodeDecodeError:
        raise MalformedInput(f"{where}不是有效的 UTF-8 编码") from None


def _check_json(value, where: str) -> None:
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, where)
            _check_json(item, where)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, where)


def check_request() -> None:
    """Raise ``MalformedInput`` for NUL bytes or malformed encodings anywhere in the request."""
    _check_text(request.path, "网址")
    _check_encoded(request.query_string, "查询参数")
    for key, value in request.args.items(multi=True):
        _check_text(key + value, "查询参数")
    for key, value in request.headers.items():
        _check_text(key + value, "请求头")
    if request.authorization is not None:
        _check_text(f"{request.authorization.username or ''}{request.authorization.password or ''}", "登录凭据")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype == "application/x-www-form-urlencoded":
            _check_encoded(request.get_data(cache=True), "表单内容")
        for key, value in request.form.items(multi=True):
            _check_text(key + value, "表单内容")
        for key, storage in request.files.items(multi=True):
            _check_text(key + (storage.filename or ""), "文件名")
        if request.is_json:
            body = request.get_json(silent=True)
            if body is None and request.get_data(cache=True):
                raise MalformedInput("JSON 内容无法解析")
            _check_json(body, "JSON 内容")


def limit_anonymous_body() -> None:
    """A small body limit before login: a stranger cannot make the server spool 300 MB."""
    if current_user.is_authenticated:
        return
    request.max_content_length = REST_BODY_LIMIT if request.path.startswith("/engine-rest") \
        else ANONYMOUS_BODY_LIMIT


def send_stored(attachment: Attachment, handle, *, inline: bool, **kwargs) -> Response:
    """A stored file as a response that can never run in the app's origin.

    Inline only when the server itself recognised the bytes as plain media; everything else,
    and every download, goes out as ``application/octet-stream`` attachment.
    """
    inline = inline and attachment.detected_type in files.INLINE_TYPES
    response = send_file(handle, mimetype=attachment.detected_type if inline else "application/octet-stream",
                         as_attachment=not inline, download_name=attachment.original_name, **kwargs)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    return response


def install(app: Flask) -> None:
    """Before any blueprint is registered (the id converter applies to rules as they are added)."""
    app.url_map.converters["int"] = BoundedInt

    @app.before_request
    def _harden_request():
        limit_anonymous_body()
        try:
            check_request()
        except MalformedInput as e:
            return render_template("error.html", code=400,
                                   message=f"请求无效：{e}。请检查输入内容后重试。"), 400

    @app.errorhandler(ValueTooLong)
    def _too_long(e):  # the transaction has been rolled back; nothing was saved
        if request.path.startswith("/engine-rest"):
            return jsonify({"type": "InvalidRequestException", "message": str(e)}), 400
        return render_template("error.html", code=400, message=str(e)), 400



def security_headers(response: Response) -> Response:
    """Scripts only from the app; pages never framed by another site (clickjacking) nor sniffed
    into another type."""
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
