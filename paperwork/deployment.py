"""Deploying models and 文书 templates together (the 流程部署 page and ``zhifa deploy``):
the .bpmn/.dmn first, so templates are checked against the processes as deployed with
them; a problem in either deploys nothing (the caller's transaction rolls back)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from engine.admin import catalog as modeling
from engine.deploy import repository
from engine.spec.problems import ModelInvalid, Problem
from engine.store.models import User

from . import library, templates
from .models import DocumentTemplate


@dataclass
class TemplateChange:
    key: str
    title: str
    version: int
    previous: int | None


def split(sources: list[repository.Source]) -> tuple[list[repository.Source], list[templates.TemplateFile]]:
    models = [s for s in sources if not templates.is_template(s.name)]
    docs = [templates.from_file(s.name, s.data) for s in sources if templates.is_template(s.name)]
    return models, docs


def as_problems(error: library.TemplatesInvalid) -> ModelInvalid:
    """Template problems in the form the deploy report shows (file, element column = placeholder)."""
    return ModelInvalid([Problem(file, None, placeholder or None, message) for file, placeholder, message
                         in error.problems])


def _changes(session: Session, docs: list[templates.TemplateFile], user: User | None, deployment, source: str
             ) -> list[DocumentTemplate]:
    try:
        return library.deploy(session, docs, user=user, deployment=deployment, source=source)
    except library.TemplatesInvalid as e:
        raise as_problems(e) from None


def deploy(session: Session, sources: list[repository.Source], *, user: User, source: str,
           name: str | None = None) -> tuple[modeling.DeployOutcome | None, list[DocumentTemplate]]:
    """As the web deploys (the deploy permission): ModelInvalid lists every problem of every file."""
    models, docs = split(sources)
    modeling.require_deployer(session, user)
    outcome = modeling.deploy(session, models, user=user, source=source, name=name) if models else None
    return outcome, _changes(session, docs, user, outcome.deployment if outcome else None, source)


def preview(session: Session, sources: list[repository.Source], *, user: User
            ) -> tuple[list[modeling.PreviewItem], list[TemplateChange]]:
    """The versions a deployment would create, without creating them."""
    models, docs = split(sources)
    modeling.require_deployer(session, user)
    savepoint = session.begin_nested()
    try:
        items = modeling.preview(session, models, user=user) if models else []
        if models:  # the templates are checked against the new process versions
            repository.deploy(session, models, source="web", user=user)
        created = _changes(session, docs, user, None, "web")
        changes = [TemplateChange(t.key, t.title, t.version, t.version - 1 or None) for t in created]
    finally:
        savepoint.rollback()
    return items, changes
