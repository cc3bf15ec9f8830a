"""The documents of a case: preview from the values entered so far, an edited .docx
uploaded back, 签发 (number, frozen text, SHA-256), the served copy, the 送达回证.

A user task declares the document it produces with the camunda:property ``document`` =
template key (or ``${expression}`` giving a key or None). Its number comes from the
task's ``documentNumber`` declaration of the same scheme and is allocated at 签发,
before the document is served; completion then fills the case variable with it.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import identity
from engine.access.identity import NotPermitted, require_instance_visible
from engine.execution import runtime
from engine.inbox import tasks
from engine.sandbox import expressions
from engine.spec import forms
from engine.store.history import data_to_json
from engine.store import files, history
from engine.store.models import Attachment, HumanTask, ProcessInstance, User, utcnow

from . import catalog, context, document_numbers as documents, note_forms, numbering, pdf, render
from .library import latest, process_data
from .models import CaseDocument, DocumentTemplate

PROPERTY = "document"
DECISION = "penalty.decision"  # the 行政处罚决定书: its number is shown on case lists
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
STATUS_LABELS = {"draft": "草稿", "issued": "已签发", "served": "已送达"}


class DocumentError(ValueError):
    """A document action that cannot be done; the message is for the user."""


def _evaluate(text: str, data: Mapping[str, Any], script_engine) -> str | None:
    if text.startswith(("${", "#{")):
        value = script_engine.environment.evaluate(expressions.to_python(text), dict(data))
        return str(value) if value else None
    return text


def declared(task_spec, data: Mapping[str, Any], script_engine) -> str | None:
    """The template key the task produces with these values, or None; a field of the
    task not filled in yet counts as empty (the page shows the document while typing)."""
    text = ((getattr(task_spec, "extensions", None) or {}).get(PROPERTY) or "").strip()
    if not text:
        return None
    return _evaluate(text, {**{f.id: None for f in forms.form_of(task_spec).fields}, **data}, script_engine)


def declaration_problems(text: str) -> list[str]:
    """Deploy-time check of a ``document`` property (the template may be deployed later)."""
    if text.startswith(("${", "#{")):
        return documents.problems(f"{text}:x")
    if not text.replace(".", "").replace("_", "").isalnum():
        return [f"文书模板标识“{text}”只能由字母、数字、点和下划线组成，例如 penalty.decision"]
    return []


def known_title(key: str) -> str:
    """The document's name as the model texts give it (a reader never sees the template key)."""
    from paperwork.model_texts import TEXTS  # (the generator of documents/; only its titles are read here)
    return next((text.title for text in TEXTS if text.key == key), "本步骤的文书")


def _template(session: Session, instance: ProcessInstance, key: str) -> DocumentTemplate:
    """The version the case already uses, else the newest."""
    pinned = session.scalar(select(CaseDocument).where(CaseDocument.instance_id == instance.id,
                                                       CaseDocument.key == key))
    template = pinned.template if pinned else latest(session, key)
    if template is None:
        raise DocumentError(f"文书模板“{known_title(key)}”尚未部署，请联系法制股在流程部署页面部署该模板")
    return template


def _number_pair(task_spec, key: str, data: Mapping[str, Any], script_engine) -> tuple[str | None, str | None]:
    """(scheme, case variable) that numbers this document: the task's documentNumber pair
    whose scheme is the template key; else a scheme of that name without a variable."""
    text = (getattr(task_spec, "extensions", None) or {}).get(documents.PROPERTY)
    for scheme, variable in documents.parse(text) if text else []:
        if _evaluate(scheme, data, script_engine) == key:
            return key, variable
    return (key, None) if key in numbering.schemes() else (None, None)


def _context(session: Session, instance: ProcessInstance, template: DocumentTemplate, values: Mapping[str, Any],
             **per_document) -> dict[str, Any]:
    data = process_data(session, template.process_key)
    fields = [*(data.fields if data else []), *note_forms.fields_of(template.key)]
    chosen = {i for f in fields if f.type == "officers" and isinstance(values.get(f.id), list) for i in values[f.id]}
    people = {u.id: identity.certificate_label(u)
              for u in session.scalars(select(User).where(User.id.in_(chosen)))} if chosen else {}
    return context.build(values, fields, case_no=instance.business_key, people=people, **per_document)


def _source(session: Session, draft_id: int | None, template: DocumentTemplate) -> bytes:
    """An uploaded edited draft replaces the template (its placeholders are filled again)."""
    if draft_id:
        with files.open_file(session.get(Attachment, draft_id)) as f:
            return f.read()
    return session.scalar(select(DocumentTemplate.content).where(DocumentTemplate.id == template.id))


def _document(session: Session, instance_id: int, key: str) -> CaseDocument | None:
    return session.scalar(select(CaseDocument).where(CaseDocument.instance_id == instance_id,
                                                     CaseDocument.key == key))


@dataclass
class Draft:
    """What a task page shows: the document the task produces, as it stands."""
    key: str
    title: str
    document: CaseDocument | None = None
    docx: bytes | None = None
    missing: list[str] = field(default_factory=list)
    error: str | None = None    # why it cannot be produced (template not deployed …)

    @property
    def status(self) -> str:
        return self.document.status if self.document else "draft"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def __getattr__(self, name: str):  # number, issued_at, sha256, docx_id, pdf_id … of the issued document
        if name in ("number", "issued_at", "issued_by", "sha256", "docx_id", "pdf_id", "draft_id"):
            return getattr(self.document, name) if self.document is not None else None
        raise AttributeError(name)

    @property
    def has_draft(self) -> bool:
        return bool(self.draft_id)


def _task_state(session: Session, task_id: str, user: User):
    """The ready task, its case and SpiffWorkflow task, for someone who may act on it (read only)."""
    task = tasks.get(session, task_id)
    tasks.require_actor(session, task, user)
    instance = session.get(ProcessInstance, task.instance_id)
    action = runtime.load(session, instance, user)
    return task, instance, action, runtime.spiff_task(action, task.id)


def draft(session: Session, task_id: str, user: User, submitted: Mapping[str, Any] | None = None) -> Draft | None:
    """The task's document filled with the case's data and the values entered so far
    (None when the task produces none). An issued document is shown as issued."""
    task, instance, action, spiff = _task_state(session, task_id, user)
    form = forms.form_of(spiff.task_spec)
    values = {**spiff.data, **forms.partial_values(form, submitted or {}, spiff.data)}
    key = declared(spiff.task_spec, values, action.workflow.script_engine)
    if key is None:
        return None
    try:
        template = _template(session, instance, key)
    except DocumentError as e:
        return Draft(key, known_title(key), error=str(e))
    document = _document(session, instance.id, key)
    if document is not None and document.docx_id:
        with files.open_file(session.get(Attachment, document.docx_id)) as f:
            return Draft(key, template.title, document, f.read())
    ctx = _context(session, instance, template, values, issued_on=date.today())
    keep_number = {"doc_no": "{{ doc_no }}"}  # the number is printed at 签发, also into an edited draft
    try:
        docx = render.render(_source(session, document and document.draft_id, template), {**ctx, **keep_number})
    except render.TemplateInvalid as e:
        return Draft(key, template.title, document, error=str(e))
    return Draft(key, template.title, document, docx, catalog.missing_elements(key, ctx))


def upload_draft(session: Session, task_id: str, user: User, submitted: Mapping[str, Any], stream,
                 name: str) -> CaseDocument:
    """An edited .docx uploaded back: it becomes the text issued (its placeholders still filled)."""
    task, instance, action, spiff = _task_state(session, task_id, user)
    values = {**spiff.data, **forms.partial_values(forms.form_of(spiff.task_spec), submitted, spiff.data)}
    key = declared(spiff.task_spec, values, action.workflow.script_engine)
    if key is None:
        raise DocumentError("此步骤不制作文书")
    content = edited_docx(stream, name)
    document = _document(session, instance.id, key) or _new_document(session, instance, key, task)
    if document.status != "draft":
        raise DocumentError(f"{document.title}已签发（{document.number or '无文号'}），不能再修改")
    attachment = files.store(session, io.BytesIO(content), name, DOCX_TYPE, user, instance, task.id, f"document:{key}")
    document.draft_id = attachment.id
    history.record(session, "document_draft", user, instance=instance, task_id=task.id, element_id=task.element_id,
                   details={"document": document.title, "file": attachment.original_name, "sha256": attachment.sha256})
    return document


def edited_docx(stream, name: str) -> bytes:
    """The bytes of an edited Word draft uploaded back, if it is one the renderer can fill."""
    if not (name or "").lower().endswith(".docx"):
        raise DocumentError("请上传 Word 文档（.docx）；WPS 请另存为 .docx 格式")
    content = stream.read()
    try:
        render.placeholders(content)
    except render.TemplateInvalid as e:
        raise DocumentError(f"上传的文书无法使用：{e}") from None
    return content


def _new_document(session: Session, instance: ProcessInstance, key: str, task: HumanTask) -> CaseDocument:
    template = _template(session, instance, key)
    document = CaseDocument(instance_id=instance.id, key=key, template_id=template.id, title=template.title,
                            task_id=task.id)
    session.add(document)
    session.flush()
    return document


def issue(session: Session, task_id: str, user: User, submitted: Mapping[str, Any]) -> CaseDocument:
    """签发: the form must be valid and the document complete (行政处罚法第五十九条 for a
    决定书); the number is allocated, the text rendered, converted to PDF, stored and
    hashed. The task is completed afterwards with the same values."""
    task, instance, action, spiff = tasks.open_for_action(session, task_id, user)
    form = forms.form_of(spiff.task_spec)
    numbered = documents.targets(spiff.task_spec)
    # numbered fields are filled in below, whatever was typed (required ones are not missing)
    values = forms.validate(form, {**submitted, **{v: "（签发时编号）" for v in numbered}}, spiff.data)
    values = {k: v for k, v in values.items() if k not in numbered}
    merged = {**spiff.data, **values}
    script_engine = action.workflow.script_engine
    key = declared(spiff.task_spec, merged, script_engine)
    if key is None:
        raise DocumentError("按当前填写的内容，此步骤不制作文书")
    document = _document(session, instance.id, key) or _new_document(session, instance, key, task)
    if document.status != "draft":
        raise DocumentError(f"{document.title}已于{document.issued_at:%Y-%m-%d}签发，文号{document.number or '—'}")
    template = document.template
    ctx = _context(session, instance, template, merged, issued_on=date.today())
    missing = catalog.missing_elements(key, ctx)
    if missing:
        raise DocumentError(f"{template.title}不能签发：" + "；".join(missing))
    scheme, variable = _number_pair(spiff.task_spec, key, merged, script_engine)
    number = merged.get(variable) if variable and merged.get(variable) else \
        numbering.next_number(session, scheme) if scheme else None
    ctx["doc_no"] = number or ""
    docx = render.render(_source(session, document.draft_id, template), ctx)
    try:
        pdf_bytes = pdf.to_pdf(docx)
    except pdf.PdfError as e:
        raise DocumentError(str(e)) from None
    stem = f"{template.title}{('_' + number) if number else ''}"
    docx_file = files.store(session, io.BytesIO(docx), f"{stem}.docx", DOCX_TYPE, user, instance, task.id,
                            f"document:{key}")
    pdf_file = files.store(session, io.BytesIO(pdf_bytes), f"{stem}.pdf", "application/pdf", user, instance,
                           task.id, f"document:{key}")
    document.status, document.number, document.number_variable = "issued", number, variable
    document.issued_at, document.issued_by, document.task_id = utcnow(), user.username, task.id
    document.docx_id, document.pdf_id, document.sha256 = docx_file.id, pdf_file.id, docx_file.sha256
    document.values = data_to_json({k: values[k] for k in values if k in _printed(session, document)})
    if variable and number:  # the case has it now: completing the task keeps it (document_numbers.issue)
        spiff.data[variable] = number
        runtime.save(action)
    history.record(session, "document_issue", user, instance=instance, task_id=task.id, element_id=task.element_id,
                   details={"document": template.title, "template": f"{template.key}:{template.version}",
                            "number": number, "sha256": document.sha256, "pdf_sha256": pdf_file.sha256})
    return document


def _printed(session: Session, document: CaseDocument) -> set[str]:
    return render.placeholders(_source(session, document.draft_id, document.template))


def check_complete(session: Session, task: HumanTask, spiff, values: Mapping[str, Any]) -> None:
    """A task that produces a document completes only once it is issued, with the values
    it was issued with (engine value check). A document whose template is not deployed
    is not required: the bureau has not adopted it."""
    key = declared(spiff.task_spec, {**spiff.data, **values}, spiff.workflow.script_engine)
    if key is None:
        return
    document = _document(session, task.instance_id, key)
    if document is None or document.status == "draft":
        template = document.template if document else latest(session, key)
        if template is not None:
            raise DocumentError(f"请先签发{template.title}（本步骤制作的文书），再提交办理")
        return
    issued = json.loads(document.values or "{}")
    form = {f.id: f for f in forms.form_of(spiff.task_spec).fields}
    now = json.loads(data_to_json({k: values.get(k) for k in issued}))
    changed = [form[k].label for k, v in issued.items() if k in form and now[k] != v]
    if changed:
        raise DocumentError(f"{document.title}签发后修改了：{'、'.join(changed)}。"
                            "已签发文书的内容不能改变，请按签发时的内容办结")


def mark_served(session: Session, document_id: int, user: User, stream, name: str, content_type: str | None,
                served_on: date | None = None) -> CaseDocument:
    """The signed/sealed scan or photo of the served copy, attached to the issued document."""
    document = session.get(CaseDocument, document_id)
    if document is None:
        raise DocumentError("文书不存在")
    instance = runtime.lock_instance(session, document.instance_id)
    ready = tasks.ready_tasks(session, instance.id)
    if not any(tasks.may_act(session, t, user) for t in ready):
        raise NotPermitted("只有本案当前步骤的承办人可以登记送达")
    if document.status == "draft":
        raise DocumentError(f"{document.title}尚未签发，不能登记送达")
    attachment = files.store(session, stream, name, content_type, user, instance, None, f"served:{document.key}")
    document.status, document.served_id, document.served_by = "served", attachment.id, user.username
    document.served_at = utcnow()
    history.record(session, "document_served", user, instance=instance, details={
        "document": document.title, "number": document.number, "file": attachment.original_name,
        "sha256": attachment.sha256, "served_on": served_on.isoformat() if served_on else None})
    return document


SERVED = "servedDocument"


def service_problems(text: str) -> list[str]:
    """Deploy-time check of a ``servedDocument`` property: ``template key:file field``."""
    key, sep, field_id = (text or "").strip().rpartition(":")
    if not sep or not key or not field_id.isidentifier():
        return [f"送达声明“{text}”应为 文书模板标识:文件字段，例如 penalty.decision:decision_receipt"]
    return declaration_problems(key)


def record_service(session: Session, task: HumanTask, spiff, values: Mapping[str, Any]) -> None:
    """A 送达 step declaring ``servedDocument`` = ``key:file field`` (engine value check): the
    signed 送达回证 or served copy it completes with is attached to that issued document."""
    text = ((getattr(spiff.task_spec, "extensions", None) or {}).get(SERVED) or "").strip()
    key_text, _, field_id = text.rpartition(":")
    ids = values.get(field_id) if text else None
    if not ids:
        return
    key = _evaluate(key_text, {**spiff.data, **values}, spiff.workflow.script_engine)
    document = _document(session, task.instance_id, key) if key else None
    if document is None or document.status == "draft":
        return  # nothing issued here (the bureau has not adopted this template)
    served = session.get(Attachment, ids[0])
    document.status, document.served_id, document.served_by, document.served_at = \
        "served", served.id, served.uploaded_by, utcnow()
    history.record(session, "document_served", served.uploaded_by,
                   instance=session.get(ProcessInstance, task.instance_id), task_id=task.id,
                   element_id=task.element_id, details={"document": document.title, "number": document.number,
                                                        "file": served.original_name, "sha256": served.sha256})


RECEIPT = "receipt"


def receipt(session: Session, document_id: int, user: User) -> tuple[CaseDocument, bytes]:
    """The 送达回证 of an issued document, linked to it (one per document)."""
    document = session.get(CaseDocument, document_id)
    if document is None or document.status == "draft":
        raise DocumentError("只有已签发的文书才能制作送达回证")
    instance = session.get(ProcessInstance, document.instance_id)
    key = f"{document.template.process_key}.{RECEIPT}"
    template = latest(session, key)
    if template is None:
        raise DocumentError(f"送达回证模板“{key}”尚未部署")
    workflow = runtime.load(session, instance, user).workflow
    ctx = _context(session, instance, template, runtime.case_data(workflow),
                   extra={"served_title": document.title, "served_no": document.number or ""})
    docx = render.render(session.scalar(select(DocumentTemplate.content).where(DocumentTemplate.id == template.id)), ctx)
    return document, docx


def issued_file(session: Session, document_id: int, user: User) -> tuple[Attachment, object]:
    """The issued PDF of a document of a case the user may see, and its path."""
    document = session.get(CaseDocument, document_id)
    if document is None or not document.pdf_id:
        raise DocumentError("文书尚未签发")
    instance = session.get(ProcessInstance, document.instance_id)
    require_instance_visible(session, user, instance)
    attachment = session.get(Attachment, document.pdf_id)
    return attachment, files.path_of(attachment)


def of_case(session: Session, instance_id: int) -> list[CaseDocument]:
    return list(session.scalars(select(CaseDocument).where(CaseDocument.instance_id == instance_id)
                                .order_by(CaseDocument.issued_at.is_(None), CaseDocument.issued_at, CaseDocument.id)))

