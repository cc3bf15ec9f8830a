"""执法全过程记录: recording-required steps, exceptions approved by the chief, 集体讨论's text
record, the 24-hour rule, retention and purge, verify, the device ledger, the 查阅登记簿."""
from __future__ import annotations

import io
import json
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.access.identity import NotPermitted
from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from engine.store import files
from engine.store.config import load_settings
from engine.store.models import Attachment, ProcessInstance
from monitoring import dashboards
from recording import devices, evidence, retention
from tests.conftest import FIXTURES, ROOT

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x01" * 64


@pytest.fixture
def settings(tmp_path):
    return load_settings({"ZHIFA_DATA_DIR": str(tmp_path / "data")})


@pytest.fixture
def flow(db, org):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "evidence"]), source="cli")


def start_case(db, user) -> int:
    with db.transaction() as session:
        return runtime.start(session, "evidence_flow", user("supervision_investigate1"), {}).id


def ready(db, instance_id):
    with db.reading() as session:
        return tasks.ready_tasks(session, instance_id)[0]


def upload(db, user, task_id, username, content, name, ctype, settings, **kw):
    with db.transaction() as session:
        return evidence.upload(session, task_id, user(username), io.BytesIO(content), name, ctype,
                               settings=settings, **kw)


def complete(db, user, task_id, username):
    with db.transaction() as session:
        return tasks.complete(session, task_id, user(username), {})


def test_an_inspection_cannot_complete_without_its_recording(db, flow, user, settings):
    case = start_case(db, user)
    task = ready(db, case)
    assert task.name == "现场检查"
    with pytest.raises(evidence.RecordingMissing, match="现场检查.*执法记录仪或摄像机的音视频"):
        complete(db, user, task.id, "supervision_investigate1")
    with db.reading() as session:
        assert tasks.get(session, task.id).state == "ready"
    # a photo is not enough for 现场检查: the list says 执法记录仪、摄像机
    upload(db, user, task.id, "supervision_investigate1", JPEG, "现场.jpg", "image/jpeg", settings)
    with pytest.raises(evidence.RecordingMissing):
        complete(db, user, task.id, "supervision_investigate1")
    upload(db, user, task.id, "supervision_investigate1", MP4, "现场.mp4", "video/mp4", settings)
    complete(db, user, task.id, "supervision_investigate1")
    nxt = ready(db, case)
    assert nxt.name == "销毁违法物品"
    # 销毁违法物品 needs video AND photos (执法记录仪、摄像机、照相机)
    upload(db, user, nxt.id, "supervision_execute1", MP4 + b"2", "销毁.mp4", "video/mp4", settings)
    with pytest.raises(evidence.RecordingMissing, match="照相机拍摄的照片"):
        complete(db, user, nxt.id, "supervision_execute1")
    upload(db, user, nxt.id, "supervision_execute1", JPEG + b"2", "销毁.jpg", "image/jpeg", settings)
    complete(db, user, nxt.id, "supervision_execute1")
    with db.reading() as session:
        steps = session.scalars(select(evidence.RecordedStep)).all()
        assert sorted(s.record_item for s in steps) == ["现场检查", "销毁违法物品"]
        assert {s.outcome for s in steps} == {"recorded"}


def test_the_exception_path_waits_for_the_chiefs_approval(db, flow, user, settings):
    case = start_case(db, user)
    task = ready(db, case)
    with db.transaction() as session:
        with pytest.raises(evidence.InvalidInput, match="第十二条"):
            evidence.request_exception(session, task.id, user("supervision_investigate1"), "tired", "不想录像的原因说明")
        exc = evidence.request_exception(session, task.id, user("supervision_investigate1"), "device",
                                         "执法记录仪电池在检查途中耗尽，备用电池亦无电。")
        exc_id = exc.id
    with pytest.raises(evidence.RecordingMissing, match="等待主要负责人审批"):
        complete(db, user, task.id, "supervision_investigate1")
    with db.transaction() as session:
        assert evidence.count_pending(session, user("leadership_chief")) == 1
        assert evidence.count_pending(session, user("supervision_review1")) == 0
        with pytest.raises(NotPermitted):
            evidence.decide_exception(session, exc_id, user("leadership_deputy"), True)
    with db.transaction() as session:
        evidence.decide_exception(session, exc_id, user("leadership_chief"), True, "同意")
    complete(db, user, task.id, "supervision_investigate1")
    with db.reading() as session:
        step = session.get(evidence.RecordedStep, task.id)
        assert step.outcome == "exception" and step.exception_id == exc_id


def test_a_rejected_exception_does_not_let_the_step_complete(db, flow, user, settings):
    case = start_case(db, user)
    task = ready(db, case)
    with db.transaction() as session:
        exc_id = evidence.request_exception(session, task.id, user("supervision_investigate1"), "weather",
                                            "暴雨，现场无法开机录像。").id
    with db.transaction() as session:
        with pytest.raises(evidence.InvalidInput, match="理由"):
            evidence.decide_exception(session, exc_id, user("leadership_chief"), False, "")
        evidence.decide_exception(session, exc_id, user("leadership_chief"), False, "当日天气记录为晴")
    with pytest.raises(evidence.RecordingMissing, match="请先上传记录"):
        complete(db, user, task.id, "supervision_investigate1")


def _to_discussion(db, user, settings) -> tuple[int, str]:
    case = start_case(db, user)
    t = ready(db, case)
    upload(db, user, t.id, "supervision_investigate1", MP4, "a.mp4", "video/mp4", settings)
    complete(db, user, t.id, "supervision_investigate1")
    t = ready(db, case)
    upload(db, user, t.id, "supervision_execute1", MP4, "b.mp4", "video/mp4", settings)
    upload(db, user, t.id, "supervision_execute1", JPEG, "b.jpg", "image/jpeg", settings)
    complete(db, user, t.id, "supervision_execute1")
    return case, ready(db, case).id


def test_collective_discussion_needs_its_text_record(db, flow, user, settings):
    case, task_id = _to_discussion(db, user, settings)
    with pytest.raises(evidence.RecordingMissing, match="集体讨论.*文字记录"):
        complete(db, user, task_id, "supervision_review1")
    # a video does not replace the written record
    upload(db, user, task_id, "supervision_review1", MP4 + b"x", "讨论.mp4", "video/mp4", settings)
    with pytest.raises(evidence.RecordingMissing):
        complete(db, user, task_id, "supervision_review1")
    with db.transaction() as session:
        with pytest.raises(evidence.InvalidInput, match="过短"):
            evidence.add_text_record(session, task_id, user("supervision_review1"), "同意")
        record = evidence.add_text_record(session, task_id, user("supervision_review1"),
                                          "2026年3月2日，局会议室。主持人张局长；出席：李副局长、周股长。一致同意处罚。",
                                          settings=settings)
        assert record.media_kind == "text" and record.record_item == "集体讨论"
    complete(db, user, task_id, "supervision_review1")


def test_late_uploads_need_a_reason_and_are_flagged(db, flow, user, settings):
    case = start_case(db, user)
    task = ready(db, case)
    two_days_ago = datetime.now(timezone.utc) - timedelta(days=2)
    with pytest.raises(evidence.LateReasonRequired, match="24 小时"):
        upload(db, user, task.id, "supervision_investigate1", MP4, "a.mp4", "video/mp4", settings,
               recorded_at=two_days_ago)
    a = upload(db, user, task.id, "supervision_investigate1", MP4, "a.mp4", "video/mp4", settings,
               recorded_at=two_days_ago, late_reason="异地连续执法，返回后补传")
    b = upload(db, user, task.id, "supervision_investigate1", JPEG, "b.jpg", "image/jpeg", settings,
               recorded_at=datetime.now(timezone.utc) - timedelta(hours=2))
    assert a.late and a.late_reason and not b.late
    with db.reading() as session:
        assert evidence.late_count(session) == 1
        assert dashboards.overview(session, user("leadership_chief")).late_uploads == 1  # on 流程监控


def test_only_the_steps_handler_may_upload(db, flow, user, settings):
    task = ready(db, start_case(db, user))
    with pytest.raises(NotPermitted):
        upload(db, user, task.id, "dev_accept1", MP4, "a.mp4", "video/mp4", settings)


# --- retention ----------------------------------------------------------------------

def _closed_case_with_recordings(db, user, settings, tag: bytes, ended_days_ago: int | None):
    case = start_case(db, user)
    task = ready(db, case)
    video = upload(db, user, task.id, "supervision_investigate1", MP4 + tag, "v.mp4", "video/mp4", settings)
    photo = upload(db, user, task.id, "supervision_investigate1", JPEG + tag, "p.jpg", "image/jpeg", settings)
    with db.transaction() as session:
        other = files.store(session, io.BytesIO(b"%PDF-1.4 " + tag), "笔录.pdf", "application/pdf",
                            "supervision_investigate1", case, settings=settings)
        if ended_days_ago is not None:
            instance = session.get(ProcessInstance, case)
            instance.status = "completed"
            instance.ended_at = datetime.now(timezone.utc) - timedelta(days=ended_days_ago)
    return case, [video.id, photo.id], other.id


def test_purge_removes_exactly_the_expired_unflagged_recordings_of_closed_cases(db, flow, user, settings):
    expired, expired_ids, expired_doc = _closed_case_with_recordings(db, user, settings, b"old", 200)
    flagged, flagged_ids, _ = _closed_case_with_recordings(db, user, settings, b"kept", 200)
    recent, recent_ids, _ = _closed_case_with_recordings(db, user, settings, b"new", 30)
    open_case, open_ids, _ = _closed_case_with_recordings(db, user, settings, b"open", None)
    with db.transaction() as session:
        retention.flag_long_term(session, flagged, user("supervision_investigate1"), "dispute", "当事人当场表示将投诉")
    with db.reading() as session:
        paths = {i: files.path_of(session.get(Attachment, i), settings)
                 for i in expired_ids + flagged_ids + recent_ids + open_ids}
    with db.transaction() as session:
        logged = retention.purge(session, "legal_head", settings=settings)
        assert sorted(e.attachment_id for e in logged) == sorted(expired_ids)
        assert all(p.exists() for p in paths.values())  # files go only once the purge commits
    for i, path in paths.items():
        assert path.exists() == (i not in expired_ids), i
    with db.reading() as session:
        log = retention.purge_log(session)
        assert {(e.attachment_id, e.approved_by, e.business_key) for e in log} == {
            (i, "legal_head", session.get(ProcessInstance, expired).business_key) for i in expired_ids}
        assert all(e.sha256 == session.get(Attachment, e.attachment_id).sha256 for e in log)
        doc = session.get(Attachment, expired_doc)
        assert doc.purged_at is None and files.path_of(doc, settings).exists()  # not a recording
    with db.transaction() as session:
        assert retention.purge(session, "legal_head", settings=settings) == []  # idempotent


def test_a_purge_that_rolls_back_deletes_nothing(db, flow, user, settings):
    _, ids, _ = _closed_case_with_recordings(db, user, settings, b"rb", 400)
    with pytest.raises(RuntimeError):
        with db.transaction() as session:
            retention.purge(session, "legal_head", settings=settings)
            raise RuntimeError("stop")
    with db.reading() as session:
        for i in ids:
            a = session.get(Attachment, i)
            assert a.purged_at is None and files.path_of(a, settings).exists()


def test_the_worker_purges_once_a_month(db, flow, user, settings):
    _, ids, _ = _closed_case_with_recordings(db, user, settings, b"m", 400)
    with db.transaction() as session:
        assert retention.monthly_purge(session, settings=settings) == 2
    with db.transaction() as session:
        assert retention.monthly_purge(session, settings=settings) is None


def test_a_long_term_flag_produces_a_two_copy_export_with_hashes(db, flow, user, settings, tmp_path):
    case, ids, _ = _closed_case_with_recordings(db, user, settings, b"exp", 10)
    with db.transaction() as session:
        retention.flag_long_term(session, case, user("supervision_investigate1"), "obstruction", "当事人阻碍检查并辱骂执法人员")
        result = retention.export_package(session, case, tmp_path / "out", "supervision_investigate1", settings)
    assert [p.name for p in result.copies] == ["副本1", "副本2"]
    for copy in result.copies:
        manifest = json.loads((copy / "manifest.json").read_text("utf-8"))
        assert len(manifest["files"]) == 2 and manifest["长期保存原因"]
        for entry in manifest["files"]:
            assert files.hash_file(copy / entry["file"]) == entry["sha256"]
        assert "制作人" in (copy / "光盘标签.txt").read_text("utf-8")


def test_verify_names_a_file_with_one_changed_byte(db, flow, user, settings, cli_env):
    task = ready(db, start_case(db, user))
    data_settings = load_settings({"ZHIFA_DATA_DIR": cli_env["ZHIFA_DATA_DIR"]})
    a = upload(db, user, task.id, "supervision_investigate1", MP4 + b"verify", "检查.mp4", "video/mp4", data_settings)
    zhifa = str(ROOT / ".venv" / "bin" / "zhifa")
    ok = subprocess.run([zhifa, "evidence", "verify"], env=cli_env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    path = files.path_of(a, data_settings)
    path.chmod(0o644)
    raw = bytearray(path.read_bytes())
    raw[20] ^= 0x01
    path.write_bytes(bytes(raw))
    bad = subprocess.run([zhifa, "evidence", "verify"], env=cli_env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert str(path) in bad.stdout and "检查.mp4" in bad.stdout and "改动" in bad.stdout


def test_purge_and_export_commands(db, flow, user, cli_env, tmp_path):
    data_settings = load_settings({"ZHIFA_DATA_DIR": cli_env["ZHIFA_DATA_DIR"]})
    case, ids, _ = _closed_case_with_recordings(db, user, data_settings, b"cli", 300)
    zhifa = str(ROOT / ".venv" / "bin" / "zhifa")
    with db.reading() as session:
        key = session.get(ProcessInstance, case).business_key
    out = subprocess.run([zhifa, "evidence", "export", key, "--to", str(tmp_path / "disc"), "--user", "legal_head"],
                         env=cli_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert len(list((tmp_path / "disc").glob("*/副本*/manifest.json"))) == 2
    refused = subprocess.run([zhifa, "evidence", "purge", "--approved-by", "nobody"], env=cli_env,
                             capture_output=True, text=True)
    assert refused.returncode != 0
    done = subprocess.run([zhifa, "evidence", "purge", "--approved-by", "legal_head"], env=cli_env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "已清除 2 个" in done.stdout


# --- devices and access ---------------------------------------------------------------

def test_the_device_ledger_links_recordings_to_the_device_held(db, flow, user, settings):
    with db.transaction() as session:
        with pytest.raises(NotPermitted):
            devices.add_device(session, user("supervision_investigate1"), "JLY-001", "bodycam")
        device = devices.add_device(session, user("supervision_records1"), "JLY-001", "bodycam", "DSJ-A8")
        devices.checkout(session, user("supervision_records1"), device.id, "supervision_investigate1", "检查某厂")
        with pytest.raises(devices.DeviceError, match="尚未归还"):
            devices.checkout(session, user("supervision_records1"), device.id, "supervision_execute1")
        device_id = device.id
    task = ready(db, start_case(db, user))
    a = upload(db, user, task.id, "supervision_investigate1", MP4, "a.mp4", "video/mp4", settings)
    assert a.device_id == device_id
    with db.transaction() as session:
        with pytest.raises(devices.DeviceError, match="记录内容"):
            devices.return_device(session, user("supervision_records1"), device_id, "")
        devices.return_device(session, user("supervision_records1"), device_id, "某厂现场检查录像 1 段")
    with db.reading() as session:
        page = devices.device_page(session, user("legal_head"), device_id)
        assert [r.id for r in page.recordings] == [a.id] and page.checkouts[0].content.startswith("某厂")
        officer = devices.officer_page(session, user("supervision_investigate1"), "supervision_investigate1")
        assert [r.id for r in officer.recordings] == [a.id]
        with pytest.raises(NotPermitted):
            devices.officer_page(session, user("supervision_execute1"), "supervision_investigate1")


def test_access_is_logged_and_outsiders_are_refused(db, flow, user, settings):
    task = ready(db, start_case(db, user))
    a = upload(db, user, task.id, "supervision_investigate1", MP4, "a.mp4", "video/mp4", settings)
    with db.transaction() as session:
        evidence.open_recording(session, a.id, user("supervision_review1"), "案件审查", "view")
        with pytest.raises(NotPermitted):
            evidence.open_recording(session, a.id, user("dev_accept1"), "好奇", "download")
        with pytest.raises(evidence.InvalidInput, match="查阅事由"):
            evidence.open_recording(session, a.id, user("supervision_review1"), "", "download")
    with db.reading() as session:
        log = evidence.access_log(session, user("legal_head"))
        assert [(e.username, e.action, e.purpose) for e in log] == [("supervision_review1", "view", "案件审查")]
        with pytest.raises(NotPermitted):
            evidence.access_log(session, user("supervision_review1"))
