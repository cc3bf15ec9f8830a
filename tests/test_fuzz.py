"""Property-based fuzzing of every route of the app (Hypothesis): random strings, numbers,
file names and ids in paths, queries, forms, uploads and JSON bodies, sent as a logged-in
officer, the chief, legal staff and a stranger. Whatever arrives: never a 5xx, and a case never changes unless
the response is a success (a redirect with a success message).

Bounded (``max_examples``) so that one run takes about a minute on either database."""
from __future__ import annotations

import re
import urllib.parse
from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from engine.store.models import Attachment, Comment, HumanTask, ProcessInstance
from tests.conftest import FIXTURES
from tests.test_security import deploy_runaway
from tests.webclient import Browser, csrf_token

FIELDS = ["text", "mode", "amount", "count", "username", "password", "purpose", "reason", "explanation", "note",
          "decision", "device_id", "number", "kind", "model", "officer", "content", "op", "to", "instance", "name",
          "current", "new", "repeat", "recorded_at", "late_reason", "post", "process", "department", "_upload",
          "file_data", "file_name"]
QUERY = ["q", "page", "year", "status", "definition", "step", "process", "department", "started_from",
         "started_to", "sort", "overdue", "inline", "next", "firstResult", "maxResults", "from", "to"]
SKIP = {"/logout", "/static/<path:filename>", "/vendor/<package>/<path:filename>"}  # (files, not input)

texts = st.text(max_size=40) | st.sampled_from(["", "\x00", "a\x00b", "%00", "../../etc/passwd", "=1+1", "'; --",
                                                "<script>alert(1)</script>", "9" * 400, "案" * 301, "\ud7ff", "\ufeff"])
numbers = st.integers(min_value=-(10 ** 30), max_value=10 ** 30).map(str) | st.sampled_from(
    ["1e30", "NaN", "-0", "Infinity", "0x10", "１２３", "²", "12.345", "9" * 5000])
values = texts | numbers


@pytest.fixture
def world(db, org, user, tmp_path):
    """The app with a few cases: ids the fuzzer picks among, next to random ones."""
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "evidence"]), source="cli")
    deploy_runaway(db, tmp_path)
    ids = {"instance": [], "task": []}
    for key in ("runaway", "evidence_flow", "runaway"):
        with db.transaction() as session:
            instance = runtime.start(session, key, user("supervision_investigate1"), {})
            ids["instance"].append(str(instance.id))
            ids["task"] += [t.id for t in tasks.ready_tasks(session, instance.id)]
    from tests.webclient import make_app
    app = make_app(db, tmp_path)
    return app, ids


def snapshot(db):
    """What a case is: status, workflow state, tasks and who holds them, comments and files."""
    with db.reading() as session:
        return (sorted(session.execute(select(ProcessInstance.id, ProcessInstance.status,
                                              func.length(ProcessInstance.state))).all()),
                sorted(session.execute(select(HumanTask.id, HumanTask.state, HumanTask.assignee)).all()),
                session.scalar(select(func.count()).select_from(Comment)),
                session.scalar(select(func.count()).select_from(Attachment)))


def _path_value(converter: str, ids: dict, draw) -> str:
    if converter in ("BoundedInt", "IntegerConverter"):
        return draw(st.sampled_from(ids["instance"]) | st.integers(min_value=0, max_value=10 ** 25).map(str))
    if converter == "AnyConverter":
        return draw(st.sampled_from(["view", "download"]))
    return draw(st.sampled_from(ids["task"] + ["runaway", "evidence_flow", "suspend"]) | texts)


def build_request(draw, app, ids):
    rules = [r for r in app.url_map.iter_rules() if r.rule not in SKIP]
    rule = draw(st.sampled_from(rules))
    path = rule.rule
    for name, converter in rule._converters.items():
        value = _path_value(type(converter).__name__, ids, draw)
        path = re.sub(r"<[^>]*\b" + name + ">", urllib.parse.quote(value, safe=""), path)
    method = draw(st.sampled_from(sorted(rule.methods - {"HEAD", "OPTIONS"})))
    query = draw(st.dictionaries(st.sampled_from(QUERY), values, max_size=3))
    form = draw(st.dictionaries(st.sampled_from(FIELDS), values, max_size=5))
    files = {}
    if method == "POST" and draw(st.booleans()):
        name = draw(texts | st.sampled_from(["现场.mp4", "a\x00.mp4", "../x.svg", "x" * 400]))
        content = draw(st.binary(max_size=64) | st.sampled_from([b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32,
                                                                    b"<svg onload=alert(1)>"]))
        files[draw(st.sampled_from(["file", "mode__upload", "files"]))] = (BytesIO(content), name)
    as_json = rule.rule.startswith("/engine-rest") and draw(st.booleans())
    return method, path, query, form, files, as_json


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_input_to_every_route_never_fails_the_server_nor_changes_a_case_silently(world, db, data):
    app, ids = world
    # an officer, the chief (sees and manages every case), legal staff (deploys), or a stranger
    officer = data.draw(st.sampled_from([None, "supervision_investigate1", "leadership_chief", "legal_review1"]))
    browser = Browser(app)
    # every example from its own address: the login throttle counts per address too
    browser.client.environ_base["REMOTE_ADDR"] = f"10.{data.draw(st.integers(0, 255))}.{data.draw(st.integers(0, 255))}.1"
    if officer:
        assert browser.login(officer).status_code == 302
    token = csrf_token(browser.get("/login" if not officer else "/inbox").get_data(as_text=True))
    method, path, query, form, files, as_json = build_request(data.draw, app, ids)
    before = snapshot(db)
    url = path + ("?" + urllib.parse.urlencode(query) if query else "")
    if method == "GET":
        response = browser.client.get(url)
    elif as_json:
        response = browser.client.open(url, method=method, json=form)
    else:
        body = {**form, **files}
        if data.draw(st.integers(0, 4)):  # mostly with the token, so the views themselves are reached
            body["csrf_token"] = token
        response = browser.client.open(url, method=method, data=body,
                                       content_type="multipart/form-data" if files else None)
    assert response.status_code < 500, (method, url, response.status_code)
    if snapshot(db) != before:
        with browser.client.session_transaction() as session:
            flashed = [category for category, _ in session.get("_flashes", [])]
        assert response.status_code in (302, 303) and "info" in flashed, (method, url, form)
