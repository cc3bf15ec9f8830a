"""What the menus of every page show: the 待办 and 通知 counts, 督办 and 无法记录 approvals awaiting
the user, the permissions that open 流程监控, 流程部署 and 组织机构, and the versions of the names
the page shows (engine/store/versioned.py) — one statement (engine/store/combined.py), in the
request's reading session."""
from __future__ import annotations

from datetime import datetime

from flask import g
from flask_login import current_user
from sqlalchemy.orm import Session

from engine.access import identity
from engine.inbox import notices, tasks
from engine.store import combined, versioned
from engine.store.models import User
from monitoring import oversight
from recording import evidence

from .database import get_db


def read(session: Session, user: User, now: datetime | None = None) -> dict:
    counts, unread, oversight_open, evidence_pending, granted, catalog = combined.read(
        session, tasks.counts_part(user, now), notices.unread_part(user), oversight.open_part(user),
        evidence.pending_part(user), identity.permissions_part(user), versioned.part())
    nav_counts = tasks.count_values(counts)
    return {"inbox_count": nav_counts["mine"] + nav_counts["group"], "nav_counts": nav_counts,
            "unread_notices": combined.count(unread), "permissions": identity.permissions_from(granted),
            # counted in 其他待办: 督办 notices awaiting the user's answer, 无法记录情况说明 their approval
            "oversight_open": combined.count(oversight_open), "evidence_pending": combined.count(evidence_pending),
            "catalog_versions": versioned.versions_from(catalog)}


def current() -> dict:
    """The logged-in user's menus, read once per request: by the page's context processor, or
    earlier by a page that skips a list whose count is 0 (only by one that writes nothing: read
    before a write, the counts would be those before it)."""
    if "zhifa_menus" not in g:
        with get_db().reading() as session:
            shown = read(session, current_user.user)
        g.zhifa_versions = shown.pop("catalog_versions")  # (for the names the page shows: filters.py)
        g.zhifa_menus = shown
    return g.zhifa_menus
