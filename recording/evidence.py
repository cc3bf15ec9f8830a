"""执法全过程记录: the rules of the bureau's 音像记录管理制度 and 执法音像记录事项清单.

- A user task whose spec carries the ``recordItem`` property (one of the 13 items of the
  清单) cannot be completed until its step has the recordings that item's 记录方式 asks
  for (``check_complete``, called by ``tasks.complete``) — or an exception record
  (第十二条: one of four reasons, a written explanation) that the bureau's 主要负责人
  (``leadership.chief``) has approved. Until then the step waits.
- Recordings are uploaded within 24 hours of the step (第十三条); later ones are
  accepted, flagged late, and need a reason.
- Every view or download of a recording is written to the 查阅登记簿 (``access_log``).

Exception approvals are rows of ``evidence_exceptions`` (not a BPMN process): the
leader sees them on the 待审批 page of 执法记录 (a count in the navigation bar), and
the step's own task page shows their state.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.access.identity import VIEW_ALL, NotPermitted, group_codes, has_permission, require_instance_visible
from engine.spec import forms
from engine.store import combined, files, history
from engine.store.config import Settings
from engine.store.models import Attachment, Base, Chained, HumanTask, Notification, ProcessInstance, User, utcnow

# --- the 13 items of the 执法音像记录事项清单 ---------------------------------------

AV = frozenset({"video", "audio"})      # 执法记录仪、摄像机
PHOTO = frozenset({"photo"})            # 照相机
TEXT = frozenset({"text"})              # 文字记录
MEDIA = AV | PHOTO                      # what a recording step accepts besides its own kinds

# item → what must be there: every set needs at least one file of one of its kinds.
RECORD_ITEMS: dict[str, tuple[frozenset, ...]] = {
    "调查取证": (AV,),
    "证据先行登记保存": (AV, PHOTO),
    "解除先行登记保存": (AV,),
    "调查询问": (AV,),
    "检验鉴定": (AV,),
    "陈述申辩": (AV,),
    "听证": (AV,),
    "集体讨论": (TEXT,),
    "送达": (AV,),
    "实施查封扣押": (AV,),
    "解除查封扣押": (AV, PHOTO),
    "销毁违法物品": (AV, PHOTO),
    "现场检查": (AV,),
}
ALIASES = {
    "解除封存先行登记保存的物品": "解除先行登记保存",
    "检验鉴定（抽样）": "检验鉴定", "检验鉴定(抽样)": "检验鉴定", "抽样": "检验鉴定",
    "实施查封、扣押": "实施查封扣押", "实施查封、扣押措施": "实施查封扣押", "查封扣押": "实施查封扣押",
    "解除查封、扣押": "解除查封扣押",
}
KIND_NAMES = {"video": "视频", "audio": "录音", "photo": "照片", "text": "文字记录", "other": "其他文件"}
REQUIREMENT_NAMES = {AV: "执法记录仪或摄像机的音视频", PHOTO: "照相机拍摄的照片", TEXT: "文字记录"}

# 第十二条: the only reasons recording may stop.
EXCEPTION_REASONS = {
    "device": "设备故障、损坏或者电量不足、存储空间不足",
    "weather": "天气情况恶劣等自然原因无法使用",
    "obstruction": "行政管理相对人或其他人员阻碍正常执法无法继续使用",
    "force_majeure": "其他不可抗力因素不能使用",
}
APPROVER_GROUPS = {"leadership.chief"}     # 报本单位主要领导审核
LATE_AFTER = timedelta(hours=24)           # 第十三条


def normalize_item(name: str | None) -> str | None:
    if name is None or not str(name).strip():
        return None
    name = str(name).strip()
    return ALIASES.get(name, name)


# --- errors -----------------------------------------------------------------------

class EvidenceError(files.FileStoreError):
    """A rule of the recording system was not met; nothing was changed.

    (A ``FileStoreError`` so that views already showing upload errors show these too.)"""


class RecordingMissing(EvidenceError):
    def __init__(self, item: str, missing: list[str], pending: bool):
        self.item, self.missing, self.pending = item, missing, pending
        text = f"本环节属于执法音像记录事项“{item}”，尚缺：{'、'.join(missing)}。"
        if pending:
            text += "已提交的无法记录情况说明正在等待主要负责人审批，审批通过前不能办结。"
        else:
            text += "请先上传记录，或填写无法记录的情况说明并报主要负责人审批。"
        super().__init__(text)


class ProofMissing(EvidenceError):
    """The act needs no audio/video, but its own proof (a receipt, a consent, a waiver) is not attached."""

    def __init__(self, field: str, value: Any, missing: list[str]):
        super().__init__(f"{field}为“{value}”时不需要音像记录，但须上传：{'、'.join(missing)}")


class UnknownRecordItem(EvidenceError):
    def __init__(self, item: str):
        super().__init__(f"流程模型中的记录事项“{item}”不在执法音像记录事项清单中，请法制股修正模型。")


class LateReasonRequired(EvidenceError):
    def __init__(self, hours: float):
        super().__init__(f"该记录在执法活动结束 {hours:.0f} 小时后才上传，超过 24 小时时限，请填写逾期上传原因。")


class InvalidInput(EvidenceError):
    pass


# --- tables -----------------------------------------------------------------------

class RecordingException(Base):
    """无法记录情况说明 (第十二条) for one step, and its approval by the 主要负责人."""
    __tablename__ = "evidence_exceptions"
    __table_args__ = (Index("ix_evidence_exceptions_status", "status", "requested_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    record_item: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))  # a key of EXCEPTION_REASONS
    explanation: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending approved rejected
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)


class RecordedStep(Base):
    """A recording-required step that was completed, and how it met the rule (for 评查)."""
    __tablename__ = "evidence_steps"
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    record_item: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # recorded | exception
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_exceptions.id"))
    completed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AccessLogEntry(Chained, Base):
    """查阅登记簿: one row per view or download of a recording, and per approved 调阅 of a
    case file (recording/access.py: who asked, who approved, what was seen or copied)."""
    __tablename__ = "evidence_access_log"
    __table_args__ = (Index("ix_evidence_access_at", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    username: Mapped[str] = mapped_column(String(100), index=True)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    business_key: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))  # view | download | read | copy | send
    purpose: Mapped[str] = mapped_column(String(500))
    requester: Mapped[str | None] = mapped_column(String(200))     # 调阅: the person and unit who asked
    approved_by: Mapped[str | None] = mapped_column(String(200))   # 调阅: approver, or the rule needing none
    scope: Mapped[str | None] = mapped_column(Text)                # 调阅: what was seen or copied
    request_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))  # the 调阅 case


# --- what a step needs ------------------------------------------------------------

def item_of_spec(task_spec) -> str | None:
    item = normalize_item((getattr(task_spec, "extensions", None) or {}).get("recordItem"))
    if item is not None and item not in RECORD_ITEMS:
        raise UnknownRecordItem(item)
    return item


def recordings_of_task(session: Session, task_id: str) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.task_id == task_id,
                                                         Attachment.record_item.is_not(None))
                                .order_by(Attachment.uploaded_at, Attachment.id)))


def missing_for(item: str, recordings: list[Attachment], issued_text: bool = False) -> list[str]:
    """``issued_text``: the step issued its 文书 in the system (e.g. the 集体讨论记录), which is its
    文字记录 — nobody types or uploads the same record twice."""
    kinds = {a.media_kind for a in recordings if a.purged_at is None}
    return [REQUIREMENT_NAMES[need] for need in RECORD_ITEMS[item]
            if not kinds & need and not (need == TEXT and issued_text)]


def issued_document(session: Session, task_id: str) -> bool:
    return session.scalar(select(Attachment.id).where(Attachment.task_id == task_id,
                                                      Attachment.field_id.like("document:%")).limit(1)) is not None


def exceptions_of_task(session: Session, task_id: str) -> list[RecordingException]:
    return list(session.scalars(select(RecordingException).where(RecordingException.task_id == task_id)
                                .order_by(RecordingException.requested_at, RecordingException.id)))


RECORD_BY = "recordBy"            # the form field whose value decides what proof the act needs
RECORD_FOR = "recordFor"          # its values that need the item's recordings (comma-separated)
PROOF_PREFIX = "proof."           # proof.<value> = the file fields that prove the act instead


def proof_rule(task_spec, values: Mapping[str, Any]) -> tuple[str, Any, list[str]] | None:
    """When the step's ``recordBy`` field has a value not in ``recordFor``: (field, value, the
    file fields that must hold the proof instead of audio/video). None: the recordings are needed."""
    props = getattr(task_spec, "extensions", None) or {}
    field = props.get(RECORD_BY)
    if not field or values.get(field) in (None, ""):  # nothing said about the act: the recordings are needed
        return None
    value = values[field]
    key = ("true" if value else "false") if isinstance(value, bool) else str(value)
    needing = {v.strip() for v in (props.get(RECORD_FOR) or "").split(",") if v.strip()}
    if key in needing:
        return None
    return field, value, [f.strip() for f in (props.get(PROOF_PREFIX + key) or "").split(",") if f.strip()]


def form_recordings(session: Session, task_id: str, values: Mapping[str, Any]) -> list[Attachment]:
    """Audio/video attached through the task's own file fields (they count as recordings)."""
    ids = [i for v in values.values() if isinstance(v, list) for i in v if isinstance(i, int)]
    if not ids:
        return []
    return list(session.scalars(select(Attachment).where(Attachment.task_id == task_id, Attachment.id.in_(ids),
                                                         Attachment.media_kind.in_(AV))))


def check_complete(session: Session, task: HumanTask, spiff_task, values: Mapping[str, Any]) -> None:
    """Raise ``RecordingMissing`` unless the step has its recordings or an approved exception —
    or, for an act whose ``recordBy`` field says it needs other proof (邮寄送达: the postal
    receipt), raise ``ProofMissing`` unless that proof is attached.

    Called by ``tasks.complete`` (after the form is valid) inside its transaction; records the step for 评查.
    """
    item = item_of_spec(spiff_task.task_spec)
    if item is None:
        return
    rule = proof_rule(spiff_task.task_spec, {**spiff_task.data, **values})
    if rule is not None:
        field, value, proofs = rule
        form = forms.form_of(spiff_task.task_spec)
        labels = {f.id: f for f in form.fields}
        empty = [labels[p].label if p in labels else p for p in proofs if not ({**spiff_task.data, **values}.get(p))]
        if empty:
            chosen = labels[field].option_labels.get(value, value) if field in labels else value
            shown = "是" if chosen is True else "否" if chosen is False else chosen
            raise ProofMissing(labels[field].label if field in labels else field, shown, empty)
        return
    missing = missing_for(item, recordings_of_task(session, task.id) + form_recordings(session, task.id, values),
                          TEXT in RECORD_ITEMS[item] and issued_document(session, task.id))
    excs = exceptions_of_task(session, task.id)
    approved = next((e for e in excs if e.status == "approved"), None)
    if missing and approved is None:
        raise RecordingMissing(item, missing, pending=any(e.status == "pending" for e in excs))
    outcome = "recorded" if not missing else "exception"
    row = session.get(RecordedStep, task.id)
    if row is None:
        session.add(RecordedStep(task_id=task.id, instance_id=task.instance_id, record_item=item, outcome=outcome,
                                 exception_id=approved.id if missing else None, completed_at=utcnow()))


@dataclass
class StepStatus:
    task: HumanTask
    item: str | None
    requirements: list[str]
    missing: list[str]
    recordings: list[Attachment]
    exceptions: list[RecordingException]

    @property
    def satisfied(self) -> bool:
        return not self.missing or any(e.status == "approved" for e in self.exceptions)


def step_item(session: Session, task: HumanTask, user: User | None = None) -> str | None:
    """The record item of a task (read from its process definition)."""
    from engine.execution import runtime  # late: runtime imports much
    instance = session.get(ProcessInstance, task.instance_id)
    action = runtime.load(session, instance, user)
    spec = action.workflow.spec.task_specs.get(task.element_id)
    if spec is None:
        for sub in action.workflow.subprocess_specs.values():
            spec = sub.task_specs.get(task.element_id)
            if spec is not None:
                break
    return item_of_spec(spec) if spec is not None else None


def step_status(session: Session, task_id: str, user: User) -> StepStatus:
    from engine.inbox import tasks
    task = tasks.get(session, task_id)
    instance = session.get(ProcessInstance, task.instance_id)
    require_instance_visible(session, user, instance)
    item = step_item(session, task, user)
    recs = recordings_of_task(session, task.id)
    reqs = [REQUIREMENT_NAMES[n] for n in RECORD_ITEMS[item]] if item else []
    issued = bool(item) and TEXT in RECORD_ITEMS[item] and issued_document(session, task.id)
    return StepStatus(task, item, reqs, missing_for(item, recs, issued) if item else [], recs,
                      exceptions_of_task(session, task.id))


# --- uploading --------------------------------------------------------------------

def _may_record(session: Session, task: HumanTask, user: User) -> None:
    from engine.inbox import tasks
    if task.state == "ready":
        tasks.require_actor(session, task, user)
        return
    if task.completed_by != user.username:
        raise NotPermitted("只有办理该环节的执法人员可以补传记录")


def upload(session: Session, task_id: str, user: User, stream, original_name: str, content_type: str | None,
           *, recorded_at: datetime | None = None, device_id: int | None = None, late_reason: str | None = None,
           settings: Settings | None = None, now: datetime | None = None) -> Attachment:
    """Store a recording of a step (audio, video, photo or a scanned text record).

    The 24-hour rule: if the recording was made (``recorded_at``), or the step was
    completed, more than 24 hours ago, the upload is flagged late and needs a reason.
    The same file sent again for the step (a retried upload) is the recording stored the first time.
    """
    from engine.inbox import tasks
    from recording import devices
    task = tasks.get(session, task_id)
    _may_record(session, task, user)
    item = step_item(session, task, user) or None
    now = now or utcnow()
    if recorded_at is not None and recorded_at > now + timedelta(minutes=5):
        raise InvalidInput("记录时间不能晚于当前时间。")
    ended = recorded_at or (task.completed_at if task.state == "completed" else None)
    late = ended is not None and now - ended > LATE_AFTER
    late_reason = (late_reason or "").strip() or None
    if late and not late_reason:
        raise LateReasonRequired((now - ended).total_seconds() / 3600)
    if device_id is None:
        device_id = devices.device_held_by(session, user.username, recorded_at or now)
    elif devices.get_device(session, device_id) is None:
        raise InvalidInput("所选执法记录仪不存在。")
    attachment, new = files.store_upload(session, stream, original_name, content_type, user, task.instance_id,
                                         task.id, settings=settings, record_item=item or "其他",
                                         recorded_at=recorded_at, device_id=device_id, late=late,
                                         late_reason=late_reason if late else None)
    # The kind comes from the bytes (files.media_kind): a renamed or empty-ish file is "other".
    accepted = MEDIA.union(*RECORD_ITEMS[item]) if item in RECORD_ITEMS else None
    if accepted is not None and attachment.media_kind not in accepted:
        raise InvalidInput(f"“{attachment.original_name}”的内容不是可识别的"
                           f"{'、'.join(KIND_NAMES[k] for k in sorted(accepted))}文件（按文件内容判断，与文件名和"
                           f"声明的类型无关），不能作为“{item}”的记录。请上传记录设备导出的原始文件。")
    if not new:  # the same recording sent again (a retried upload): already recorded
        return attachment
    history.record(session, "evidence_upload", user, instance=session.get(ProcessInstance, task.instance_id),
                   task_id=task.id, element_id=task.element_id,
                   details={"attachment": attachment.id, "sha256": attachment.sha256, "size": attachment.size,
                            "kind": attachment.media_kind, "late": late})
    return attachment


def add_text_record(session: Session, task_id: str, user: User, text: str, *,
                    settings: Settings | None = None) -> Attachment:
    """A typed text record (集体讨论笔录), stored as a UTF-8 file like any recording."""
    text = (text or "").strip()
    if len(text) < 10:
        raise InvalidInput("文字记录过短：请写明讨论时间、地点、主持人、出席人员、主要意见和结论性意见。")
    from engine.inbox import tasks
    task = tasks.get(session, task_id)
    stamp = utcnow().astimezone().strftime("%Y%m%d%H%M%S")
    return upload(session, task_id, user, io.BytesIO(text.encode("utf-8")), f"{task.name}-文字记录-{stamp}.txt",
                  "text/plain; charset=utf-8", settings=settings)


# --- exceptions (第十二条) ---------------------------------------------------------

def request_exception(session: Session, task_id: str, user: User, reason: str, explanation: str) -> RecordingException:
    from engine.inbox import tasks
    task = tasks.get(session, task_id)
    if task.state != "ready":
        raise InvalidInput("该环节已办结，无需再提交情况说明。")
    tasks.require_actor(session, task, user)
    item = step_item(session, task, user)
    if item is None:
        raise InvalidInput("该环节不是执法音像记录事项，无需情况说明。")
    if reason not in EXCEPTION_REASONS:
        raise InvalidInput("请选择制度第十二条规定的无法记录原因之一。")
    explanation = (explanation or "").strip()
    if len(explanation) < 10:
        raise InvalidInput("请写明无法记录的具体原因和依据（至少 10 个字）。")
    if any(e.status in ("pending", "approved") for e in exceptions_of_task(session, task.id)):
        raise InvalidInput("该环节已有待审批或已批准的情况说明。")
    exc = RecordingException(instance_id=task.instance_id, task_id=task.id, record_item=item, reason=reason,
                             explanation=explanation, requested_by=user.username, requested_at=utcnow())
    session.add(exc)
    session.flush()
    history.record(session, "evidence_exception_requested", user,
                   instance=session.get(ProcessInstance, task.instance_id), task_id=task.id,
                   element_id=task.element_id, details={"exception": exc.id, "reason": reason})
    return exc


def may_approve(user: User) -> bool:
    return bool(group_codes(user) & APPROVER_GROUPS)


def pending_exceptions(session: Session, user: User) -> list[RecordingException]:
    if not may_approve(user):
        return []
    return list(session.scalars(select(RecordingException).where(RecordingException.status == "pending")
                                .order_by(RecordingException.requested_at)))


_PENDING_COUNT = (select(func.count()).select_from(RecordingException)
                  .where(RecordingException.status == "pending").scalar_subquery())


def pending_part(user: User) -> combined.Part:
    """How many 无法记录情况说明 await the user's approval, as a part of a combined read (every
    page's menus); nothing to read for a user who may not approve them."""
    if not may_approve(user):
        return combined.NOTHING
    return (_PENDING_COUNT,), {}


def count_pending(session: Session, user: User) -> int:
    return combined.count(*combined.read(session, pending_part(user)))


def decide_exception(session: Session, exception_id: int, user: User, approve: bool, note: str = "") -> RecordingException:
    if not may_approve(user):
        raise NotPermitted("无法记录情况说明须报本单位主要负责人审核")
    exc = session.get(RecordingException, exception_id)
    if exc is None:
        raise InvalidInput("情况说明不存在。")
    if exc.status != "pending":
        raise InvalidInput(f"该情况说明已由 {exc.decided_by} 审批。")
    if exc.requested_by == user.username:
        raise NotPermitted("不能审批自己提交的情况说明")
    note = (note or "").strip()
    if not approve and not note:
        raise InvalidInput("不予批准时请写明理由。")
    exc.status, exc.decided_by, exc.decided_at, exc.decision_note = (
        "approved" if approve else "rejected", user.username, utcnow(), note or None)
    instance = session.get(ProcessInstance, exc.instance_id)
    history.record(session, "evidence_exception_" + exc.status, user, instance=instance, task_id=exc.task_id,
                   details={"exception": exc.id, "note": note})
    outcome = "已批准，可以办结该环节" if approve else f"未予批准（{note}），请补充执法记录或重新说明"
    session.add(Notification(recipient=exc.requested_by, instance_id=exc.instance_id, text=(
        f"{user.full_name}审批了您提交的“{exc.record_item}”无法记录情况说明（{instance.business_key}）：{outcome}")))
    return exc


# --- access (查阅登记簿) ------------------------------------------------------------

def open_recording(session: Session, attachment_id: int, user: User, purpose: str, action: str = "download") -> Attachment:
    """Check the user may see the recording's case and write the 查阅登记簿 row."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise InvalidInput("记录不存在。")
    instance = session.get(ProcessInstance, attachment.instance_id) if attachment.instance_id else None
    if instance is None:
        if not has_permission(session, user, VIEW_ALL):
            raise NotPermitted("您无权查阅该记录")
    else:
        require_instance_visible(session, user, instance)
    if attachment.purged_at is not None:
        raise InvalidInput("该记录已按保存期限清除，仅保留清除登记。")
    purpose = (purpose or "").strip()
    if len(purpose) < 2:
        raise InvalidInput("请填写查阅事由。")
    if action not in ("view", "download"):
        raise InvalidInput("未知的查阅方式。")
    session.add(AccessLogEntry(at=utcnow(), username=user.username, attachment_id=attachment.id,
                               instance_id=attachment.instance_id,
                               business_key=instance.business_key if instance else None,
                               action=action, purpose=purpose[:500]))
    return attachment


def may_read_access_log(user: User) -> bool:
    """法制股 and the 主要负责人 read the 查阅登记簿."""
    return user.department_code == "legal" or "leadership.chief" in group_codes(user)


def access_log(session: Session, user: User, limit: int = 500, instance_id: int | None = None) -> list[AccessLogEntry]:
    if not may_read_access_log(user):
        raise NotPermitted("查阅登记簿仅法制股和主要负责人可以查看")
    query = select(AccessLogEntry).order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc()).limit(limit)
    if instance_id is not None:
        query = query.where(AccessLogEntry.instance_id == instance_id)
    return list(session.scalars(query))


def recordings_of_case(session: Session, instance_id: int, user: User) -> list[Attachment]:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise InvalidInput("案件不存在。")
    require_instance_visible(session, user, instance)
    return list(session.scalars(select(Attachment).where(Attachment.instance_id == instance_id,
                                                         Attachment.record_item.is_not(None))
                                .order_by(Attachment.uploaded_at, Attachment.id)))


def late_count(session: Session, since: datetime | None = None) -> int:
    query = select(func.count()).select_from(Attachment).where(Attachment.late.is_(True))
    if since is not None:
        query = query.where(Attachment.uploaded_at >= since)
    return session.scalar(query) or 0


# --- 评查 (annual review, 第十七条) ---------------------------------------------------

REPORT_COLUMNS = ("部门", "应记录环节", "有记录", "例外（经批准）", "例外：设备", "例外：天气", "例外：阻碍",
                  "例外：不可抗力", "逾期上传", "长期保存标记")


def annual_report(session: Session, user: User, year: int) -> list[dict]:
    """Per department (of the case): required steps with/without recordings, exceptions by
    reason, late uploads, long-term flags — for the calendar year ``year`` (Asia/Shanghai)."""
    from datetime import timezone as _tz
    from zoneinfo import ZoneInfo

    from engine.store.models import Department
    from recording.retention import LongTermHold
    if not may_read_access_log(user):
        raise NotPermitted("音像记录评查由法制股组织，仅法制股和主要负责人可以查看")
    tz = ZoneInfo("Asia/Shanghai")
    start = datetime(year, 1, 1, tzinfo=tz).astimezone(_tz.utc)
    end = datetime(year + 1, 1, 1, tzinfo=tz).astimezone(_tz.utc)
    names = dict(session.execute(select(Department.code, Department.name)).all())
    rows: dict[str, dict] = {}

    def row(code):
        key = code or "-"
        if key not in rows:
            rows[key] = {"code": key, "部门": names.get(code, "未指定"), **{c: 0 for c in REPORT_COLUMNS[1:]}}
        return rows[key]
    for step, dept, reason in session.execute(
            select(RecordedStep, ProcessInstance.department_code, RecordingException.reason)
            .join(ProcessInstance, ProcessInstance.id == RecordedStep.instance_id)
            .outerjoin(RecordingException, RecordingException.id == RecordedStep.exception_id)
            .where(RecordedStep.completed_at >= start, RecordedStep.completed_at < end)):
        r = row(dept)
        r["应记录环节"] += 1
        if step.outcome == "recorded":
            r["有记录"] += 1
        else:
            r["例外（经批准）"] += 1
            label = {"device": "例外：设备", "weather": "例外：天气", "obstruction": "例外：阻碍",
                     "force_majeure": "例外：不可抗力"}.get(reason)
            if label:
                r[label] += 1
    for dept, n in session.execute(
            select(ProcessInstance.department_code, func.count()).select_from(Attachment)
            .join(ProcessInstance, ProcessInstance.id == Attachment.instance_id)
            .where(Attachment.late.is_(True), Attachment.uploaded_at >= start, Attachment.uploaded_at < end)
            .group_by(ProcessInstance.department_code)):
        row(dept)["逾期上传"] += n
    for dept, n in session.execute(
            select(ProcessInstance.department_code, func.count()).select_from(LongTermHold)
            .join(ProcessInstance, ProcessInstance.id == LongTermHold.instance_id)
            .where(LongTermHold.flagged_at >= start, LongTermHold.flagged_at < end)
            .group_by(ProcessInstance.department_code)):
        row(dept)["长期保存标记"] += n
    return sorted(rows.values(), key=lambda r: r["code"])


def report_csv(rows: list[dict]) -> str:
    import csv
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    for r in rows:
        writer.writerow([r[c] for c in REPORT_COLUMNS])
    return "\ufeff" + out.getvalue()  # BOM: Excel opens UTF-8 Chinese correctly
