"""Front-end libraries from npm (package-lock.json), served by the app: the bureau's
network may be closed, so never a CDN. Only the packages' dist/ folders are exposed."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_from_directory

bp = Blueprint("vendor", __name__)
NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
PACKAGES = ("bpmn-js", "dmn-js", "chart.js")


@bp.route("/vendor/<package>/<path:filename>")
def asset(package: str, filename: str):
    if package not in PACKAGES:
        abort(404)
    response = send_from_directory(NODE_MODULES / package / "dist", filename, max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
