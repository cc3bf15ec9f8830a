"""Deployed 文书 templates: versions keyed by content hash, checked against the process
whose data fills them (``zhifa deploy documents/…`` and the 流程部署 page)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.deploy import repository
from engine.spec import forms
from engine.store import history
from engine.store.models import Deployment, User

from . import document_numbers, templates
from .models import DocumentTemplate


class TemplatesInvalid(ValueError):
    """Every problem as (file, placeholder, message); nothing was deployed."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = problems
        super().__init__("\n".join(self.lines))

    @property
    def lines(self) -> list[str]:
        """``FILE: placeholder: message``, as ``zhifa deploy`` prints them."""
        return [f"{file}: {placeholder or '-'}: {message}" for file, placeholder, message in self.problems]


@dataclass
class ProcessData:
    fields: list[forms.Field]     # every form field of the process (enum options merged)
    numbered: set[str]            # variables its tasks number (documentNumber)


def _task_specs(spec_tuple):
    spec, subprocesses = spec_tuple
    for s in [spec, *subprocesses.values()]:
        yield from s.task_specs.values()


def process_data(session: Session, process_key: str) -> ProcessData | None:
    """What the newest version of a process collects; None when it is not deployed."""
    definition = repository.latest_definition(session, process_key)
    return None if definition is None else definition_data(session, definition)


def definition_data(session: Session, definition) -> ProcessData:
    """What one version of a process collects."""
    merged: dict[str, forms.Field] = {}
    numbered: set[str] = set()
    for task_spec in _task_specs(repository.specs_of(session, definition)):
        numbered |= document_numbers.targets(task_spec)
        for f in forms.form_of(task_spec).fields:
            known = merged.setdefault(f.id, forms.Field(f.id, f.label, f.type, options=[]))
            seen = known.option_labels
            known.options += [o for o in f.options if o[0] not in seen]
    return ProcessData(list(merged.values()), numbered)


def check(session: Session, files: list[templates.TemplateFile]) -> list[tuple[str, str, str]]:
    """Every problem of the files, as (file, placeholder, message)."""
    cache: dict[str, ProcessData | None] = {}

    def known(process_key: str):
        if process_key not in cache:
            cache[process_key] = process_data(session, process_key)
        return cache[process_key]

    return [(template.name, placeholder, message)
            for template in files for placeholder, message in templates.problems(template, known)]


def latest(session: Session, key: str) -> DocumentTemplate | None:
    return session.scalars(select(DocumentTemplate).where(DocumentTemplate.key == key)
                           .order_by(DocumentTemplate.version.desc()).limit(1)).first()


def versions(session: Session) -> list[DocumentTemplate]:
    return list(session.scalars(select(DocumentTemplate).order_by(DocumentTemplate.key, DocumentTemplate.version.desc())))


def deploy(session: Session, files: list[templates.TemplateFile], *, user: User | None,
           deployment: Deployment | None = None, source: str = "cli") -> list[DocumentTemplate]:
    """New versions of the templates whose content changed; TemplatesInvalid (deploying
    nothing) when any file has a problem. Call after deploying the processes of the same
    upload, in the same transaction, so templates can use their new fields."""
    problems = check(session, files)
    if problems:
        raise TemplatesInvalid(problems)
    created = []
    for template in files:
        old = latest(session, template.key)
        if old is not None and old.sha256 == template.sha256:
            continue
        info = templates.particulars(template.content)
        version = (session.scalar(select(func.max(DocumentTemplate.version))
                                  .where(DocumentTemplate.key == template.key)) or 0) + 1
        row = DocumentTemplate(key=template.key, version=version, title=info.title, process_key=info.process,
                               file_name=template.name, sha256=template.sha256, content=template.content,
                               deployment_id=deployment.id if deployment else None,
                               deployed_by=user.username if user else None)
        session.add(row)
        created.append(row)
    if created:
        session.flush()
        history.record(session, "deploy_documents", user, details={
            "source": source, "templates": {f"{t.key}:{t.version}": t.sha256 for t in created}})
    return created
