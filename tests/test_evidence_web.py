"""執法记录 pages: uploads, the purpose question, one 查阅登记簿 row per download, refusals,
approvals by the chief, the device ledger, the 评查 report — and a 1 GB upload through a
real server process whose memory stays far below the file's size."""
from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
import uuid
from html import unescape
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from engine.store.models import AuditEvent
from recording import evidence
from tests.conftest import FIXTURES, ROOT
from tests.webclient import Browser, make_app

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


@pytest.fixture
def app(db, org, tmp_path):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "evidence"]), source="cli")
    return make_app(db, tmp_path)


@pytest.fixture
def step(db, user):
    with db.transaction() as session:
        instance = runtime.start(session, "evidence_flow", user("supervision_investigate1"), {})
        return instance.id, tasks.ready_tasks(session, instance.id)[0].id


def logged_in(app, username):
    browser = Browser(app)
    assert browser.login(username).status_code == 302
    return browser


def upload(browser, task_id, content=MP4, name="现场.mp4", **extra):
    page = f"/evidence/tasks/{task_id}"
    return browser.post_form(page, {"file": (BytesIO(content), name, "video/mp4"), **extra},
                             action=f"{page}/upload", content_type="multipart/form-data")


def log_rows(db) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(evidence.AccessLogEntry))


def test_upload_then_the_task_completes(app, step, db):
    browser = logged_in(app, "supervision_investigate1")
    page = browser.get(f"/evidence/tasks/{step[1]}").get_data(as_text=True)
    assert "尚缺" in page and "执法记录仪或摄像机的音视频" in page
    response = upload(browser, step[1])
    assert response.status_code == 302
    page = browser.get(f"/evidence/tasks/{step[1]}").get_data(as_text=True)
    assert "已满足" in page and "现场.mp4" in page


def test_a_retried_recording_upload_is_one_record_and_one_stored_file(app, step, db, tmp_path):
    """Issue #14: upload.js sends the recording again when the connection drops before the answer;
    the server may have stored it the first time. Same file, same step: one record, one file."""
    browser = logged_in(app, "supervision_investigate1")
    assert upload(browser, step[1]).status_code == upload(browser, step[1]).status_code == 302
    with db.reading() as session:
        [record] = evidence.recordings_of_task(session, step[1])
        logged = session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence_upload")).all()
    assert [json.loads(e.details)["attachment"] for e in logged] == [record.id]
    stored = [p for p in (tmp_path / "data").rglob("*") if p.is_file() and p.read_bytes() == MP4]
    assert [p.name for p in stored] == [record.sha256]


def test_an_upload_without_csrf_is_refused(app, step, db):
    browser = logged_in(app, "supervision_investigate1")
    response = browser.client.post(f"/evidence/tasks/{step[1]}/upload",
                                   data={"file": (BytesIO(MP4), "a.mp4")}, content_type="multipart/form-data")
    assert response.status_code == 400
    with db.reading() as session:
        assert evidence.recordings_of_task(session, step[1]) == []


def test_a_late_upload_without_reason_gets_a_message_and_stores_nothing(app, step, db):
    browser = logged_in(app, "supervision_investigate1")
    response = upload(browser, step[1], recorded_at="2020-01-01T09:00")
    assert response.status_code == 400 and "逾期上传原因" in response.get_data(as_text=True)
    with db.reading() as session:
        assert evidence.recordings_of_task(session, step[1]) == []


def test_every_download_adds_one_access_log_row_and_outsiders_are_refused(app, step, db):
    upload(logged_in(app, "supervision_investigate1"), step[1])
    with db.reading() as session:
        attachment = evidence.recordings_of_task(session, step[1])[0]
    url = f"/evidence/files/{attachment.id}/download"
    reviewer = logged_in(app, "supervision_review1")
    first = reviewer.get(url)
    assert first.status_code == 200 and "查阅事由" in first.get_data(as_text=True)
    assert log_rows(db) == 0  # asking is not accessing
    done = reviewer.post_form(url, {"purpose": "案件审查"})
    assert done.status_code == 302
    for n in (1, 2, 3):
        response = reviewer.get(url)
        assert response.status_code == 200 and response.data == MP4
        assert log_rows(db) == n
    outsider = logged_in(app, "dev_accept1")
    assert outsider.get(url).status_code == 403
    assert outsider.client.post(url, data={"purpose": "x"}).status_code in (400, 403)
    assert log_rows(db) == 3
    book = logged_in(app, "legal_head").get("/evidence/access-log")
    assert book.status_code == 200 and book.get_data(as_text=True).count("案件审查") == 3
    assert reviewer.get("/evidence/access-log").status_code == 403


def test_the_exception_goes_to_the_chief(app, step, db):
    officer = logged_in(app, "supervision_investigate1")
    page = f"/evidence/tasks/{step[1]}"
    response = officer.post_form(page, {"reason": "obstruction", "explanation": "当事人阻拦并抢夺执法记录仪"},
                                 action=f"{page}/exception")
    assert response.status_code == 302
    chief = logged_in(app, "leadership_chief")
    index = chief.get("/evidence/").get_data(as_text=True)
    assert "当事人阻拦并抢夺执法记录仪" in index
    inbox = chief.get("/inbox").get_data(as_text=True)
    assert 'title="待审批的无法记录情况说明">1<' in inbox
    assert "无法记录情况说明</strong>" in inbox  # listed in 其他待办
    with db.reading() as session:
        exc_id = evidence.exceptions_of_task(session, step[1])[0].id
    assert logged_in(app, "leadership_deputy").post_form(
        "/evidence/", {"decision": "approve"}, action=f"/evidence/exceptions/{exc_id}").status_code == 403
    with db.reading() as session:
        assert evidence.exceptions_of_task(session, step[1])[0].status == "pending"  # the deputy may not
    chief.post_form("/evidence/", {"decision": "approve", "note": "同意"}, action=f"/evidence/exceptions/{exc_id}")
    with db.reading() as session:
        assert evidence.exceptions_of_task(session, step[1])[0].status == "approved"


def test_devices_and_report_pages(app, step, db):
    keeper = logged_in(app, "supervision_records1")
    keeper.post_form("/evidence/devices", {"op": "add", "number": "JLY-<b>7", "kind": "bodycam", "model": "A8"})
    page = keeper.get("/evidence/devices").get_data(as_text=True)
    assert "JLY-&lt;b&gt;7" in page
    assert logged_in(app, "supervision_investigate1").post_form(
        "/evidence/devices", {"op": "add", "number": "X", "kind": "bodycam"}).status_code == 403
    legal = logged_in(app, "legal_head")
    assert "年度音像记录评查" in legal.get("/evidence/report").get_data(as_text=True)
    csv = legal.get("/evidence/report.csv")
    assert csv.status_code == 200 and "应记录环节" in csv.data.decode("utf-8-sig")
    assert logged_in(app, "supervision_investigate1").get("/evidence/report").status_code == 403


# --- a 1 GB upload through a real server process ----------------------------------------

SERVER = """
import sys
from werkzeug.serving import run_simple
from webui import create_app
app = create_app()
run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True)
"""


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port):
        self.port, self.cookies = port, {}

    def request(self, method, url, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, url, body=body, headers=headers)
        response = conn.getresponse()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";")[0]
        data = response.read()
        conn.close()
        return response.status, data.decode("utf-8", "replace")


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_1gb_upload_keeps_the_server_memory_far_below_the_file_size(app, step, db, tmp_path, db_url):
    size = 1024 ** 3
    sparse = tmp_path / "body-camera.mp4"
    with open(sparse, "wb") as f:
        f.write(MP4)
        f.truncate(size)
    port = _free_port()
    env = dict(os.environ, ZHIFA_DATABASE_URL=db_url, ZHIFA_DATA_DIR=str(tmp_path / "data"), ZHIFA_LOG_LEVEL="WARNING",
               ZHIFA_SECRET_KEY="test", TMPDIR=str(tmp_path))
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        client = Client(port)
        for _ in range(600):  # wait for the server to listen
            try:
                status, page = client.request("GET", "/login")
                break
            except OSError:
                time.sleep(0.1)
        token = unescape(re.search(r'name="csrf_token" value="([^"]+)"', page).group(1))
        status, _ = client.request("POST", "/login", body=f"username=supervision_investigate1&password=zhifa2026&csrf_token={token}",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302
        status, page = client.request("GET", f"/evidence/tasks/{step[1]}")
        token = unescape(re.search(r'name="csrf_token" value="([^"]+)"', page).group(1))
        before = _peak_rss_kb(server.pid)
        boundary = uuid.uuid4().hex
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"body-camera.mp4\"\r\n"
                f"Content-Type: video/mp4\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def body():
            yield head
            with open(sparse, "rb") as f:
                while chunk := f.read(1024 * 1024):
                    yield chunk
            yield tail
        status, _ = client.request("POST", f"/evidence/tasks/{step[1]}/upload", body=body(), headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + size + len(tail))})
        assert status == 302
        peak = _peak_rss_kb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    with db.reading() as session:
        [stored] = evidence.recordings_of_task(session, step[1])
        assert stored.size == size and stored.media_kind == "video"
    # far below 1 GB: the upload may add at most 64 MB to the server's peak memory
    assert peak - before < 64 * 1024, (before, peak)
    assert peak < 400 * 1024, peak


def test_viewing_a_video_is_one_access_log_row_however_the_player_fetches_it_and_leads_back(app, step, db):
    upload(logged_in(app, "supervision_investigate1"), step[1])
    with db.reading() as session:
        attachment = evidence.recordings_of_task(session, step[1])[0]
    reviewer = logged_in(app, "supervision_review1")
    media = f"/evidence/files/{attachment.id}/media"
    assert reviewer.get(media).status_code == 403  # not before a registered viewing
    url = f"/evidence/files/{attachment.id}/view"
    reviewer.post_form(url, {"purpose": "案件审查"})
    player = reviewer.get(url).get_data(as_text=True)
    assert f'<video controls preload="metadata" src="{media}">' in player and "返回本案执法记录" in player
    assert log_rows(db) == 1
    whole = reviewer.get(media)
    part = reviewer.get(media, headers={"Range": "bytes=0-3"})  # what a video element asks for
    assert whole.data == MP4 and part.status_code == 206 and part.data == MP4[:4]
    assert log_rows(db) == 1
    assert logged_in(app, "dev_accept1").get(media).status_code == 403
