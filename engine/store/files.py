"""The file store: every uploaded file, content-addressed by SHA-256, written once.

``store()`` streams the upload in chunks into a temporary file inside the data
directory, hashing while it goes (memory stays at one chunk whatever the size),
fsyncs it, makes it read-only and links it into ``files/ab/cd/<sha256>`` — a file
with the same content is kept once. The ``Attachment`` row is added to the caller's
session; if that transaction rolls back, a file this call created is removed again,
so there is never a file without its row nor a row without its file.

API (stable; the inbox and the evidence module call it):

- ``store(session, stream, original_name, content_type, user, instance, task_id=None,
  field_id=None, *, settings=None, **evidence_fields) -> Attachment``
- ``store_upload(…same, task_id required…) -> (Attachment, is_new)``: a user's upload to a task;
  the same content resent to the same task and field is the first attachment
- ``open_file(attachment, settings=None)`` → a binary file object (caller closes it)
- ``path_of(attachment, settings=None)`` → ``Path``
"""
from __future__ import annotations

import hashlib
import os
import stat
import uuid
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from engine.store.config import Settings, load_settings
from engine.store.models import Attachment, ProcessInstance, User

CHUNK = 1024 * 1024
_SESSION_KEY = "zhifa_new_files"


class FileStoreError(Exception):
    """A file could not be stored; nothing was kept."""


class FileTooLarge(FileStoreError):
    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"文件超过大小上限（{_human(limit)}），未保存。请分段录制或联系管理员调整上限。")


class EmptyFile(FileStoreError):
    def __init__(self):
        super().__init__("上传的文件为空（0 字节），未保存。")


class FileMissing(FileStoreError):
    def __init__(self, attachment: Attachment):
        super().__init__(f"文件“{attachment.original_name}”（{attachment.sha256[:12]}…）在存储中不存在或已被清理。")


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


_settings_cache: Settings | None = None


def _settings(settings: Settings | None) -> Settings:
    global _settings_cache
    if settings is not None:
        return settings
    if _settings_cache is None:
        _settings_cache = load_settings()
    return _settings_cache


def relative_path(sha256: str) -> Path:
    return Path(sha256[:2]) / sha256[2:4] / sha256


def path_of(attachment: Attachment, settings: Settings | None = None) -> Path:
    return _settings(settings).files_dir / relative_path(attachment.sha256)


def open_file(attachment: Attachment, settings: Settings | None = None) -> BinaryIO:
    path = path_of(attachment, settings)
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise FileMissing(attachment) from None


# --- sniffing the real type from the first bytes ---------------------------------

def detect_type(head: bytes) -> str:
    """The media type the content itself declares ("" when unknown)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith(b"qt"):
            return "video/quicktime"
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        if brand.startswith(b"heic") or brand.startswith(b"heix") or brand.startswith(b"mif1"):
            return "image/heic"
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/x-matroska"
    if head.startswith(b"\x00\x00\x01\xba") or (len(head) > 188 and head[0] == 0x47 and head[188] == 0x47):
        return "video/mp2t" if head[0] == 0x47 else "video/mpeg"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"  # also docx/xlsx/ofd
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "application/msword"
    if head and b"\x00" not in head[:1024]:
        try:
            head[:1024].decode("utf-8")
            return "text/plain"
        except UnicodeDecodeError:
            pass
    return ""


# Types a browser may show inline: plain media it cannot execute. Anything else (HTML, SVG,
# PDF, office files, text) is only ever downloaded, whatever the uploader declared.
INLINE_TYPES = frozenset({
    "image/jpeg", "image/png", "image/gif", "image/webp",
    "video/mp4", "video/quicktime", "video/x-matroska", "audio/mpeg", "audio/wav", "audio/ogg", "audio/flac",
    "audio/mp4",
})
_TEXT_TYPES = frozenset({"text/plain", "application/pdf", "application/msword", "application/zip"})


def media_kind(detected: str) -> str:
    """video | audio | photo | text | other — from the content alone: a name or a declared
    type costs nothing to fake, so a one-byte ``现场.mp4`` is "other", not a recording."""
    for prefix, kind in (("video/", "video"), ("audio/", "audio"), ("image/", "photo")):
        if detected.startswith(prefix):
            return kind
    return "text" if detected in _TEXT_TYPES else "other"


def safe_name(name: str | None) -> str:
    """The base name of an uploaded file without path parts or control characters."""
    name = os.path.basename((name or "").replace("\\", "/"))
    return "".join(ch for ch in name if ch.isprintable()).strip()[:300]


# --- storing ----------------------------------------------------------------------

def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remember_new_file(session: Session, path: Path) -> None:
    new = session.info.setdefault(_SESSION_KEY, [])
    new.append(path)
    if not session.info.get("zhifa_files_hooked"):
        session.info["zhifa_files_hooked"] = True
        event.listen(session, "after_commit", _forget_new_files)
        event.listen(session, "after_rollback", _remove_new_files)


def _forget_new_files(session: Session) -> None:
    session.info.pop(_SESSION_KEY, None)


def _remove_new_files(session: Session) -> None:
    """After a rollback, delete the files this transaction created, unless another
    upload of the same content has committed a row for it meanwhile.

    Deciding and deleting happen under the blob lock (see ``_lock_blob``), in a write
    transaction of their own: an upload reusing the file either committed before (its
    row is seen, the file stays) or looks for the file after (and writes it again).
    """
    paths = session.info.pop(_SESSION_KEY, [])
    if not paths:
        return
    with session.get_bind().begin() as connection:
        for path in paths:
            sha = path.name
            _lock_blob(connection, sha)
            used = connection.execute(select(Attachment.id).where(Attachment.sha256 == sha).limit(1)).first()
            if used is None:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass


def _lock_blob(connection, sha: str) -> None:
    """Serialize the "does the file exist / may it go" decisions for one content hash.
    PostgreSQL: an advisory lock until the transaction ends. SQLite: write transactions
    already run one at a time (BEGIN IMMEDIATE)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int(sha[:15], 16)})


def write_blob(stream, settings: Settings | None = None, limit: int | None = None,
               before_link=None) -> tuple[str, int, str, Path, bool]:
    """Stream into the store: (sha256, size, detected type, path, created_now).

    ``before_link(sha)`` runs once the hash is known, before the store is looked at.
    """
    settings = _settings(settings)
    limit = settings.max_upload_bytes if limit is None else limit
    tmp_dir = settings.files_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f"{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    size = 0
    head = b""
    read = getattr(stream, "read")
    try:
        with open(tmp, "xb") as out:
            while True:
                chunk = read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(limit)
                if len(head) < 4096:
                    head += chunk[:4096 - len(head)]
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise EmptyFile()
        sha = digest.hexdigest()
        if before_link is not None:
            before_link(sha)
        target = settings.files_dir / relative_path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP)
        created = False
        if not target.exists():
            try:
                os.link(tmp, target)  # never replaces: a file is written once
                created = True
                _fsync_dir(target.parent)
            except FileExistsError:
                pass
        return sha, size, detect_type(head), target, created
    finally:
        try:
            os.unlink(tmp)  # (no chmod: the stored file is a hard link to the same inode)
        except FileNotFoundError:
            pass


def store(session: Session, stream, original_name: str, content_type: str | None, user: User | str | None,
          instance: ProcessInstance | int | None, task_id: str | None = None, field_id: str | None = None,
          *, settings: Settings | None = None, **evidence_fields) -> Attachment:
    """Store one file and add its ``Attachment`` row to ``session`` (flushed, not committed).

    ``evidence_fields`` are further ``Attachment`` columns (record_item, recorded_at,
    device_id, …). Raises ``FileTooLarge`` / ``EmptyFile`` and keeps nothing then.
    """
    return _store(session, stream, original_name, content_type, user, instance, task_id, field_id,
                  settings=settings, reuse=False, **evidence_fields)[0]


def store_upload(session: Session, stream, original_name: str, content_type: str | None, user: User,
                 instance: ProcessInstance | int, task_id: str, field_id: str | None = None,
                 *, settings: Settings | None = None, **evidence_fields) -> tuple[Attachment, bool]:
    """A user's upload to a task, as ``store``, but idempotent: the same content sent again to the
    same task and field (a retry on a weak phone connection, a double click) is the attachment
    stored the first time, not a second record. Returns (attachment, whether it is new)."""
    return _store(session, stream, original_name, content_type, user, instance, task_id, field_id,
                  settings=settings, reuse=True, **evidence_fields)


def _store(session: Session, stream, original_name: str, content_type: str | None, user: User | str | None,
           instance: ProcessInstance | int | None, task_id: str | None, field_id: str | None,
           *, settings: Settings | None, reuse: bool, **evidence_fields) -> tuple[Attachment, bool]:
    for key in evidence_fields:
        if not hasattr(Attachment, key) or key in ("id", "sha256", "size"):
            raise TypeError(f"unknown attachment field {key!r}")
    # The blob lock is held to the end of the transaction, so a concurrent resend of the same
    # content waits here and then finds this upload's row.
    sha, size, detected, path, created = write_blob(stream, settings,
                                                    before_link=lambda sha: _lock_blob(session.connection(), sha))
    if created:
        _remember_new_file(session, path)
    if reuse:
        same_field = Attachment.field_id.is_(None) if field_id is None else Attachment.field_id == field_id
        sent_before = session.scalar(select(Attachment).where(
            Attachment.sha256 == sha, Attachment.task_id == task_id, same_field, Attachment.purged_at.is_(None))
            .order_by(Attachment.id).limit(1))
        if sent_before is not None:
            return sent_before, False
    name = safe_name(original_name) or sha[:16]
    declared = (content_type or "application/octet-stream")[:200]
    username = user.username if isinstance(user, User) else (user or "system")
    instance_id = instance.id if isinstance(instance, ProcessInstance) else instance
    fields = dict(evidence_fields)
    fields.setdefault("detected_type", detected)
    fields.setdefault("media_kind", media_kind(detected))
    attachment = Attachment(instance_id=instance_id, task_id=task_id, field_id=field_id, sha256=sha, size=size,
                            original_name=name, content_type=declared, uploaded_by=username, **fields)
    session.add(attachment)
    session.flush()
    return attachment, True


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
