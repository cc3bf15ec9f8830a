"""The 案卷: at 立卷归档 (or on request) the worker assembles the case file — 卷内目录
with page numbers, every issued document with its served copy, the evidence list with
the SHA-256 of each file, the 备考表 — as one PDF plus a zip of the originals, stored
write-once in the file store with their hashes in the audit trail."""
from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.access.identity import require_instance_visible
from engine.store import files, history
from engine.store.db import Database
from engine.store.models import Attachment, Department, ProcessDefinition, ProcessInstance, User, utcnow
from recording import evidence
from workdays.calendar import TZ

from . import catalog, pdf
from .issuing import DocumentError, of_case
from .models import CaseDocument, CaseFileBuild

IMAGE_TYPES = ("image/jpeg", "image/png")
log = logging.getLogger(__name__)


def visible(session: Session, instance_id: int, user: User) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise DocumentError("案件不存在")
    require_instance_visible(session, user, instance)
    return instance


def request(session: Session, instance_id: int, user: User | str) -> CaseFileBuild:
    """Queue an assembly (one at a time per case); the worker builds it."""
    username = user.username if isinstance(user, User) else user
    if isinstance(user, User):
        visible(session, instance_id, user)
    running = session.scalar(select(CaseFileBuild).where(CaseFileBuild.instance_id == instance_id,
                                                         CaseFileBuild.status.in_(("queued", "building"))))
    if running is not None:
        return running
    build = CaseFileBuild(instance_id=instance_id, requested_by=username)
    session.add(build)
    session.flush()
    return build


def latest(session: Session, instance_id: int) -> CaseFileBuild | None:
    return session.scalars(select(CaseFileBuild).where(CaseFileBuild.instance_id == instance_id)
                           .order_by(CaseFileBuild.id.desc()).limit(1)).first()


@dataclass
class FiledCase:
    instance_id: int
    business_key: str
    process: str
    department: str
    ended_at: datetime
    build_id: int | None  # the newest finished 案卷, if any


def finished_in_year(session: Session, year: int) -> list[FiledCase]:
    """Cases finished in ``year`` (Asia/Shanghai) with their newest finished 案卷: what the
    annual 评查 opens, case by case."""
    start = datetime(year, 1, 1, tzinfo=TZ).astimezone(timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=TZ).astimezone(timezone.utc)
    newest = (select(CaseFileBuild.instance_id, func.max(CaseFileBuild.id).label("build_id"))
              .where(CaseFileBuild.status == "done").group_by(CaseFileBuild.instance_id).subquery())
    rows = session.execute(
        select(ProcessInstance.id, ProcessInstance.business_key, ProcessDefinition.name, Department.name,
               ProcessInstance.ended_at, newest.c.build_id)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .outerjoin(Department, Department.code == ProcessInstance.department_code)
        .outerjoin(newest, newest.c.instance_id == ProcessInstance.id)
        .where(ProcessInstance.status == "completed", ProcessInstance.ended_at >= start, ProcessInstance.ended_at < end)
        .order_by(ProcessInstance.ended_at, ProcessInstance.id))
    return [FiledCase(i, key, process, dept or "未指定", ended, build) for i, key, process, dept, ended, build in rows]


def open_part(session: Session, build_id: int, part: str, user: User) -> Attachment:
    """The PDF or zip of a finished 案卷, for someone who may see the case; written in the 查阅登记簿."""
    build = session.get(CaseFileBuild, build_id)
    if build is None or build.status != "done":
        raise DocumentError("案卷尚未生成")
    attachment_id = build.pdf_id if part == "pdf" else build.zip_id
    return evidence.open_recording(session, attachment_id, user, purpose="调阅案卷（下载）")


# --- assembly -------------------------------------------------------------------

@dataclass
class Part:
    title: str
    number: str
    date: str
    pdf: bytes
    pages: int = 0


def _pages(data: bytes, work: Path) -> int:
    path = work / "count.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def _readable(data: bytes, work: Path) -> bool:
    """A PDF poppler can read (a damaged scan is kept in the zip, not bound into the volume)."""
    try:
        _pages(data, work)
    except subprocess.CalledProcessError:
        return False
    return True


def _table_pdf(title: str, heading: str, header: list[str], rows: list[list[str]], widths: list[int],
               notes: list[str] = ()) -> bytes:
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(20)
    for text, size in ((heading, 14), (title, 20)):
        p = document.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        run.font.size, run.font.bold = Pt(size), True
    table = document.add_table(rows=1, cols=len(header))
    table.style, table.autofit = "Table Grid", False
    for column, width in zip(table.columns, widths):
        column.width = Mm(width)
    for cells, texts in [(table.rows[0].cells, header), *((table.add_row().cells, r) for r in rows)]:
        for cell, text, width in zip(cells, texts, widths):
            cell.width = Mm(width)
            run = cell.paragraphs[0].add_run(str(text))
            run.font.size = Pt(9)
    for note in notes:
        document.add_paragraph(note)
    out = io.BytesIO()
    document.save(out)
    return pdf.to_pdf(out.getvalue())


def _image_pdf(data: bytes, caption: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(caption)
    document.add_picture(io.BytesIO(data), width=Mm(150))
    out = io.BytesIO()
    document.save(out)
    return pdf.to_pdf(out.getvalue())


def _read(attachment: Attachment) -> bytes:
    with files.open_file(attachment) as f:
        return f.read()


def _set_progress(db: Database, build_id: int, percent: int, step: str) -> None:
    with db.transaction() as session:
        session.execute(update(CaseFileBuild).where(CaseFileBuild.id == build_id)
                        .values(progress=percent, step=step[:200]))


def _documents_in_order(session: Session, instance_id: int) -> list[CaseDocument]:
    issued = [d for d in of_case(session, instance_id) if d.status != "draft"]
    order = {key: n for n, key in enumerate(catalog.CASE_FILE_ORDER)}
    return sorted(issued, key=lambda d: (order.get(d.key.split(".", 1)[-1], len(order)), d.issued_at))


def build(db: Database, build_id: int) -> None:
    """Assemble one queued 案卷 (progress committed step by step, so the case page shows it)."""
    with db.transaction() as session:
        claimed = session.execute(update(CaseFileBuild).where(CaseFileBuild.id == build_id,
                                                              CaseFileBuild.status == "queued")
                                  .values(status="building", step="收集文书")).rowcount
    if not claimed:
        return  # another worker has it
    try:
        _assemble(db, build_id)
    except Exception as e:
        with db.transaction() as session:
            row = session.get(CaseFileBuild, build_id)
            row.status, row.error, row.finished_at = "failed", str(e)[:2000], utcnow()
            row.step = "生成失败"
        raise


def _assemble(db: Database, build_id: int) -> None:
    with db.reading() as session:
        row = session.get(CaseFileBuild, build_id)
        instance = session.get(ProcessInstance, row.instance_id)
        documents = _documents_in_order(session, instance.id)
        attachments = list(session.scalars(select(Attachment).where(Attachment.instance_id == instance.id)
                                           .order_by(Attachment.uploaded_at, Attachment.id)))
        by_id = {a.id: a for a in attachments}
        business_key, title, requested_by = instance.business_key, instance.title, row.requested_by
    work = Path(tempfile.mkdtemp(prefix="zhifa-casefile-"))
    try:
        parts: list[Part] = []
        originals: list[tuple[str, Attachment]] = []
        unbound: list[str] = []
        steps = len(documents) + 3
        for n, document in enumerate(documents, 1):
            _set_progress(db, build_id, int(80 * n / steps), f"第 {n}/{len(documents)} 份文书：{document.title}")
            issued_on = document.issued_at.astimezone(timezone.utc).strftime("%Y-%m-%d")
            parts.append(Part(document.title, document.number or "", issued_on, _read(by_id[document.pdf_id])))
            originals.append((f"文书/{document.title}_{document.number or document.id}.docx", by_id[document.docx_id]))
            if document.served_id:
                served = by_id[document.served_id]
                data = _read(served)
                caption = f"{document.title}（送达回证、签收件）"
                if data.startswith(b"%PDF") and _readable(data, work):
                    parts.append(Part(caption, document.number or "", issued_on, data))
                elif served.detected_type in IMAGE_TYPES:
                    parts.append(Part(caption, document.number or "", issued_on, _image_pdf(data, caption)))
                else:  # kept as the original only
                    unbound.append(f"{caption}：{served.original_name}（未能并入本卷 PDF，原件见原件包）")
                originals.append((f"送达/{served.id}_{served.original_name}", served))
        _set_progress(db, build_id, 82, "证据清单")
        documents_ids = {i for d in documents for i in (d.docx_id, d.pdf_id, d.served_id)}
        evidence_rows = [[str(n), a.original_name, a.record_item or a.field_id or "", a.uploaded_by,
                          a.uploaded_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M"),
                          " ".join(a.sha256[i:i + 16] for i in range(0, 64, 16))]  # lines break at the spaces
                         for n, a in enumerate((a for a in attachments if a.id not in documents_ids), 1)]
        parts.append(Part("证据材料清单", "", "", _table_pdf(
            "证据材料清单", f"{business_key}　{title}", ["序号", "名称", "类别", "提交人", "时间（UTC）", "SHA-256"],
            evidence_rows, [10, 36, 22, 22, 24, 56])))
        originals += [(f"证据/{a.id}_{a.original_name}", a) for a in attachments if a.id not in documents_ids]
        for part in parts:
            part.pages = _pages(part.pdf, work)
        _set_progress(db, build_id, 88, "备考表")
        body_pages = sum(p.pages for p in parts)
        note = _table_pdf("备考表", f"{business_key}　{title}", ["项目", "情况"], [
            ["本卷文书", f"{len(documents)} 份"], ["卷内材料", f"共 {body_pages} 页（不含卷内目录和备考表）"],
            ["证据材料", f"{len(evidence_rows)} 件，SHA-256 见证据材料清单"],
            ["立卷人", requested_by], ["立卷时间", utcnow().strftime("%Y-%m-%d %H:%M UTC")],
            ["说明", "本卷由系统根据已签发文书和案件材料自动组卷，原件及哈希值保存在电子证据库。"],
            *(["未并入材料", line] for line in unbound)], [40, 130])
        _set_progress(db, build_id, 92, "卷内目录")
        contents = _contents(parts, business_key, title, work)
        combined = _unite([contents, *[p.pdf for p in parts], note], work)
        manifest = {"case": business_key, "files": {name: a.sha256 for name, a in originals}}
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for name, attachment in originals:
                z.writestr(name, _read(attachment))
            z.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        _set_progress(db, build_id, 97, "存档")
        with db.transaction() as session:
            instance = session.get(ProcessInstance, instance.id)
            pdf_file = files.store(session, io.BytesIO(combined), f"{business_key}_案卷.pdf", "application/pdf",
                                   "system", instance, None, "case_file")
            zip_file = files.store(session, io.BytesIO(archive.getvalue()), f"{business_key}_案卷原件.zip",
                                   "application/zip", "system", instance, None, "case_file")
            row = session.get(CaseFileBuild, build_id)
            row.status, row.progress, row.step, row.finished_at = "done", 100, "已生成", utcnow()
            row.pdf_id, row.zip_id = pdf_file.id, zip_file.id
            history.record(session, "case_file", requested_by, instance=instance, details={
                "pdf": pdf_file.original_name, "pdf_sha256": pdf_file.sha256, "zip_sha256": zip_file.sha256,
                "documents": len(documents), "pages": _pages(combined, work)})
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _contents(parts: list[Part], business_key: str, title: str, work: Path) -> bytes:
    """卷内目录 with the page each part starts on; laid out again if the list itself runs longer."""
    own_pages = 1
    while True:
        page, rows = own_pages + 1, []
        for n, part in enumerate(parts, 1):
            rows.append([str(n), part.number, part.title, part.date, str(page)])
            page += part.pages
        data = _table_pdf("卷内目录", f"{business_key}　{title}", ["序号", "文号", "题名", "日期", "页号"], rows,
                          [12, 48, 66, 28, 16], [f"备考表：第 {page} 页"])
        pages = _pages(data, work)
        if pages == own_pages:
            return data
        own_pages = pages


def _unite(pdfs: list[bytes], work: Path) -> bytes:
    names = []
    for n, data in enumerate(pdfs):
        path = work / f"part{n:03d}.pdf"
        path.write_bytes(data)
        names.append(str(path))
    out = work / "case_file.pdf"
    subprocess.run(["pdfunite", *names, str(out)], check=True, capture_output=True)
    return out.read_bytes()


def queue_finished(session: Session) -> int:
    """立卷归档: every finished case with issued documents gets its 案卷 once."""
    finished = session.scalars(
        select(ProcessInstance.id).where(ProcessInstance.status == "completed",
                                         ProcessInstance.id.in_(select(CaseDocument.instance_id)
                                                                .where(CaseDocument.status != "draft")),
                                         ~ProcessInstance.id.in_(select(CaseFileBuild.instance_id))))
    ids = list(finished)
    for instance_id in ids:
        request(session, instance_id, "system")
    return len(ids)


def run_pending(db: Database) -> int:
    """The worker's job: queue the 案卷 of finished cases, build every queued one."""
    with db.transaction() as session:
        queue_finished(session)
    with db.reading() as session:
        queued = list(session.scalars(select(CaseFileBuild.id).where(CaseFileBuild.status == "queued")
                                      .order_by(CaseFileBuild.id)))
    for build_id in queued:
        try:
            build(db, build_id)
        except Exception:  # recorded on the build row; the next case is still built
            log.exception("案卷生成失败（build %s）", build_id)
    return len(queued)
