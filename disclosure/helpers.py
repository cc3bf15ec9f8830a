"""Model helpers of the 公示 steps (docs/modeling.md), bound to one engine action:

    publication_id = draft_publication('penalty_decision', decision_date, publication_due, {...case fields...})
    publish_publication(publication_id, publication_body)      # after 法制股 approved it
    withdraw_publication(publication_id, '撤销', remedy_decided_on, '……')
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from workdays import calendar

from . import publications
from .models import DECISION_KINDS


def preview(publication) -> str:
    """The masked publication as the reviewer reads it in the task form."""
    content = publications.content_of(publication)
    lines = [publication.title, *(f"{label}：{value}" for label, value in content.get("fields", []))]
    return "\n".join(lines)


def script_helpers(action) -> dict[str, Callable[..., Any]]:
    def _actor() -> str | None:
        return action.user.username if action.user else None

    def draft_publication(kind: str, decided_on, due_on, case: Mapping[str, Any]) -> int:
        if kind not in DECISION_KINDS:
            raise ValueError(f"公示类别应为 {', '.join(DECISION_KINDS)} 之一")
        publication = publications.draft(
            action.session, kind, dict(case), calendar.as_date(decided_on) if decided_on else None,
            calendar.as_date(due_on) if due_on else None, action.instance)
        return publication.id

    def publication_preview(publication_id: int) -> str:
        return preview(publications.get(action.session, publication_id))

    def publication_body(publication_id: int) -> str:
        return publications.content_of(publications.get(action.session, publication_id)).get("text", "")

    def publish_publication(publication_id: int, body: str | None = None) -> None:
        publication = publications.get(action.session, publication_id)
        publications.revise(publication, body)
        publications.publish(action.session, publication, _actor())

    def withdraw_publication(publication_id: int, withdrawal_kind: str, basis_on, reason: str) -> None:
        publication = publications.get(action.session, publication_id)
        publications.withdraw(action.session, publication, withdrawal_kind,
                              calendar.as_date(basis_on) if basis_on else calendar.today(), reason, _actor())

    return {"draft_publication": draft_publication, "publication_preview": publication_preview,
            "publication_body": publication_body, "publish_publication": publish_publication,
            "withdraw_publication": withdraw_publication}
