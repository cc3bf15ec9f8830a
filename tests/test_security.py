"""Hardening for a real deployment (issue #10), replayed probe by probe on the running app:
stored files never active content, recordings judged by their bytes, model code bounded in
time and size, login throttling and server-side session ends, no 500 from malformed input,
private data files. Runs on SQLite and on PostgreSQL like the rest of the suite."""
from __future__ import annotations

import base64
import gc
import hashlib
import itertools
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from io import BytesIO

import pytest
from sqlalchemy import func, select, text
from werkzeug.serving import make_server

from engine.access import login_guard
from engine.deploy import repository
from engine.execution import runtime
from engine.execution.errors import EngineStepFailed
from engine.inbox import tasks
from engine.sandbox import limits
from engine.sandbox.scripting import RestrictedEnvironment
from engine.store import chain, history
from engine.store.config import load_settings
from engine.store.models import AuditEvent, Comment, HumanTask, ProcessDefinition, ProcessInstance
from organisation.demo import DEMO_PASSWORD
from recording import evidence
from tests.conftest import FIXTURES, ROOT
from tests.webclient import Browser, csrf_token, make_app
from zhifa.bootstrap import open_database

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
EVIL_HTML = b"<html><script>fetch('/cases')</script></html>"
EVIL_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'

RUNAWAY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_runaway" targetNamespace="http://zhifa.test">
  <bpmn:process id="runaway" name="{name}" isExecutable="true" camunda:candidateStarterGroups="legal.review,supervision.investigate">
    <bpmn:startEvent id="Ev_start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_fill" name="填写" camunda:candidateGroups="supervision.investigate">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="mode" label="方式" type="string" />
        <camunda:formField id="amount" label="罚款金额" type="money" />
        <camunda:formField id="count" label="件数" type="long" />
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="Script_work" name="计算" scriptFormat="python">
      <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing>
      <bpmn:script>if mode == 'loop':
    while True:
        pass
elif mode == 'pow':
    x = str(9**(9**9))
elif mode == 'repeat':
    x = 'x' * 10**10
elif mode == 'join':
    x = ''.join(['x' * 10**7] * 100)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="Gw" default="F5"><bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F4</bpmn:outgoing><bpmn:outgoing>F5</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="F4" sourceRef="Gw" targetRef="Task_after"><bpmn:conditionExpression>mode == 'cond' and len(str(9**(9**9))) &gt; 0</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F5" sourceRef="Gw" targetRef="Task_after" />
    <bpmn:userTask id="Task_after" name="复核" camunda:candidateGroups="supervision.investigate">
      <bpmn:incoming>F4</bpmn:incoming><bpmn:incoming>F5</bpmn:incoming><bpmn:outgoing>F6</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Ev_end"><bpmn:incoming>F6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Ev_start" targetRef="Task_fill" />
    <bpmn:sequenceFlow id="F2" sourceRef="Task_fill" targetRef="Script_work" />
    <bpmn:sequenceFlow id="F3" sourceRef="Script_work" targetRef="Gw" />
    <bpmn:sequenceFlow id="F6" sourceRef="Task_after" targetRef="Ev_end" />
  </bpmn:process>
</bpmn:definitions>
"""


def deploy_runaway(db, tmp_path, name="失控脚本测试流程"):
    path = tmp_path / "runaway.bpmn"
    path.write_text(RUNAWAY.replace("{name}", name), encoding="utf-8")
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([path]), source="cli")


@pytest.fixture
def app(db, org, tmp_path):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "evidence"]), source="cli")
    deploy_runaway(db, tmp_path)
    return make_app(db, tmp_path)


def logged_in(app, username="supervision_investigate1"):
    browser = Browser(app)
    assert browser.login(username).status_code == 302
    return browser


def start(db, user, key="runaway", data=None):
    with db.transaction() as session:
        instance = runtime.start(session, key, user("supervision_investigate1"), data or {})
        return instance.id, tasks.ready_tasks(session, instance.id)[0].id


def state_of(db, instance_id):
    with db.reading() as session:
        instance = session.get(ProcessInstance, instance_id)
        return instance.state, [(t.element_id, t.state) for t in tasks.ready_tasks(session, instance_id)]


def audit_count(db, action) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


# --- 1. stored files are never active content ----------------------------------------------

def upload(browser, task_id, content, name, declared):
    page = f"/evidence/tasks/{task_id}"
    return browser.post_form(page, {"file": (BytesIO(content), name, declared)}, action=f"{page}/upload",
                             content_type="multipart/form-data")


def open_recording(browser, attachment_id, action):
    url = f"/evidence/files/{attachment_id}/{action}"
    first = browser.get(url)
    if first.mimetype != "text/html":
        return first
    browser.post_form(url, {"purpose": "案件审查需要"})  # the 查阅登记簿 asks once per case
    response = browser.get(url)
    media = f"/evidence/files/{attachment_id}/media"
    if action == "view" and media in response.get_data(as_text=True):
        return browser.get(media)  # audio, video and photos open on a player page, which loads them from here
    return response


def test_html_or_svg_declared_as_video_is_never_served_as_a_page(app, db, user):
    _, task_id = start(db, user, "evidence_flow")
    browser = logged_in(app)
    for content, declared in ((EVIL_HTML, "text/html"), (EVIL_SVG, "image/svg+xml"), (EVIL_HTML, "video/mp4")):
        response = upload(browser, task_id, content, "rec.mp4", declared)
        assert response.status_code == 400
        assert "不是可识别的录音、照片、视频文件" in response.get_data(as_text=True)
    with db.reading() as session:
        assert evidence.recordings_of_task(session, task_id) == []
    # A file the step does not judge (a form attachment) is stored, but only ever downloaded.
    with db.transaction() as session:
        from engine.store import files
        stored = files.store(session, BytesIO(EVIL_SVG), "图.svg", "image/svg+xml", "supervision_investigate1",
                             None, settings=app.config["ZHIFA_SETTINGS"])
    chief = logged_in(app, "leadership_chief")
    for action in ("view", "download"):
        response = open_recording(chief, stored.id, action)
        assert response.status_code == 200
        assert response.mimetype == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]


def test_real_media_is_shown_inline_in_a_sandbox(app, db, user):
    _, task_id = start(db, user, "evidence_flow")
    browser = logged_in(app)
    assert upload(browser, task_id, MP4, "现场.mp4", "text/html").status_code == 302
    with db.reading() as session:
        [recording] = evidence.recordings_of_task(session, task_id)
    assert recording.media_kind == "video"
    response = open_recording(logged_in(app, "leadership_chief"), recording.id, "view")
    assert response.mimetype == "video/mp4"  # from the bytes, not the declared text/html
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.headers["Content-Security-Policy"].startswith("sandbox")


def test_a_one_byte_mp4_is_not_a_recording(app, db, user):
    _, task_id = start(db, user, "evidence_flow")
    browser = logged_in(app)
    response = upload(browser, task_id, b"x", "现场.mp4", "video/mp4")
    assert response.status_code == 400 and "按文件内容判断" in response.get_data(as_text=True)
    with pytest.raises(evidence.RecordingMissing):
        with db.transaction() as session:
            tasks.complete(session, task_id, user("supervision_investigate1"), {})


def test_every_page_has_a_content_security_policy_and_no_inline_script(app):
    browser = logged_in(app)
    for url in ("/login", "/inbox", "/evidence/"):
        policy = browser.get(url).headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    inline = re.compile(r"<script(?![^>]*\b(?:src|type=\"application/json\"))[^>]*>|\son[a-z]+=\"", re.I)
    offenders = [p.name for p in (ROOT / "webui" / "templates").rglob("*.html") if inline.search(p.read_text())]
    assert offenders == []


# --- 2. model code bounded in time and size ------------------------------------------------

@pytest.mark.parametrize("mode, message", [
    ("loop", "运行超过 1 秒"), ("pow", "整数超过上限"), ("repeat", "字符串或列表超过上限"), ("join", "字符串超过上限"),
    ("cond", "整数超过上限"),
])
def test_runaway_model_code_fails_the_action_and_changes_nothing(db, org, user, tmp_path, mode, message):
    deploy_runaway(db, tmp_path)
    instance_id, task_id = start(db, user)
    before = state_of(db, instance_id)
    with pytest.raises(EngineStepFailed) as failure:
        with db.transaction() as session:
            tasks.complete(session, task_id, user("supervision_investigate1"), {"mode": mode})
    assert message in str(failure.value)
    assert ("Script_work" if mode != "cond" else "Gw") in str(failure.value) or "F4" in str(failure.value)
    assert "操作已撤销" in str(failure.value)
    assert state_of(db, instance_id) == before
    with db.transaction() as session:  # the same case still works afterwards
        tasks.complete(session, task_id, user("supervision_investigate1"), {"mode": "fine"})
    assert state_of(db, instance_id)[1] == [("Task_after", "ready")]


SIDESTEPS = [
    "while True: pass",
    "x = 0\nwhile True:\n    try:\n        while True:\n            x += 1\n    except Exception:\n        pass",
    "x = [0 for i in range(10**6) for j in range(10**6)]",
    "f = lambda n: n and f(n - 1) + f(n - 1)\nx = f(60)",
    "def g():\n    while True:\n        yield 1\nx = sum(g())",
    "x = sum(range(10**12))",
    "x = str(9**(9**9))",
    "x = 'x' * 10**10",
    "x = [0] * 10**10",
    "x = 1 << 10**10",
    "x = 2\nwhile True:\n    x = x * x",
    "s = 'x'\nfor i in range(100):\n    s += s",
    "x = ''.join(['x' * 10**7] * 100)",
    "x = str(['x' * 10**7] * 100)",
    "x = '{0!r}'.format(['x' * 10**7] * 100)",
    "x = f'{1:>9999999999}'",
    "x = '%9999999999d' % 1",
    "x = 'x'.ljust(10**10)",
    "x = ('x' * 10**6).replace('x', 'y' * 1000)",
    "x = int(Decimal('1e999999999'))",
    "x = [[0] * 100000 for i in range(1000000)]",
]


@pytest.mark.parametrize("script", SIDESTEPS)
def test_no_construct_of_the_sandbox_escapes_the_budget(script):
    env = RestrictedEnvironment({})
    with pytest.raises(limits.BudgetExceeded):
        env.execute(script, {})


def test_the_budget_is_configurable_and_ordinary_code_is_untouched():
    env = RestrictedEnvironment({})
    context = {"items": [1, 2, 3]}
    env.execute("total = sum(i * 2 for i in items)\nlabel = f'{total:>4}' + '%03d' % total\n"
                "names = ', '.join(str(i) for i in items)", context)
    assert context["total"] == 12 and context["label"] == "  12012" and context["names"] == "1, 2, 3"
    with limits.configured(seconds=0.2):
        with pytest.raises(limits.BudgetExceeded, match="0.2 秒"):
            env.execute("while True: pass", {})


def test_a_garbage_collection_within_model_code_is_not_counted_against_it():
    """The collection runs in the thread that allocated, whatever the garbage; here one that
    takes 0.3 s (a large heap's full collection) falls into a script with a budget of 0.2 s."""
    slow = {"left": 1}

    def slow_collection(phase, _info):
        if phase == "start" and slow["left"] and limits._current() is not None:  # within the script
            slow["left"] -= 1
            until = time.thread_time() + 0.3
            while time.thread_time() < until:
                pass

    env = RestrictedEnvironment({})
    gc.callbacks.append(slow_collection)
    try:
        with limits.configured(seconds=0.2):
            context: dict = {}
            env.execute("rows = [[i] for i in range(20000)]", context)  # allocates: collections run
            assert len(context["rows"]) == 20000 and slow["left"] == 0
            with pytest.raises(limits.BudgetExceeded, match="0.2 秒"):  # the model's own time still counts
                env.execute("while True: pass", {})
    finally:
        gc.callbacks.remove(slow_collection)


def _burn(seconds: float) -> bool:
    """A helper that takes ``seconds`` of CPU (a slow read of the calendar, a paused machine)."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass
    return False


def test_a_slow_helper_does_not_fail_code_that_has_not_looped_but_a_loop_or_a_stuck_helper_still_ends():
    env = RestrictedEnvironment({"slow": _burn})
    with limits.configured(seconds=0.2):
        assert env.evaluate("str(slow(0.3))", {}) == "False"  # a one-line timer expression, say
        with pytest.raises(limits.BudgetExceeded, match="0.2 秒"):
            env.execute("for i in range(1000):\n    slow(0.003)", {})
    with limits.configured(seconds=0.05):  # past HELPER_GRACE × the budget even straight-line code ends
        with pytest.raises(limits.BudgetExceeded, match="0.05 秒"):
            env.evaluate("slow(0.6) or slow(0)", {})


def test_the_database_never_waits_unbounded(db):
    with db.reading() as session:
        if db.is_sqlite:
            assert session.execute(text("PRAGMA busy_timeout")).scalar() == 15000
        else:
            assert session.execute(text("SHOW lock_timeout")).scalar() == "15s"
            assert session.execute(text("SHOW statement_timeout")).scalar() == "2min"


def test_while_one_request_loops_another_users_comment_and_completion_succeed(db, org, user, tmp_path):
    """A real threaded server: officer A's completion runs ``while True: pass``; once it is
    inside the loop, officer B comments on and completes another case. Both of B's actions
    succeed, A's fails with the budget message and leaves A's case as it was."""
    deploy_runaway(db, tmp_path)
    looping_case, looping_task = start(db, user)
    other_case, other_task = start(db, user)
    before = state_of(db, looping_case)
    app = make_app(db, tmp_path)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"

    def client(username):
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        token = csrf_token(opener.open(f"{base}/login").read().decode())
        opener.open(f"{base}/login", urllib.parse.urlencode(
            {"username": username, "password": DEMO_PASSWORD, "csrf_token": token}).encode())
        return opener

    def post(opener, path, data):
        token = csrf_token(opener.open(f"{base}/inbox").read().decode())
        return opener.open(f"{base}{path}", urllib.parse.urlencode({**data, "csrf_token": token}).encode())

    a, b = client("supervision_investigate1"), client("supervision_investigate2")
    results = {}

    def run_a():
        results["a"] = post(a, f"/tasks/{looping_task}", {"mode": "loop"}).read().decode()

    def in_model_code() -> bool:
        return any(frame.f_code.co_filename == "<script>" or
                   any(f.f_code.co_filename == "<script>" for f in _stack(frame))
                   for frame in sys._current_frames().values())

    try:
        with limits.configured(seconds=4):
            thread = threading.Thread(target=run_a)
            thread.start()
            while not in_model_code():
                assert thread.is_alive(), "A finished before reaching its script"
            comment = post(b, f"/cases/{other_case}/comment", {"text": "现场情况已核实"}).read().decode()
            done = post(b, f"/tasks/{other_task}", {"mode": "fine"}).read().decode()
            thread.join()
    finally:
        server.shutdown()
    assert "已添加意见" in comment and "已办理" in done
    assert "运行超过 4 秒" in results["a"] and "操作已撤销" in results["a"]
    assert state_of(db, looping_case) == before
    assert state_of(db, other_case)[1] == [("Task_after", "ready")]
    with db.reading() as session:
        assert session.scalar(select(Comment.text).where(Comment.instance_id == other_case)) == "现场情况已核实"


def _stack(frame):
    while frame is not None:
        yield frame
        frame = frame.f_back


# --- 3. login and sessions -------------------------------------------------------------------

def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(app, db):
    browser = Browser(app)
    for _ in range(4):
        assert browser.login("legal_review1", "wrong-password").status_code == 401
    assert browser.login("legal_review1", "wrong-password").status_code == 429  # the fifth locks, and says so
    locked = browser.login("legal_review1")
    page = locked.get_data(as_text=True)
    assert locked.status_code == 429 and "登录失败次数过多" in page and "再试" in page
    assert audit_count(db, "login_failed") == 4 and audit_count(db, "login_locked") == 1
    assert audit_count(db, "login_refused") == 1
    with db.reading() as session:
        row = session.get(login_guard.LoginFailure, ("user", "legal_review1"))
        assert row.failures == 5 and row.locked_until is not None
    # another account from another address is not affected
    assert logged_in(app, "legal_review2") is not None


def test_one_address_guessing_many_names_is_locked(app, db):
    browser = Browser(app)
    for i in range(20):
        browser.login(f"nobody{i}", "guess-guess")
    assert browser.login("legal_review2").status_code == 429


def test_basic_auth_on_engine_rest_is_throttled_too(app, db):
    client = app.test_client()

    def call(password):
        token = base64.b64encode(f"legal_review1:{password}".encode()).decode()
        return client.get("/engine-rest/deployment?maxResults=0", headers={"Authorization": f"Basic {token}"})
    assert call(DEMO_PASSWORD).status_code == 200
    for attempt in range(5):
        assert call("wrong-password").status_code == (401 if attempt < 4 else 429)
    refused = call(DEMO_PASSWORD)
    assert refused.status_code == 429 and "登录失败次数过多" in refused.get_json()["message"]


def test_an_unknown_user_costs_a_password_check_like_a_known_one(db, org, monkeypatch):
    checked = []
    real = login_guard.check_password_hash
    monkeypatch.setattr(login_guard, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    with db.transaction() as session:
        assert login_guard.login(session, login_guard.Attempt("no_such_user", "1.2.3.4", "web"), "x").user is None
        assert login_guard.login(session, login_guard.Attempt("legal_review1", "1.2.3.4", "web"), "x").user is None
    assert len(checked) == 2 and checked[0] == login_guard._DUMMY_HASH


def test_a_cookie_from_before_logout_is_dead(app):
    browser = logged_in(app, "legal_review1")
    assert browser.get("/admin/deploy").status_code == 200
    stolen = browser.client.get_cookie("session").value
    browser.post_form("/inbox", {}, action="/logout")
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/admin/deploy").status_code == 302


def test_password_change_ends_every_other_session_and_follows_the_policy(app, db):
    laptop, phone = logged_in(app, "legal_review1"), logged_in(app, "legal_review1")
    weak = laptop.post_form("/account/password", {"current": DEMO_PASSWORD, "new": "short", "repeat": "short"})
    assert weak.status_code == 400 and "密码至少 10 位" in weak.get_data(as_text=True)
    demo = laptop.post_form("/account/password",
                            {"current": DEMO_PASSWORD, "new": "zhifa2026!x", "repeat": "zhifa2026!x"})
    assert "不能使用演示密码" in demo.get_data(as_text=True)
    changed = laptop.post_form("/account/password",
                               {"current": DEMO_PASSWORD, "new": "Legal-review-9", "repeat": "Legal-review-9"})
    assert changed.status_code == 302
    assert laptop.get("/inbox").status_code == 200      # this session goes on
    assert phone.get("/inbox").status_code == 302       # every other one ended
    assert Browser(app).login("legal_review1").status_code == 401
    assert Browser(app).login("legal_review1", "Legal-review-9").status_code == 302
    assert audit_count(db, "password_changed") == 1


@pytest.mark.parametrize("key", ["zhifa_seen", "zhifa_login_at"])
def test_idle_and_absolute_lifetimes(app, key):
    browser = logged_in(app)
    with browser.client.session_transaction() as s:
        s[key] -= 13 * 3600
    assert browser.get("/inbox").status_code == 302


def test_secure_cookies_behind_https(db, org, tmp_path):
    settings = load_settings({"ZHIFA_DATA_DIR": str(tmp_path / "d"), "ZHIFA_DATABASE_URL": db.url,
                              "ZHIFA_SECURE_COOKIES": "1"})
    from webui import create_app
    app = create_app(settings, db=db)
    response = Browser(app).login("legal_review1")
    assert "Secure" in response.headers["Set-Cookie"]


def test_the_data_dir_and_sqlite_file_are_private(tmp_path):
    settings = load_settings({"ZHIFA_DATA_DIR": str(tmp_path / "var")})
    database = open_database(settings)
    database.dispose()
    assert stat.S_IMODE(os.stat(tmp_path / "var").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "var" / "zhifa.db").st_mode) == 0o600


# --- 4. no 500 from input ----------------------------------------------------------------------

def test_nul_bytes_anywhere_get_a_400_with_a_chinese_message(app, db, user):
    instance_id, task_id = start(db, user)
    browser = logged_in(app)
    token = csrf_token(browser.get(f"/tasks/{task_id}").get_data(as_text=True))
    probes = [
        browser.client.post(f"/cases/{instance_id}/comment", data={"text": "a\x00b", "csrf_token": token}),
        browser.client.get("/dashboard/instances?q=a%00b"),
        browser.client.get("/inbox", headers={"X-Probe": "a\x00b"}),
        browser.client.post("/login", data={"username": "a\x00", "password": "x", "csrf_token": token}),
        browser.client.post(f"/tasks/{task_id}", data={"csrf_token": token, "mode": "x\x00"}),
        browser.client.post(f"/evidence/tasks/{task_id}/upload", content_type="multipart/form-data",
                            data={"csrf_token": token, "file": (BytesIO(MP4), "a\x00.mp4", "video/mp4")}),
        browser.client.get("/inbox?q=%ff%fe"),
        app.test_client().get("/engine-rest/version", headers={
            "Authorization": "Basic " + base64.b64encode(b"legal_review1\x00:x").decode()}),
        app.test_client().post("/engine-rest/process-definition/key/runaway/start", json={"businessKey": "a\x00"},
                               headers={"Authorization": "Basic " + base64.b64encode(
                                   f"legal_review1:{DEMO_PASSWORD}".encode()).decode()}),
    ]
    for response in probes:
        assert response.status_code == 400, response.request.path
        assert "请求无效" in response.get_data(as_text=True)
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Comment)) == 0
    assert state_of(db, instance_id)[1] == [("Task_fill", "ready")]


@pytest.mark.parametrize("url", ["/cases/99999999999999999999", "/dashboard/process/99999999999999999999",
                                 "/evidence/cases/99999999999999999999", "/evidence/files/99999999999999999999/view",
                                 "/evidence/devices/99999999999999999999", "/files/99999999999999999999",
                                 "/dashboard/instances/99999999999999999999"])
def test_ids_out_of_range_are_404(app, url):
    assert logged_in(app).get(url).status_code == 404


@pytest.mark.parametrize("field, value, message", [
    ("amount", "9" * 29, "金额超出范围"), ("amount", "1e30", "请输入金额"), ("amount", "NaN", "请输入金额"),
    ("amount", "12.345", "最多两位小数"), ("count", "9" * 5000, "整数超出范围"),
])
def test_numbers_out_of_bounds_get_chinese_messages(app, db, user, field, value, message):
    instance_id, task_id = start(db, user)
    before = state_of(db, instance_id)
    response = logged_in(app).post_form(f"/tasks/{task_id}", {field: value})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert state_of(db, instance_id) == before


def test_lengths_the_database_limits_are_checked_first(app, db, tmp_path):
    auth = {"Authorization": "Basic " + base64.b64encode(f"legal_review1:{DEMO_PASSWORD}".encode()).decode()}
    with db.reading() as session:
        d = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == "runaway"))
    response = app.test_client().post(f"/engine-rest/process-definition/runaway:{d.version}:{d.id}/start",
                                      json={"businessKey": "案" * 101}, headers=auth)
    assert response.status_code == 400 and "案件编号过长" in response.get_json()["message"]
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    long_name = tmp_path / "long" / "runaway.bpmn"
    long_name.parent.mkdir()
    long_name.write_text(RUNAWAY.replace("{name}", "名" * 301).replace('name="填写"', f'name="{"填" * 301}"'),
                         encoding="utf-8")
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "zhifa"), "deploy", str(long_name)], capture_output=True,
                            text=True, env={**os.environ, "ZHIFA_DATABASE_URL": db.url,
                                            "ZHIFA_DATA_DIR": str(tmp_path / "cli")})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "runaway.bpmn:3: runaway: 流程名称过长" in result.stdout + result.stderr
    assert re.search(r"runaway\.bpmn:\d+: Task_fill: 元素名称过长", result.stdout + result.stderr)


START_FORM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_sf" targetNamespace="http://zhifa.test">
  <bpmn:process id="start_form_flow" name="发起表单测试流程" isExecutable="true">
    <bpmn:startEvent id="Ev_start"><bpmn:extensionElements><camunda:formData>
        <camunda:formField id="fine_amount" label="拟罚款金额" type="money" />
        <camunda:formField id="witness_count" label="在场人数" type="long" />
      </camunda:formData></bpmn:extensionElements><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_a" name="办理" camunda:candidateGroups="supervision.investigate">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="Ev_end"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Ev_start" targetRef="Task_a" />
    <bpmn:sequenceFlow id="F2" sourceRef="Task_a" targetRef="Ev_end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_zhifa_start_with_invalid_fields_prints_messages(db, org, tmp_path):
    path = tmp_path / "start_form_flow.bpmn"
    path.write_text(START_FORM, encoding="utf-8")
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([path]), source="cli")
    env = {**os.environ, "ZHIFA_DATABASE_URL": db.url, "ZHIFA_DATA_DIR": str(tmp_path / "c")}
    data = {"witness_count": "9" * 5000, "fine_amount": "1e30"}
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "zhifa"), "start", "start_form_flow", "--as",
                             "supervision_investigate1", "--data", json.dumps(data)], capture_output=True, text=True,
                            env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "整数超出范围" in result.stderr and "请输入金额" in result.stderr
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_a_stranger_cannot_make_the_server_read_a_large_body(app):
    response = app.test_client().post("/login", data={"username": "x", "password": "y" * 300_000})
    assert response.status_code == 413


def test_case_list_csv_never_holds_a_formula(app, db, user, tmp_path):
    path = tmp_path / "formula.bpmn"
    formula = RUNAWAY.replace('id="runaway"', 'id="formula"').replace("{name}", '=HYPERLINK(&quot;http://x&quot;)')
    path.write_text(formula, encoding="utf-8")
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([path]), source="cli")
    start(db, user, "formula")
    csv_text = logged_in(app, "leadership_chief").get("/dashboard/instances.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in csv_text
    assert not re.search(r'(^|,)"?=HYPERLINK', csv_text, re.M)


def test_thirty_parallel_claims_write_one_audit_row(db, org, user, tmp_path):
    deploy_runaway(db, tmp_path)
    _, task_id = start(db, user)
    officer = user("supervision_investigate1")
    barrier = threading.Barrier(30)
    errors = []

    def claim():
        barrier.wait()
        try:
            with db.transaction() as session:
                tasks.claim(session, task_id, officer)
        except Exception as e:  # noqa: BLE001 — collected and asserted below
            errors.append(e)
    threads = [threading.Thread(target=claim) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert audit_count(db, "claim") == 1
    with db.reading() as session:
        assert session.get(HumanTask, task_id).assignee == "supervision_investigate1"


# --- 5. a tamper-evident record ----------------------------------------------------------------

def _events(db, user, n=3):
    officer = user("supervision_investigate1")
    with db.transaction() as session:
        for i in range(n):
            history.record(session, "comment", officer, details={"n": i})
    with db.reading() as session:
        return list(session.scalars(select(AuditEvent.id).order_by(AuditEvent.chain_seq)))


def test_the_chain_holds_and_names_the_first_altered_entry(db, org, user, tmp_path):
    deploy_runaway(db, tmp_path)
    ids = _events(db, user, 5)
    with db.reading() as session:
        checked, finding = chain.verify(session)
    assert finding is None and checked >= 6  # the deployment and five events
    with db.transaction() as session:
        session.execute(text("UPDATE audit_events SET details = '{\"n\": 99}' WHERE id = :id"), {"id": ids[2]})
    with db.reading() as session:
        _, finding = chain.verify(session)
    assert finding.kind == "altered" and finding.row_id == ids[2] and f"audit_events #{ids[2]}" in finding.message


def test_a_deleted_or_inserted_entry_is_named(db, org, user):
    ids = _events(db, user, 4)
    with db.transaction() as session:
        session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[1]})
    with db.reading() as session:
        _, finding = chain.verify(session)
    assert finding.kind == "deleted" and finding.row_id == ids[2]
    with db.transaction() as session:  # put it back as it was cannot be done without the hash: insert a fake
        session.execute(text("INSERT INTO audit_events (at, actor, action, details) "
                             "VALUES (CURRENT_TIMESTAMP, 'x', 'comment', '{}')"))
    with db.transaction() as session:
        session.execute(text("DELETE FROM audit_events WHERE chain_seq IS NOT NULL AND id > :id"), {"id": ids[0]})
        session.execute(text("UPDATE audit_chain SET seq = (SELECT MAX(chain_seq) FROM audit_events), "
                             "hash = (SELECT chain_hash FROM audit_events WHERE chain_seq = "
                             "(SELECT MAX(chain_seq) FROM audit_events))"))
    with db.reading() as session:
        _, finding = chain.verify(session)
    assert finding.kind == "inserted" and "不在链中" in finding.message


def test_an_audit_row_is_hashed_as_rows_written_before_were(db, org, user):
    """PostgreSQL computes an audit row's hash in SQL: over text with quotes, backslashes, line
    breaks and characters outside the BMP it is still sha256 of json.dumps([previous, table, seq,
    values]), the formula of the rows already in the bureau's database."""
    tricky = {"理由": '当事人称"未收到"\\通知\n第二行', "emoji": "\U0001f600", "n": 3, "none": None}
    with db.transaction() as session:
        history.record(session, "comment", user("supervision_investigate1"), details=tricky)
        history.record(session, "comment", "张三", element_id="Task_引号\"", details={})
    with db.reading() as session:
        rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.chain_seq)))
        assert chain.verify(session)[1] is None
    previous = chain.GENESIS
    for row in rows:
        values = {c.key: chain._plain(getattr(row, c.key)) for c in AuditEvent.__table__.columns
                  if c.key not in ("id", "chain_seq", "chain_hash")}
        text_ = json.dumps([previous, "audit_events", row.chain_seq, values], ensure_ascii=False, sort_keys=True)
        assert row.chain_hash == hashlib.sha256(text_.encode("utf-8")).hexdigest()
        previous = row.chain_hash
    assert json.loads(rows[-2].details) == tricky


def test_concurrent_writers_keep_one_chain(db, org, user):
    officer = user("supervision_investigate1")
    barrier = threading.Barrier(12)

    def write():
        barrier.wait()
        for _ in range(3):
            with db.transaction() as session:
                history.record(session, "comment", officer)
    threads = [threading.Thread(target=write) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.reading() as session:
        seqs = sorted(session.scalars(select(AuditEvent.chain_seq)))
        checked, finding = chain.verify(session)
    assert finding is None and seqs == list(range(seqs[0], seqs[0] + 36))


def test_a_comment_on_a_case_another_action_holds_does_not_wait_for_it_holding_the_chain(db, org, user, tmp_path):
    """A comment's audit row is written holding the chain's head and refers to its case: had it to
    wait for the case's lock (FOR UPDATE), the action holding the case would wait for the head in
    turn — a deadlock on PostgreSQL. SQLite runs them one after the other."""
    deploy_runaway(db, tmp_path)
    case_id, _ = start(db, user)
    officer = user("supervision_investigate1")
    locked, failures = threading.Event(), []

    def holding():
        try:
            with db.transaction() as session:
                runtime.lock_instance(session, case_id)
                locked.set()
                threading.Event().wait(0.5)  # the comment meanwhile takes the head and refers to the case
                history.record(session, "suspend_note", officer, instance=session.get(ProcessInstance, case_id))
                session.flush()  # now this action wants the head
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(e)

    def commenting():
        locked.wait()
        try:
            with db.transaction() as session:
                tasks.add_comment(session, case_id, officer, "请尽快办理")
        except Exception as e:  # noqa: BLE001
            failures.append(e)
    threads = [threading.Thread(target=holding), threading.Thread(target=commenting)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with db.reading() as session:
        assert {"comment", "suspend_note"} <= {e.action for e in history.events_of(session, case_id)}
        assert chain.verify(session)[1] is None


def test_the_daily_head_is_in_the_evidence_store_the_report_and_the_cli(app, db, user, tmp_path):
    _events(db, user, 2)
    settings = app.config["ZHIFA_SETTINGS"]
    with db.transaction() as session:
        assert chain.anchor(session, settings) is not None
        assert chain.anchor(session, settings) is None  # once a day
    with db.reading() as session:
        day, seq, value = chain.latest_anchor(session, settings)
        head = session.get(chain.ChainHead, 1)
    assert (seq, value) == (head.seq, head.hash)
    page = logged_in(app, "leadership_chief").get("/evidence/report").get_data(as_text=True)
    assert f"链头为第 {seq} 条" in page and value[:16] in page
    env = {**os.environ, "ZHIFA_DATABASE_URL": db.url, "ZHIFA_DATA_DIR": str(settings.data_dir)}
    ok = subprocess.run([str(ROOT / ".venv" / "bin" / "zhifa"), "audit", "verify"], capture_output=True, text=True,
                        env=env)
    assert ok.returncode == 0 and "校验通过" in ok.stdout
    with db.transaction() as session:
        session.execute(text("UPDATE audit_events SET actor = 'someone_else' WHERE chain_seq = :s"), {"s": seq})
    bad = subprocess.run([str(ROOT / ".venv" / "bin" / "zhifa"), "audit", "verify"], capture_output=True, text=True,
                         env=env)
    assert bad.returncode == 1 and "被修改" in bad.stderr and "Traceback" not in bad.stderr


def test_the_public_site_is_hardened_the_same_way(db, org):
    from webui.public import create_public_app
    client = create_public_app(db=db).test_client()
    assert client.get("/records/99999999999999999999").status_code == 404
    assert client.get("/diagrams/a%00b").status_code == 400
    page = client.get("/")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_the_budget_counts_the_models_own_cpu_time_not_a_busy_machines_wall_time(monkeypatch):
    """Wall time passing while the code waits for the CPU (a loaded server, a garbage collection,
    another request holding the GIL) does not fail it; its own running does."""
    env = RestrictedEnvironment({})
    wall = itertools.count(start=time.monotonic(), step=10)  # ten seconds pass between any two looks
    with limits.configured(seconds=0.2):
        monkeypatch.setattr(limits.time, "monotonic", lambda: next(wall))
        context = {}
        env.execute("total = 0\nfor i in range(1000):\n    total += i", context)
        assert context["total"] == 499500
        with pytest.raises(limits.BudgetExceeded, match="0.2 秒"):
            env.execute("while True: pass", {})
