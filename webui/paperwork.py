"""文书 on the task page (preview, Word download, edited draft upload, 签发; 笔录 made on demand), on the case
page (served copies, 送达回证) and the 案卷 (request, progress, download)."""
from __future__ import annotations

import io
import json
from urllib.parse import quote

from flask import Blueprint, abort, flash, jsonify, redirect, request, send_file, url_for
from flask_login import current_user, login_required

from engine.access.identity import NotPermitted
from engine.execution import runtime
from engine.inbox import tasks
from engine.spec import forms
from engine.store import files
from paperwork import case_file, issuing, notes, pdf, render

from .database import get_db
from .inbox import _TASK_ERRORS, _render_task, _submitted

bp = Blueprint("paperwork", __name__)
DOCX = issuing.DOCX_TYPE


def _send(data: bytes, name: str, mimetype: str, inline: bool = False):
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=not inline, download_name=name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _draft(task_id: str):
    with get_db().reading() as session:
        try:
            found = issuing.draft(session, task_id, current_user.user, _submitted())
        except tasks.TaskNotFound:
            abort(404)
    if found is None:
        abort(404)
    if found.error:
        raise issuing.DocumentError(found.error)
    return found


def _task_error(task_id: str, message: str):
    flash(message, "error")
    return redirect(url_for("inbox.task", task_id=task_id) + "#document")


@bp.route("/tasks/<task_id>/document/preview", methods=["POST"])
@login_required
def preview(task_id: str):
    """The document as a PDF from the values on the form right now (shown beside the form)."""
    try:
        found = _draft(task_id)
        data = found.docx if found.document and found.document.docx_id else \
            render.render(found.docx, {"doc_no": "（签发时编号）"})
        response = _send(pdf.to_pdf(data), f"{found.title}（预览）.pdf", "application/pdf", inline=True)
        response.headers["X-Frame-Options"] = "SAMEORIGIN"  # shown in the task page's frame
        # what 签发 still needs, for the list beside the preview (headers are Latin-1: percent-encoded JSON)
        response.headers["X-Document-Missing"] = quote(json.dumps(found.missing, ensure_ascii=False))
        return response
    except (pdf.PdfError, issuing.DocumentError, render.TemplateInvalid) as e:
        return _send(str(e).encode(), "error.txt", "text/plain; charset=utf-8", inline=True), 422
    except _TASK_ERRORS as e:
        return _send(str(e).encode(), "error.txt", "text/plain; charset=utf-8", inline=True), 409


@bp.route("/tasks/<task_id>/document/docx", methods=["POST"])
@login_required
def download_draft(task_id: str):
    """Word file to edit before printing; upload it back as the final text."""
    try:
        found = _draft(task_id)
    except (issuing.DocumentError, render.TemplateInvalid, *_TASK_ERRORS) as e:
        return _task_error(task_id, str(e))
    return _send(found.docx, f"{found.title}（{found.status_label}）.docx", DOCX)


@bp.route("/tasks/<task_id>/document/pdf", methods=["POST"])
@login_required
def download_pdf(task_id: str):
    try:
        found = _draft(task_id)
        data = found.docx if found.document and found.document.docx_id else \
            render.render(found.docx, {"doc_no": "（签发时编号）"})
        return _send(pdf.to_pdf(data), f"{found.title}（{found.status_label}）.pdf", "application/pdf")
    except (pdf.PdfError, issuing.DocumentError, render.TemplateInvalid, *_TASK_ERRORS) as e:
        return _task_error(task_id, str(e))


@bp.route("/tasks/<task_id>/document/draft", methods=["POST"])
@login_required
def upload_draft(task_id: str):
    storage = request.files.get("draft")
    if not storage or not storage.filename:
        return _task_error(task_id, "请选择修改后的 Word 文档（.docx）")
    try:
        with get_db().transaction() as session:
            document = issuing.upload_draft(session, task_id, current_user.user, _submitted(), storage.stream,
                                            storage.filename)
    except (issuing.DocumentError, files.FileStoreError, *_TASK_ERRORS) as e:
        return _task_error(task_id, str(e))
    except tasks.TaskNotFound:
        abort(404)
    flash(f"已上传{document.title}修改稿，签发时以此为准", "info")
    return _render_task(task_id, values=_submitted())


@bp.route("/tasks/<task_id>/document/issue", methods=["POST"])
@login_required
def issue(task_id: str):
    """签发 with the values on the form; the page comes back with them to be submitted."""
    submitted = _submitted()
    try:
        with get_db().transaction() as session:
            document = issuing.issue(session, task_id, current_user.user, submitted)
    except forms.FormInvalid as e:
        return _render_task(task_id, values=submitted, errors=e.errors, status=400)
    except issuing.DocumentError as e:
        return _render_task(task_id, values=submitted, errors={"_document": str(e)}, status=400)
    except _TASK_ERRORS as e:
        flash(str(e), "error")
        return redirect(url_for("inbox.inbox"))
    except tasks.TaskNotFound:
        abort(404)
    flash(f"已签发{document.title}，文号{document.number or '（无）'}。请核对后提交办理", "info")
    return _render_task(task_id, values=submitted)


def _note(task_id: str, key: str) -> tuple[str, bytes]:
    with get_db().reading() as session:
        try:
            return notes.preview(session, task_id, current_user.user, key, _submitted())
        except tasks.TaskNotFound:
            abort(404)


def _note_error(task_id: str, key: str, message: str):
    flash(message, "error")
    return redirect(url_for("inbox.task", task_id=task_id) + "#note-" + key.replace(".", "-"))


@bp.route("/tasks/<task_id>/notes/<key>/preview", methods=["POST"])
@login_required
def note_preview(task_id: str, key: str):
    """The 笔录 as a PDF from its form as typed (shown in the frame below it)."""
    try:
        title, data = _note(task_id, key)
        response = _send(pdf.to_pdf(data), f"{title}（预览）.pdf", "application/pdf", inline=True)
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return response
    except (pdf.PdfError, issuing.DocumentError, render.TemplateInvalid) as e:
        return _send(str(e).encode(), "error.txt", "text/plain; charset=utf-8", inline=True), 422
    except _TASK_ERRORS as e:
        return _send(str(e).encode(), "error.txt", "text/plain; charset=utf-8", inline=True), 409


@bp.route("/tasks/<task_id>/notes/<key>/<fmt>", methods=["POST"])
@login_required
def note_download(task_id: str, key: str, fmt: str):
    """The 笔录 as typed so far, as Word (to print and fill by hand) or PDF."""
    if fmt not in ("docx", "pdf"):
        abort(404)
    try:
        title, data = _note(task_id, key)
        if fmt == "docx":
            return _send(data, f"{title}（草稿）.docx", DOCX)
        return _send(pdf.to_pdf(data), f"{title}（草稿）.pdf", "application/pdf")
    except (pdf.PdfError, issuing.DocumentError, render.TemplateInvalid, *_TASK_ERRORS) as e:
        return _note_error(task_id, key, str(e))


@bp.route("/tasks/<task_id>/notes/<key>/issue", methods=["POST"])
@login_required
def note_issue(task_id: str, key: str):
    """签发 one more 笔录 of this kind; the step itself is not completed."""
    submitted = _submitted()
    try:
        with get_db().transaction() as session:
            document = notes.issue(session, task_id, current_user.user, key, submitted)
    except forms.FormInvalid as e:
        return _render_task(task_id, shown_notes={key: (submitted, e.errors)}, status=400)
    except issuing.DocumentError as e:
        return _render_task(task_id, shown_notes={key: (submitted, {"_note": str(e)})}, status=400)
    except _TASK_ERRORS as e:
        flash(str(e), "error")
        return redirect(url_for("inbox.inbox"))
    except tasks.TaskNotFound:
        abort(404)
    flash(f"已签发{document.title}{('，文号' + document.number) if document.number else ''}，已列入本案文书", "info")
    return redirect(url_for("inbox.task", task_id=task_id) + "#note-" + key.replace(".", "-"))


@bp.route("/tasks/<task_id>/notes/<key>/draft", methods=["POST"])
@login_required
def note_upload_draft(task_id: str, key: str):
    """An edited Word draft of the 笔录: the next one issued is made from it. The form's values stay."""
    submitted = _submitted()
    storage = request.files.get("note_draft")
    if not storage or not storage.filename:
        return _render_task(task_id, shown_notes={key: (submitted, {"_note": "请选择修改后的 Word 文档（.docx）"})},
                            status=400)
    try:
        with get_db().transaction() as session:
            draft = notes.upload_draft(session, task_id, current_user.user, key, storage.stream, storage.filename)
    except (issuing.DocumentError, files.FileStoreError) as e:
        return _render_task(task_id, shown_notes={key: (submitted, {"_note": str(e)})}, status=400)
    except _TASK_ERRORS as e:
        flash(str(e), "error")
        return redirect(url_for("inbox.inbox"))
    except tasks.TaskNotFound:
        abort(404)
    flash(f"已上传修改稿“{draft.original_name}”，下一份签发的笔录以此为准", "info")
    return _render_task(task_id, shown_notes={key: (submitted, {})})


@bp.route("/documents/<int:document_id>/issued.pdf")
@login_required
def issued_pdf(document_id: int):
    """The issued PDF, inline (the task page's frame, printing)."""
    with get_db().reading() as session:
        try:
            attachment, path = issuing.issued_file(session, document_id, current_user.user)
        except (issuing.DocumentError, NotPermitted):
            abort(404)
    response = send_file(path, mimetype="application/pdf", download_name=attachment.original_name)
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/documents/<int:document_id>/served", methods=["POST"])
@login_required
def served(document_id: int):
    storage = request.files.get("scan")
    instance_id = request.form.get("instance_id", type=int)
    if not storage or not storage.filename:
        flash("请选择送达回证或签收件的扫描件、照片", "error")
    else:
        try:
            with get_db().transaction() as session:
                done = issuing.mark_served(session, document_id, current_user.user, storage.stream, storage.filename,
                                           storage.mimetype)
            flash(f"已登记送达：{done.title}（{done.number or '无文号'}）", "info")
        except (issuing.DocumentError, files.FileStoreError, NotPermitted) as e:
            flash(str(e), "error")
    return redirect(url_for("cases.case", instance_id=instance_id) + "#documents" if instance_id else url_for("inbox.inbox"))


@bp.route("/documents/<int:document_id>/receipt.<fmt>")
@login_required
def receipt(document_id: int, fmt: str):
    if fmt not in ("docx", "pdf"):
        abort(404)
    with get_db().reading() as session:
        try:
            document, data = issuing.receipt(session, document_id, current_user.user)
        except issuing.DocumentError as e:
            flash(str(e), "error")
            return redirect(request.referrer or url_for("inbox.inbox"))
        except (runtime.InstanceNotFound, NotPermitted):
            abort(404)
    name = f"送达回证_{document.title}_{document.number or document.id}"
    if fmt == "docx":
        return _send(data, f"{name}.docx", DOCX)
    try:
        return _send(pdf.to_pdf(data), f"{name}.pdf", "application/pdf")
    except pdf.PdfError as e:
        flash(str(e), "error")
        return redirect(request.referrer or url_for("inbox.inbox"))


@bp.route("/cases/<int:instance_id>/case-file", methods=["POST"])
@login_required
def request_case_file(instance_id: int):
    try:
        with get_db().transaction() as session:
            case_file.request(session, instance_id, current_user.user)
    except (issuing.DocumentError, NotPermitted):
        abort(404)
    flash("已提交组卷，后台正在生成案卷，请稍候刷新本页", "info")
    return redirect(url_for("cases.case", instance_id=instance_id) + "#case-file")


@bp.route("/case-files/<int:build_id>/status")
@login_required
def case_file_status(build_id: int):
    with get_db().reading() as session:
        build = session.get(case_file.CaseFileBuild, build_id)
        if build is None:
            abort(404)
        try:
            case_file.visible(session, build.instance_id, current_user.user)
        except (issuing.DocumentError, NotPermitted):
            abort(404)
        return jsonify(status=build.status, progress=build.progress, step=build.step)


@bp.route("/case-files/<int:build_id>/<part>")
@login_required
def case_file_download(build_id: int, part: str):
    if part not in ("pdf", "zip"):
        abort(404)
    try:
        with get_db().transaction() as session:
            attachment = case_file.open_part(session, build_id, part, current_user.user)
            path = files.path_of(attachment)
            name, mimetype = attachment.original_name, attachment.content_type
    except issuing.DocumentError as e:
        flash(str(e), "error")
        return redirect(request.referrer or url_for("inbox.inbox"))
    except NotPermitted:
        abort(404)
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
