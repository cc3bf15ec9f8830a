"""Tables of 文书: template versions, the documents of each case, and 案卷 builds."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.store.models import Base, utcnow


class DocumentTemplate(Base):
    """One version of a .docx template, stored once per content (SHA-256)."""
    __tablename__ = "document_templates"
    __table_args__ = (UniqueConstraint("key", "version"), Index("ix_document_templates_sha256", "sha256"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)       # file stem: penalty.decision
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    process_key: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"))
    deployed_by: Mapped[str | None] = mapped_column(String(100))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseDocument(Base):
    """A document of a case: its template version (kept for the case), draft, issued text
    (frozen, hashed), number and served copy. Status: draft → issued → served. A 笔录 made
    on demand (paperwork/notes.py) may be made many times: ``serial`` counts them per key."""
    __tablename__ = "case_documents"
    __table_args__ = (UniqueConstraint("instance_id", "key", "serial", name="uq_case_documents_serial"),
                      Index("ix_case_documents_number", "number"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    serial: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    template_id: Mapped[int] = mapped_column(ForeignKey("document_templates.id"))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft issued served
    task_id: Mapped[str | None] = mapped_column(String(36))           # the task that issues it
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))   # an edited .docx uploaded back
    number: Mapped[str | None] = mapped_column(String(100))
    number_variable: Mapped[str | None] = mapped_column(String(200))  # the case variable the number fills
    issued_at: Mapped[datetime | None]
    issued_by: Mapped[str | None] = mapped_column(String(100))
    docx_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))    # the issued text, frozen
    pdf_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    sha256: Mapped[str | None] = mapped_column(String(64))            # of the issued .docx
    values: Mapped[str | None] = mapped_column(Text)                  # the case values it was issued with (JSON)
    served_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))  # signed/sealed scan of the served copy
    served_at: Mapped[datetime | None]
    served_by: Mapped[str | None] = mapped_column(String(100))
    template: Mapped[DocumentTemplate] = relationship(lazy="joined")


class CaseFileBuild(Base):
    """An assembly of the 案卷 by the worker: one PDF and a zip of the originals, write-once."""
    __tablename__ = "case_file_builds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued building done failed
    progress: Mapped[int] = mapped_column(Integer, default=0)           # percent
    step: Mapped[str] = mapped_column(String(200), default="等待后台处理")
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    pdf_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    zip_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    error: Mapped[str | None] = mapped_column(Text)
