"""The JSON API's bearer tokens: the one writer of ``api_tokens``.

A token is ``dc_`` followed by 32 random bytes (``secrets.token_urlsafe``), shown once when it
is created; only its SHA-256 is stored. With 256 bits of entropy there is nothing for a slow
hash to slow down, and a plain digest lets a request find its token through the unique index
on ``token_hash`` instead of trying every row. The digest found is compared again with
``hmac.compare_digest`` so the answer does not depend on how many leading characters matched.
Revoking stamps ``revoked_at``; the row stays so the audit trail's ``api:NAME`` keeps its owner.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from desk.errors import TokenError
from store.audit import record_audit
from store.models_api import ApiToken

#: The prefix makes a leaked token recognisable to secret scanners and to people.
PREFIX = "dc_"
MAX_NAME = 64


def token_hash(token: str) -> str:
    """The stored form of ``token``: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str, *, now: datetime, actor: str) -> str:
    """Create the token called ``name`` and return it (the only time it exists in clear).

    Raises :class:`TokenError` for a blank or overlong name, or one already used (revoked
    tokens keep their names, so the audit trail stays unambiguous)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or any(c.isspace() and c != " " for c in name):
        raise TokenError(f"name must be 1 to {MAX_NAME} characters on one line")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise TokenError(f"a token called {name!r} exists already (names are never reused)")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=token_hash(token), created_at=now, created_by=actor[:64])
    session.add(row)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        action="api_token.create",
        entity_type="api_token",
        entity_id=name,
    )
    return token


def all_tokens(session: Session) -> Sequence[ApiToken]:
    """Every token, oldest first (their hashes are on the rows; show only the names)."""
    return session.scalars(select(ApiToken).order_by(ApiToken.id)).all()


def revoke_token(session: Session, name: str, *, now: datetime, actor: str) -> ApiToken:
    """Revoke the token called ``name`` at once. Raises :class:`TokenError` when there is no
    such token or it is revoked already."""
    row = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise TokenError(f"no token called {name!r}")
    if row.revoked_at is not None:
        raise TokenError(f"token {name!r} was revoked at {row.revoked_at:%Y-%m-%d %H:%M} UTC")
    row.revoked_at = now
    record_audit(
        session,
        at=now,
        actor=actor,
        action="api_token.revoke",
        entity_type="api_token",
        entity_id=name,
    )
    return row


def authenticate(session: Session, presented: str, *, now: datetime) -> str | None:
    """The name of the live token ``presented`` is, stamping its ``last_used_at``; None for an
    unknown or revoked token."""
    digest = token_hash(presented)
    row = session.execute(
        select(ApiToken.id, ApiToken.name, ApiToken.token_hash).where(
            ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)
        )
    ).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return str(row.name)
