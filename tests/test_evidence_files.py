"""The file store: streamed, content-addressed, written once, never a file without its row."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from engine.store import files
from engine.store.config import load_settings
from engine.store.models import Attachment

VIDEO = b"\x00\x00\x00\x18ftypmp42 hello video"


@pytest.fixture
def settings(tmp_path):
    return load_settings({"ZHIFA_DATA_DIR": str(tmp_path / "data"), "ZHIFA_MAX_UPLOAD_MB": "1"})


def stored_files(settings) -> list[Path]:
    return [p for p in settings.files_dir.rglob("*") if p.is_file()]


def test_store_is_content_addressed_and_once(db, org, settings):
    with db.transaction() as s:
        a = files.store(s, io.BytesIO(VIDEO), "a.mp4", "video/mp4", "supervision_file1", None,
                        settings=settings)
        b = files.store(s, io.BytesIO(VIDEO), "b.mp4", "video/mp4", "supervision_file1", None,
                        settings=settings)
    assert a.sha256 == b.sha256 and a.id != b.id
    assert stored_files(settings) == [files.path_of(a, settings)]
    path = files.path_of(a, settings)
    assert not os.access(path, os.W_OK) or os.geteuid() == 0
    assert not (path.stat().st_mode & 0o222)
    with files.open_file(a, settings) as f:
        assert f.read() == VIDEO
    assert a.media_kind == "video"


def test_too_large_and_empty_keep_nothing(db, org, settings):
    with db.transaction() as s:
        with pytest.raises(files.FileTooLarge, match="大小上限"):
            files.store(s, io.BytesIO(b"x" * (1024 * 1024 + 1)), "big.mp4", "video/mp4", "u", None,
                        settings=settings)
        with pytest.raises(files.EmptyFile):
            files.store(s, io.BytesIO(b""), "e.mp4", "video/mp4", "u", None, settings=settings)
    assert stored_files(settings) == []
    with db.reading() as s:
        assert s.query(Attachment).count() == 0


def test_rollback_removes_the_new_file(db, org, settings):
    with pytest.raises(RuntimeError):
        with db.transaction() as s:
            files.store(s, io.BytesIO(b"\xff\xd8\xff photo"), "p.jpg", "image/jpeg", "u", None, settings=settings)
            assert len(stored_files(settings)) == 1
            raise RuntimeError("boom")
    assert stored_files(settings) == []


def test_detects_the_real_type(db, org, settings):
    with db.transaction() as s:
        a = files.store(s, io.BytesIO(b"\xff\xd8\xff\xe0 jpeg"), "named.mp4", "video/mp4", "u", None,
                        settings=settings)
    assert a.detected_type == "image/jpeg" and a.media_kind == "photo"


def test_a_rolled_back_upload_never_takes_the_file_of_a_committed_one(db, org, settings):
    """A stores a file first; B, at the same time, stores the same content; A rolls back,
    B commits: the file stays, because B's row needs it."""
    import threading
    content = b"\x00\x00\x00\x18ftypmp42 same recording"
    a_stored, b_done, errors = threading.Event(), threading.Event(), []

    def upload_b():
        a_stored.wait()
        try:
            with db.transaction() as s:
                files.store(s, io.BytesIO(content), "b.mp4", "video/mp4", "u2", None, settings=settings)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        b_done.set()

    b = threading.Thread(target=upload_b)
    b.start()
    with pytest.raises(RuntimeError):
        with db.transaction() as s:
            files.store(s, io.BytesIO(content), "a.mp4", "video/mp4", "u1", None, settings=settings)
            a_stored.set()
            b_done.wait(timeout=2)  # B is blocked behind A's transaction, or not yet started
            raise RuntimeError("A fails after storing")
    b.join()
    assert errors == []
    with db.reading() as s:
        [row] = s.query(Attachment).all()
    assert row.uploaded_by == "u2"
    with files.open_file(row, settings) as f:
        assert f.read() == content
