"""笔录 made on demand on a task page (paperwork/note_forms.py says which and what they
ask): filled from their own small form, previewed, and issued any number of times, each
frozen with its hash, numbered when a numbering scheme of its key exists, listed with the
case's 文书 and bound into the 案卷.

As a step's 文书, a note's Word download may be edited (the questions and answers typed in
Word) and uploaded back: the next note of that kind issued at the task is made from it, its
placeholders filled from the form. It is an attachment of the task (``DRAFT`` + key), pending
until a note records it as its ``draft_id``; a later upload replaces it."""
from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Mapping

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from engine.access import identity
from engine.inbox import tasks
from engine.sandbox import scripting
from engine.spec import forms
from engine.store import files, history
from engine.store.history import data_to_json
from engine.store.models import Attachment, User, utcnow

from . import note_forms, numbering, pdf, render
from .issuing import (DOCX_TYPE, DocumentError, _context, _source, _task_state, _template, edited_docx, known_title,
                      of_case)
from .models import CaseDocument


@dataclass
class Offer:
    """One kind of 笔录 a task page offers: its form and the notes of this kind the case has."""
    key: str
    title: str
    form: forms.Form
    made: list[CaseDocument] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    officers: dict[str, list[User]] = field(default_factory=dict)  # officers field → who may be chosen today
    error: str | None = None  # why it cannot be made (template not deployed)
    draft: Attachment | None = None  # the edited Word draft the next note is made from


DRAFT = "note-draft:"  # Attachment.field_id of a note's edited draft: DRAFT + key


def pending_draft(session: Session, task_id: str, key: str) -> Attachment | None:
    """The draft of this kind last uploaded at the task, unless a note was already issued from it."""
    latest = session.scalar(select(Attachment).where(Attachment.task_id == task_id, Attachment.field_id == DRAFT + key)
                            .order_by(Attachment.id.desc()).limit(1))
    if latest is None or session.scalar(select(exists().where(CaseDocument.draft_id == latest.id))):
        return None
    return latest


def _kind(spiff, key: str, task, draft: set[str] | None = None) -> note_forms.Kind:
    """The kind of note, its officers chosen among the certified members of the step's posts.
    ``draft``: the placeholders of the pending edited draft; a long text it no longer asks for
    (the questions and answers typed in Word) need not be typed in the form again."""
    kind = note_forms.kind_of(key)
    if kind is None or key not in note_forms.offered(spiff.task_spec):
        raise DocumentError("此步骤不制作该笔录")
    posts = {"posts": task.candidate_groups} if task.candidate_groups else {}
    fields = []
    for f in kind.form.fields:
        if f.type == "officers":
            f = replace(f, properties={**f.properties, **posts})
        elif draft is not None and f.type == "textarea" and f.id not in draft:
            f = replace(f, required=False, label=f"{f.label}（已写在上传的修改稿中，可不填）")
        fields.append(f)
    return replace(kind, form=forms.Form(fields))


def _draft_placeholders(draft: Attachment | None) -> set[str] | None:
    if draft is None:
        return None
    with files.open_file(draft) as f:
        return render.placeholders(f.read())


def offers(session: Session, task_id: str, user: User, shown: Mapping[str, tuple[dict, dict]] | None = None
           ) -> list[Offer]:
    """The 笔录 the task offers; ``shown``: key → (values typed, errors) to show again."""
    task, instance, action, spiff = _task_state(session, task_id, user)
    made = of_case(session, instance.id)
    found = []
    for key in note_forms.offered(spiff.task_spec):
        draft = pending_draft(session, task.id, key)
        kind = _kind(spiff, key, task, _draft_placeholders(draft))
        values, errors = (shown or {}).get(key, (None, {}))
        offer = Offer(key, kind.title, kind.form, [d for d in made if d.key == key],
                      forms.initial_values(kind.form, spiff.data) if values is None else values, errors,
                      {f.id: identity.certified(session, f.posts, scripting.today())
                       for f in kind.form.fields if f.type == "officers"}, draft=draft)
        try:
            offer.title = _template(session, instance, key).title
        except DocumentError as e:
            offer.title, offer.error = known_title(key), str(e)
        found.append(offer)
    return found


def preview(session: Session, task_id: str, user: User, key: str, submitted: Mapping[str, Any]) -> tuple[str, bytes]:
    """(title, .docx) of the note filled with what is typed so far (blanks where nothing is)."""
    task, instance, action, spiff = _task_state(session, task_id, user)
    kind = _kind(spiff, key, task)
    template = _template(session, instance, key)
    values = {**spiff.data, **forms.partial_values(kind.form, submitted, spiff.data)}
    ctx = _context(session, instance, template, values, issued_on=date.today())
    draft = pending_draft(session, task.id, key)
    return template.title, render.render(_source(session, draft and draft.id, template), ctx)


def upload_draft(session: Session, task_id: str, user: User, key: str, stream, name: str) -> Attachment:
    """An edited Word draft of a note uploaded back: the next note of this kind is made from it."""
    task, instance, action, spiff = tasks.open_for_action(session, task_id, user)
    kind = _kind(spiff, key, task)
    content = edited_docx(stream, name)
    _template(session, instance, key)  # deployed, or nothing to make the note with
    attachment = files.store(session, io.BytesIO(content), name, DOCX_TYPE, user, instance, task.id, DRAFT + key)
    history.record(session, "document_draft", user, instance=instance, task_id=task.id, element_id=task.element_id,
                   details={"document": kind.title, "file": attachment.original_name, "sha256": attachment.sha256})
    return attachment


def issue(session: Session, task_id: str, user: User, key: str, submitted: Mapping[str, Any]) -> CaseDocument:
    """签发 one more note of this kind: its form valid, its officers holding a valid 执法证."""
    task, instance, action, spiff = tasks.open_for_action(session, task_id, user)
    draft = pending_draft(session, task.id, key)
    kind = _kind(spiff, key, task, _draft_placeholders(draft))
    values = forms.validate(kind.form, submitted, spiff.data)
    wrong = identity.officer_problems(session, kind.form, values, scripting.today())
    if wrong:
        raise forms.FormInvalid(wrong, submitted)
    template = _template(session, instance, key)
    serial = (session.scalar(select(func.max(CaseDocument.serial)).where(
        CaseDocument.instance_id == instance.id, CaseDocument.key == key)) or 0) + 1
    number = numbering.next_number(session, key) if key in numbering.schemes() else None
    ctx = _context(session, instance, template, {**spiff.data, **values}, issued_on=date.today(),
                   doc_no=number)
    docx = render.render(_source(session, draft and draft.id, template), ctx)
    try:
        pdf_bytes = pdf.to_pdf(docx)
    except pdf.PdfError as e:
        raise DocumentError(str(e)) from None
    title = f"{template.title}（{values[kind.subject]}）"[:200]
    stem = f"{title}_{number or serial}"
    docx_file = files.store(session, io.BytesIO(docx), f"{stem}.docx", DOCX_TYPE, user, instance, task.id,
                            f"document:{key}")
    pdf_file = files.store(session, io.BytesIO(pdf_bytes), f"{stem}.pdf", "application/pdf", user, instance,
                           task.id, f"document:{key}")
    document = CaseDocument(instance_id=instance.id, key=key, serial=serial, template_id=template.id, title=title,
                            status="issued", task_id=task.id, number=number, issued_at=utcnow(),
                            issued_by=user.username, docx_id=docx_file.id, pdf_id=pdf_file.id,
                            draft_id=draft and draft.id, sha256=docx_file.sha256, values=data_to_json(values))
    session.add(document)
    session.flush()
    history.record(session, "document_issue", user, instance=instance, task_id=task.id, element_id=task.element_id,
                   details={"document": title, "template": f"{template.key}:{template.version}", "serial": serial,
                            "number": number, "sha256": document.sha256, "pdf_sha256": pdf_file.sha256})
    return document
