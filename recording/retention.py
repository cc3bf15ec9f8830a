"""Keeping and clearing recordings (音像记录管理制度 第十五、十六条), and checking the store.

- Audio, video and photos of a case are kept 6 months from the case's end.
- A long-term flag (异议/投诉, 阻碍/侮辱, 重大敏感) keeps them indefinitely and
  produces an export package in two copies (files + manifest with SHA-256) for discs.
- ``purge`` deletes expired, unflagged recordings of closed cases only, and writes a
  purge log row per recording (hash, case, who approved, when). Text records and
  ordinary attachments are never purged. The row stays (``purged_at``); the file is
  deleted after the transaction commits (never a live row without its file).
- ``verify`` re-hashes every stored file and reports missing or altered ones.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.access.identity import NotPermitted, require_instance_visible, user_by_name
from engine.store import files, history
from engine.store.config import Settings
from engine.store.models import Attachment, Base, Chained, ProcessInstance, User, utcnow

KEEP_MONTHS = 6
PURGEABLE_KINDS = ("video", "audio", "photo")  # 声像资料; text records belong to the case file
CLOSED = ("completed", "terminated")
HOLD_REASONS = {
    "dispute": "行政管理相对人对现场执法有异议，可能投诉、上访",
    "obstruction": "相对人逃避、拒绝、阻碍执法，或者谩骂、侮辱、殴打执法人员",
    "major": "其他重大、敏感情况有必要保存",
}
FLAGGER_GROUPS = {"leadership.chief", "leadership.deputy", "legal.head", "supervision.records"}


class RetentionError(Exception):
    pass


class LongTermHold(Base):
    """长期保存 flag on a case: its recordings are never purged."""
    __tablename__ = "evidence_holds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    explanation: Mapped[str] = mapped_column(Text)
    flagged_by: Mapped[str] = mapped_column(String(100))
    flagged_at: Mapped[datetime] = mapped_column(default=utcnow)
    export_dir: Mapped[str | None] = mapped_column(String(1000))


class PurgeLogEntry(Chained, Base):
    __tablename__ = "evidence_purge_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    original_name: Mapped[str] = mapped_column(String(300))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    business_key: Mapped[str | None] = mapped_column(String(100))
    case_ended_at: Mapped[datetime | None]
    approved_by: Mapped[str] = mapped_column(String(100))
    purged_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class PurgeRun(Base):
    """One monthly purge by the worker (the unique month stops two workers running it)."""
    __tablename__ = "evidence_purge_runs"
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    ran_at: Mapped[datetime] = mapped_column(default=utcnow)
    purged: Mapped[int] = mapped_column(Integer, default=0)


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    days = [31, 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28, 31, 30, 31, 30, 31, 31,
            30, 31, 30, 31][month - 1]
    return moment.replace(year=year, month=month, day=min(moment.day, days))


def expires_at(instance: ProcessInstance) -> datetime | None:
    if instance.status not in CLOSED or instance.ended_at is None:
        return None
    return add_months(instance.ended_at, KEEP_MONTHS)


def holds_of(session: Session, instance_id: int) -> list[LongTermHold]:
    return list(session.scalars(select(LongTermHold).where(LongTermHold.instance_id == instance_id)
                                .order_by(LongTermHold.flagged_at)))


def may_flag(user: User) -> bool:
    from engine.access.identity import group_codes
    return bool(group_codes(user) & FLAGGER_GROUPS) or user.department_code == "supervision"


# --- purge --------------------------------------------------------------------------

def expired_recordings(session: Session, now: datetime | None = None) -> list[Attachment]:
    """Recordings (audio, video, photos) of closed, unflagged cases past their 6 months."""
    now = now or utcnow()
    flagged = select(LongTermHold.instance_id)
    rows = session.execute(select(Attachment, ProcessInstance).join(
        ProcessInstance, ProcessInstance.id == Attachment.instance_id).where(
        Attachment.record_item.is_not(None), Attachment.purged_at.is_(None),
        Attachment.media_kind.in_(PURGEABLE_KINDS), ProcessInstance.status.in_(CLOSED),
        ProcessInstance.ended_at.is_not(None), ProcessInstance.id.not_in(flagged))
        .order_by(Attachment.id)).all()
    return [a for a, instance in rows if expires_at(instance) <= now]


def _delete_after_commit(session: Session, paths: list[Path]) -> None:
    pending = session.info.setdefault("zhifa_purge_paths", [])
    pending.extend(paths)
    if not session.info.get("zhifa_purge_hooked"):
        session.info["zhifa_purge_hooked"] = True

        def after_commit(s):
            for path in s.info.pop("zhifa_purge_paths", []):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass

        def after_rollback(s):
            s.info.pop("zhifa_purge_paths", None)
        event.listen(session, "after_commit", after_commit)
        event.listen(session, "after_rollback", after_rollback)


def purge(session: Session, approved_by: str, now: datetime | None = None,
          settings: Settings | None = None) -> list[PurgeLogEntry]:
    """Mark expired recordings purged and log each; their files go once this commits.

    A file is deleted only when no remaining (unpurged) row shares its content.
    """
    now = now or utcnow()
    if not approved_by:
        raise RetentionError("清除须登记批准人。")
    logged = []
    doomed = expired_recordings(session, now)
    hashes = set()
    for attachment in doomed:
        instance = session.get(ProcessInstance, attachment.instance_id)
        attachment.purged_at = now
        entry = PurgeLogEntry(attachment_id=attachment.id, sha256=attachment.sha256, size=attachment.size,
                              original_name=attachment.original_name, instance_id=instance.id,
                              business_key=instance.business_key, case_ended_at=instance.ended_at,
                              approved_by=approved_by, purged_at=now)
        session.add(entry)
        logged.append(entry)
        hashes.add(attachment.sha256)
        history.record(session, "evidence_purged", approved_by, instance=instance,
                       details={"attachment": attachment.id, "sha256": attachment.sha256})
    session.flush()
    paths = []
    for sha in sorted(hashes):
        still_used = session.scalar(select(Attachment.id).where(Attachment.sha256 == sha,
                                                                Attachment.purged_at.is_(None)).limit(1))
        if still_used is None:
            paths.append(files.path_of(Attachment(sha256=sha), settings))
    _delete_after_commit(session, paths)
    return logged


def monthly_purge(session: Session, now: datetime | None = None, settings: Settings | None = None) -> int | None:
    """The worker's monthly run: purge once per calendar month (None if already done)."""
    now = now or utcnow()
    month = now.astimezone(timezone.utc).strftime("%Y-%m")
    if session.get(PurgeRun, month) is not None:
        return None
    run = PurgeRun(month=month, ran_at=now)
    session.add(run)
    session.flush()
    run.purged = len(purge(session, "system:每月自动清理（音像记录管理制度第十五条）", now, settings))
    return run.purged


def purge_log(session: Session, limit: int = 1000) -> list[PurgeLogEntry]:
    return list(session.scalars(select(PurgeLogEntry).order_by(PurgeLogEntry.purged_at.desc(),
                                                               PurgeLogEntry.id.desc()).limit(limit)))


# --- long-term keeping and the export package ---------------------------------------

def flag_long_term(session: Session, instance_id: int, user: User, reason: str, explanation: str) -> LongTermHold:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise RetentionError("案件不存在。")
    require_instance_visible(session, user, instance)
    if not may_flag(user):
        raise NotPermitted("您无权标记长期保存")
    if reason not in HOLD_REASONS:
        raise RetentionError("请选择制度第十六条规定的长期保存情形之一。")
    explanation = (explanation or "").strip()
    if len(explanation) < 4:
        raise RetentionError("请写明需要长期保存的具体情况。")
    hold = LongTermHold(instance_id=instance.id, reason=reason, explanation=explanation, flagged_by=user.username,
                        flagged_at=utcnow())
    session.add(hold)
    session.flush()
    history.record(session, "evidence_long_term", user, instance=instance,
                   details={"hold": hold.id, "reason": reason})
    return hold


@dataclass
class ExportResult:
    copies: list[Path]
    manifest: dict


def export_package(session: Session, instance_id: int, dest: Path, made_by: str,
                   settings: Settings | None = None) -> ExportResult:
    """Write the case's recordings in two copies (副本1, 副本2), each with a manifest.

    Every copied file is re-hashed against the store's hash; a mismatch aborts.
    """
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise RetentionError("案件不存在。")
    recordings = list(session.scalars(select(Attachment).where(
        Attachment.instance_id == instance_id, Attachment.record_item.is_not(None),
        Attachment.purged_at.is_(None)).order_by(Attachment.id)))
    made_at = utcnow()
    holds = holds_of(session, instance_id)
    manifest = {
        "制作单位": "鲁山县生态环境局", "制作人": made_by, "制作时间": made_at.astimezone().isoformat(timespec="seconds"),
        "案件名称": instance.title, "案件编号": instance.business_key,
        "长期保存原因": [HOLD_REASONS.get(h.reason, h.reason) + "：" + h.explanation for h in holds],
        "files": [],
    }
    for a in recordings:
        manifest["files"].append({
            "file": f"files/{a.id:06d}-{a.sha256[:12]}-{_safe(a.original_name)}", "original_name": a.original_name,
            "sha256": a.sha256, "size": a.size, "record_item": a.record_item, "kind": a.media_kind,
            "uploaded_by": a.uploaded_by, "uploaded_at": a.uploaded_at.isoformat(),
            "recorded_at": a.recorded_at.isoformat() if a.recorded_at else None})
    stamp = made_at.astimezone().strftime("%Y%m%d-%H%M%S")
    base = Path(dest) / f"{_safe(instance.business_key)}-{stamp}"
    copies = []
    for n in (1, 2):
        root = base / f"副本{n}"
        (root / "files").mkdir(parents=True, exist_ok=False)
        for a, entry in zip(recordings, manifest["files"]):
            target = root / entry["file"]
            with files.open_file(a, settings) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, files.CHUNK)
                out.flush()
                os.fsync(out.fileno())
            if files.hash_file(target) != a.sha256:
                raise RetentionError(f"复制“{a.original_name}”后校验值不符，导出中止。")
        (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        (root / "SHA256SUMS").write_text("".join(f"{e['sha256']}  {e['file']}\n" for e in manifest["files"]),
                                         encoding="utf-8")
        (root / "光盘标签.txt").write_text(
            f"制作单位：{manifest['制作单位']}\n制作人：{made_by}\n制作时间：{manifest['制作时间']}\n"
            f"案件名称：{instance.title}\n案件编号：{instance.business_key}\n副本：{n}/2\n", encoding="utf-8")
        copies.append(root)
    for hold in holds:
        if hold.export_dir is None:
            hold.export_dir = str(base)
    return ExportResult(copies, manifest)


def _safe(name: str) -> str:
    return "".join(c if c not in '/\\:*?"<>|\0' else "_" for c in (name or ""))[:120] or "file"


# --- verify -------------------------------------------------------------------------

@dataclass
class Problem:
    attachment: Attachment
    path: Path
    kind: str  # missing | altered

    def __str__(self) -> str:
        what = "文件缺失" if self.kind == "missing" else "文件内容被改动（SHA-256 不符）"
        return (f"{what}：{self.path}（记录 #{self.attachment.id} “{self.attachment.original_name}”，"
                f"案件 {self.attachment.instance_id or '-'}）")


def verify(session: Session, settings: Settings | None = None) -> tuple[int, list[Problem]]:
    """Re-hash every live stored file: (files checked, problems)."""
    seen: dict[str, str | None] = {}
    problems = []
    for a in session.scalars(select(Attachment).where(Attachment.purged_at.is_(None)).order_by(Attachment.id)):
        path = files.path_of(a, settings)
        if a.sha256 not in seen:
            try:
                seen[a.sha256] = files.hash_file(path)
            except FileNotFoundError:
                seen[a.sha256] = None
        actual = seen[a.sha256]
        if actual is None:
            problems.append(Problem(a, path, "missing"))
        elif actual != a.sha256:
            problems.append(Problem(a, path, "altered"))
    return len(seen), problems


def approver(session: Session, username: str) -> User:
    user = user_by_name(session, username)
    if user is None:
        raise RetentionError(f"用户 {username} 不存在。")
    return user


_last_check: datetime | None = None


def run_monthly(db, settings: Settings | None = None) -> int | None:
    """The worker's hook: the monthly purge in its own transaction (two workers: one wins)."""
    from sqlalchemy.exc import IntegrityError
    global _last_check
    now = utcnow()
    if _last_check is not None and now - _last_check < timedelta(hours=1):
        return None
    _last_check = now
    try:
        with db.transaction() as session:
            return monthly_purge(session, settings=settings)
    except IntegrityError:
        return None
