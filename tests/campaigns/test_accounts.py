"""cardholder_contact reads in one statement what can_text and text_number read in several."""

from __future__ import annotations

import pytest

from campaigns.accounts import can_text, cardholder_contact, text_number
from campaigns.suppressions import add_suppression, remove_suppression
from store.clock import FixedClock
from store.db import Database
from tests import factories

PRIMARY, ALT, STRANGER = "+12125550101", "+12125550102", "+12125550199"


def _suppress(db: Database, clock: FixedClock, kind: str, **target: str) -> None:
    with db.session() as s:
        add_suppression(
            s, kind=kind, reason="test", actor="test", source="test", now=clock.now(), **target
        )


@pytest.fixture
def account(db: Database, clock: FixedClock) -> str:
    with db.session() as s:
        factories.add_account(s, "A1", PRIMARY, now=clock.now())
        s.add(factories.phone("A1", ALT, kind="alt", now=clock.now()))
    return "A1"


def _agree(db: Database, clock: FixedClock, account: str, caller: str | None) -> bool:
    """cardholder_contact's answer, checked against the one-fact-at-a-time readers."""
    with db.session(readonly=True) as s:
        contact = cardholder_contact(s, account, caller, now=clock.now())
        assert contact is not None
        texted = text_number(s, account, caller)
        assert contact.text_number == texted
        assert contact.can_text == can_text(s, account, texted)
        assert contact.cardholder.primary_number == PRIMARY
        return contact.can_text


def test_a_text_may_go_until_a_suppression_on_its_number_or_the_account(
    db: Database, clock: FixedClock, account: str
) -> None:
    assert _agree(db, clock, account, ALT)
    assert _agree(db, clock, account, STRANGER)  # texted at the primary number
    # Another of the account's numbers opted out: the one texted is still free.
    _suppress(db, clock, "optout-sms", number=PRIMARY)
    assert _agree(db, clock, account, ALT)
    assert not _agree(db, clock, account, STRANGER)
    # A voice opt-out stops no text.
    _suppress(db, clock, "optout-voice", number=ALT)
    assert _agree(db, clock, account, ALT)
    # Cease on the account stops every number, until it is lifted.
    _suppress(db, clock, "cease", account_id=account)
    assert not _agree(db, clock, account, ALT)
    with db.session() as s:
        remove_suppression(
            s, kind="cease", account_id=account, reason="t", actor="t", now=clock.now()
        )
    assert _agree(db, clock, account, ALT)


def test_no_sms_consent_no_text_and_an_unknown_account_is_none(
    db: Database, clock: FixedClock
) -> None:
    with db.session() as s:
        factories.add_account(s, "A2", PRIMARY, now=clock.now(), sms_consent=False)
    assert not _agree(db, clock, "A2", PRIMARY)
    with db.session(readonly=True) as s:
        assert cardholder_contact(s, "nobody", PRIMARY, now=clock.now()) is None
