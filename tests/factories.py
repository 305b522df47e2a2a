"""Builders for the store's rows in tests: one place that knows every column of an account.

Each builder fills the columns a test does not care about with plain defaults and takes the ones
it does as keywords, so a test names only what it asserts on::

    s.add(account("A1", now=clock.now(), balance="1500.00", timezone=None))
    add_account(s, "A1", "+12125550123", now=clock.now(), days_past_due=30)

The rows are returned unsaved (``add_account`` adds them to the session it is given); nothing here
commits. Money is given as a string or a Decimal and stored exactly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TypedDict, Unpack

from sqlalchemy.orm import Session

from store.models import Account, Payment, Phone

#: The conftest clock (2026-11-29 15:00 UTC): the default ``now`` of every builder.
NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
#: Where an import records the consent a number came with (the importer's default source).
IMPORT_CONSENT_SOURCE = "cardholder_agreement"


class AccountFields(TypedDict, total=False):
    """The columns of an :class:`Account` a test may set; see :func:`account` for the defaults."""

    customer_id: str
    name: str
    language: str
    timezone: str | None
    currency: str
    balance: Decimal | str
    minimum_due: Decimal | str
    due_date: date
    days_past_due: int
    card_last4: str
    birth_date: date
    status: str
    balance_as_of: date
    email: str | None
    fees_due: Decimal | str | None
    interest_due: Decimal | str | None


def account(account_id: str, *, now: datetime = NOW, **fields: Unpack[AccountFields]) -> Account:
    """An open account, created and updated at ``now``.

    Defaults: customer_id = account_id, "Jane Doe", en-US, America/New_York, USD, balance 500.00,
    minimum due 35.00, due 2026-10-01, 45 days past due, card ending 4242, born 1980-01-02,
    status open, balance as of ``now``'s date, no email, fees and interest due not known.
    """
    return Account(
        account_id=account_id,
        customer_id=fields.get("customer_id", account_id),
        name=fields.get("name", "Jane Doe"),
        language=fields.get("language", "en-US"),
        timezone=fields.get("timezone", "America/New_York"),
        currency=fields.get("currency", "USD"),
        balance=Decimal(fields.get("balance", "500.00")),
        minimum_due=Decimal(fields.get("minimum_due", "35.00")),
        due_date=fields.get("due_date", date(2026, 10, 1)),
        days_past_due=fields.get("days_past_due", 45),
        card_last4=fields.get("card_last4", "4242"),
        birth_date=fields.get("birth_date", date(1980, 1, 2)),
        status=fields.get("status", "open"),
        balance_as_of=fields.get("balance_as_of", now.date()),
        email=fields.get("email"),
        fees_due=_money_or_none(fields.get("fees_due")),
        interest_due=_money_or_none(fields.get("interest_due")),
        created_at=now,
        updated_at=now,
    )


def _money_or_none(value: Decimal | str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def phone(
    account_id: str,
    number: str,
    *,
    kind: str = "primary",
    voice_consent: bool = True,
    sms_consent: bool = True,
    consent_source: str | None = IMPORT_CONSENT_SOURCE,
    now: datetime = NOW,
) -> Phone:
    """A number of ``account_id``, created at ``now``.

    A channel with consent records ``consent_source`` and ``now`` as where and when it was given,
    as an import does; a channel without consent records neither. ``consent_source=None`` leaves
    both unrecorded even where consent is given.
    """

    def recorded(given: bool) -> tuple[str | None, datetime | None]:
        if given and consent_source is not None:
            return consent_source, now
        return None, None

    voice_source, voice_at = recorded(voice_consent)
    sms_source, sms_at = recorded(sms_consent)
    return Phone(
        account_id=account_id,
        kind=kind,
        number=number,
        voice_consent=voice_consent,
        voice_consent_source=voice_source,
        voice_consent_at=voice_at,
        sms_consent=sms_consent,
        sms_consent_source=sms_source,
        sms_consent_at=sms_at,
        created_at=now,
        updated_at=now,
    )


def add_account(
    session: Session,
    account_id: str,
    number: str,
    *,
    now: datetime = NOW,
    voice_consent: bool = True,
    sms_consent: bool = True,
    consent_source: str | None = IMPORT_CONSENT_SOURCE,
    **fields: Unpack[AccountFields],
) -> Account:
    """An :func:`account` and its primary :func:`phone`, added to ``session`` the way an import
    leaves them (consent from ``consent_source`` at ``now``); returns the account.

    The account is flushed before its phone is added, so the phone's foreign key holds.
    """
    row = account(account_id, now=now, **fields)
    session.add(row)
    session.flush()
    session.add(
        phone(
            account_id,
            number,
            voice_consent=voice_consent,
            sms_consent=sms_consent,
            consent_source=consent_source,
            now=now,
        )
    )
    return row


def payment(
    payment_id: str,
    account_id: str,
    amount: Decimal | str,
    *,
    paid_on: date,
    paid_at: datetime | None = None,
    created_at: datetime | None = None,
    currency: str | None = None,
) -> Payment:
    """A payment of ``amount`` on ``paid_on`` (``currency`` None: the account's).

    ``paid_at`` defaults to noon UTC of ``paid_on``; ``created_at`` (when it was imported)
    defaults to ``paid_at``.
    """
    at = paid_at if paid_at is not None else datetime.combine(paid_on, time(12, 0), tzinfo=UTC)
    return Payment(
        payment_id=payment_id,
        account_id=account_id,
        amount=Decimal(amount),
        paid_at=at,
        paid_on=paid_on,
        currency=currency,
        created_at=created_at if created_at is not None else at,
    )
