"""The JSON API's bearer tokens (docs/desk.md, "JSON API").

Only a SHA-256 of each token is stored: the token is 32 random bytes, so a plain hash is as
good as a slow one (nothing to guess) and lets a request find its token by an indexed lookup.
The writer is :mod:`desk.tokens`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base
from store.types import UTCDateTime


class ApiToken(Base):
    """A named token for the bank's systems; revoked tokens are kept (stamped ``revoked_at``)
    so the audit trail's ``api:NAME`` still says whose it was."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: Hex SHA-256 of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
