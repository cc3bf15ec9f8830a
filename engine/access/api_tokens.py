"""Bearer tokens for the Camunda REST subset (/engine-rest), one user each.

Only a SHA-256 of a token is stored; the token itself is shown once, when created
(``zhifa tokens create --as USER``). A token acts as its user: the same permissions,
revoked with the user (an inactive user's tokens stop working) or on its own.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.access.identity import NotPermitted
from engine.store.models import Base, User, utcnow

PREFIX = "zf_"


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # first characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class TokenNotFound(LookupError):
    pass


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user``: (row, the token text — shown once, never stored)."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name.strip()[:200], token_hash=_hash(token), hint=token[:10])
    session.add(row)
    session.flush()
    return row, token


def authenticate(session: Session, token: str) -> User | None:
    """The active user holding this unrevoked token, else None."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token), ApiToken.revoked_at.is_(None)))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke(session: Session, token_id: int, user: User) -> ApiToken:
    """Revoke one of ``user``'s own tokens."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise TokenNotFound(f"令牌 {token_id} 不存在")
    if row.user_id != user.id:
        raise NotPermitted("只能吊销自己的令牌")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row
