"""API tokens: created once in clear, stored as a hash, found by it, revoked for good."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from desk.errors import TokenError
from desk.tokens import PREFIX, authenticate, create_token, revoke_token
from store.clock import FixedClock
from store.db import Database
from store.models import AuditLog
from store.models_api import ApiToken


def test_a_token_is_shown_once_and_only_its_sha256_is_stored(
    db: Database, clock: FixedClock
) -> None:
    with db.session() as s:
        token = create_token(s, "crm", now=clock.now(), actor="ops")
    assert token.startswith(PREFIX) and len(token) > 40
    with db.session(readonly=True) as s:
        row = s.scalars(select(ApiToken)).one()
        actions = s.scalars(select(AuditLog.action)).all()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert (row.name, row.created_by, row.created_at) == ("crm", "ops", clock.now())
    assert actions == ["api_token.create"]


def test_two_tokens_are_never_the_same(db: Database, clock: FixedClock) -> None:
    with db.session() as s:
        first = create_token(s, "crm", now=clock.now(), actor="ops")
        second = create_token(s, "feed", now=clock.now(), actor="ops")
    assert first != second


def test_authenticate_names_the_live_token_and_stamps_its_use(
    db: Database, clock: FixedClock
) -> None:
    with db.session() as s:
        token = create_token(s, "crm", now=clock.now(), actor="ops")
    later = clock.now() + timedelta(hours=1)
    with db.session() as s:
        assert authenticate(s, token, now=later) == "crm"
        assert authenticate(s, token + "x", now=later) is None
        assert authenticate(s, "", now=later) is None
    with db.session(readonly=True) as s:
        assert s.scalars(select(ApiToken.last_used_at)).one() == later


def test_a_revoked_token_no_longer_authenticates_and_its_name_is_not_reused(
    db: Database, clock: FixedClock
) -> None:
    with db.session() as s:
        token = create_token(s, "crm", now=clock.now(), actor="ops")
    with db.session() as s:
        revoke_token(s, "crm", now=clock.now(), actor="ops")
    with db.session() as s:
        assert authenticate(s, token, now=clock.now()) is None
        with pytest.raises(TokenError, match="revoked"):
            revoke_token(s, "crm", now=clock.now(), actor="ops")
        with pytest.raises(TokenError, match="exists already"):
            create_token(s, "crm", now=clock.now(), actor="ops")
        with pytest.raises(TokenError, match="no token"):
            revoke_token(s, "nobody", now=clock.now(), actor="ops")


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "two\nlines"])
def test_a_bad_name_is_refused(db: Database, clock: FixedClock, name: str) -> None:
    with db.session() as s, pytest.raises(TokenError, match="name must be"):
        create_token(s, name, now=clock.now(), actor="ops")
