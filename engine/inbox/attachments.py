"""Attachments on tasks: upload to a task's file field, download for whoever may see the case.

The bytes go to the file store (``engine/files.py``: streamed, SHA-256, under the data
dir); task data only ever holds attachment ids.
"""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.identity import NotPermitted, can_see_instance
from engine.execution import runtime
from engine.inbox import tasks
from engine.spec import forms
from engine.store import files
from engine.store.config import Settings
from engine.store.models import Attachment, ProcessInstance, User


class AttachmentNotFound(LookupError):
    def __init__(self, attachment_id: int):
        super().__init__(f"附件 {attachment_id} 不存在")


def upload(session: Session, task_id: str, user: User, field_id: str, stream: BinaryIO, original_name: str,
           content_type: str | None, settings: Settings | None = None) -> Attachment:
    """Store one file for a file field of a ready task its handler may act on; the same file sent
    again to the same field (a retried upload) is the attachment stored the first time."""
    task = tasks.get(session, task_id)
    tasks.require_actor(session, task, user)
    instance = session.get(ProcessInstance, task.instance_id)
    action = runtime.load(session, instance, user)
    form = forms.form_of(runtime.spiff_task(action, task.id).task_spec)
    field = next((f for f in form.fields if f.id == field_id and f.type == "file" and not f.readonly), None)
    if field is None:
        raise tasks.ActionInvalid("此环节没有该附件栏目")
    if not (original_name or "").strip():
        raise tasks.ActionInvalid("请选择要上传的文件")
    return files.store_upload(session, stream, original_name, content_type, user, instance, task.id, field.id,
                              settings=settings)[0]


def of_instance(session: Session, instance_id: int) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.instance_id == instance_id)
                                .order_by(Attachment.uploaded_at, Attachment.id)))


def for_download(session: Session, attachment_id: int, user: User, settings: Settings | None = None
                 ) -> tuple[Attachment, Path]:
    """The attachment and its file, if the user may see its case (403 otherwise)."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise AttachmentNotFound(attachment_id)
    instance = session.get(ProcessInstance, attachment.instance_id) if attachment.instance_id else None
    if instance is None or not can_see_instance(session, user, instance):
        if attachment.uploaded_by != user.username:
            raise NotPermitted("您无权下载此附件")
    path = files.path_of(attachment, settings)
    if not path.exists():
        raise files.FileMissing(attachment)
    return attachment, path


Upload = tuple[str, BinaryIO, str, str | None]  # (field id, stream, original name, content type)


def upload_many(session: Session, task_id: str, user: User, uploads: list[Upload],
                settings: Settings | None = None) -> list[Attachment]:
    """Several files at once (one transaction: all are kept or none)."""
    if not uploads:
        raise tasks.ActionInvalid("请选择要上传的文件")
    return [upload(session, task_id, user, field, stream, name, ctype, settings) for field, stream, name, ctype in uploads]


def complete_with_files(session: Session, task_id: str, user: User, submitted: dict, uploads: list[Upload],
                        settings: Settings | None = None) -> "tasks.HumanTask":
    """Complete a task, first storing files chosen in its form; if anything fails, no file is kept."""
    submitted = dict(submitted)
    for attachment in upload_many(session, task_id, user, uploads, settings) if uploads else []:
        current = submitted.get(attachment.field_id) or []
        current = current if isinstance(current, list) else [i for i in str(current).split(",") if i.strip()]
        if attachment.id not in current:  # the same file chosen twice is one attachment
            submitted[attachment.field_id] = [*current, attachment.id]
    return tasks.complete(session, task_id, user, submitted)
