"""Validating one import row: an accounts row into an account and its phones, a payments row
into a payment, or rejects on the row.

What the columns are, which are required and how they relate (a minimum due above the balance,
an implausible age, consent defaults for the primary and alternate numbers) is decided here;
reading the values is :mod:`campaigns.import_fields`' job and storing them
:mod:`campaigns.import_store`'s.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from campaigns.import_fields import (
    Row,
    parse_bool,
    parse_date,
    parse_identifier,
    parse_money,
    parse_phone,
    parse_text,
    parse_timestamp,
)
from store.models import ACCOUNT_STATUSES

__all__ = [
    "ACCOUNT_COLUMNS",
    "ACCOUNT_OPTIONAL_COLUMNS",
    "CURRENCIES",
    "PAYMENT_COLUMNS",
    "PAYMENT_OPTIONAL_COLUMNS",
    "ImportOptions",
    "validate_account",
    "validate_payment",
]

ACCOUNT_COLUMNS = (
    "account_id",
    "name",
    "phone",
    "language",
    "timezone",
    "balance",
    "minimum_due",
    "due_date",
    "days_past_due",
    "card_last4",
    "birth_date",
)
ACCOUNT_OPTIONAL_COLUMNS = (
    "customer_id",
    "status",
    "balance_as_of",
    "alt_phone",
    "email",
    "sms_consent",
    "voice_consent",
    "currency",
    # Added for concessions: the late fees and the interest included in the balance, which a
    # fee or interest waiver is computed against; empty or absent: not known.
    "fees_due",
    "interest_due",
)
PAYMENT_COLUMNS = ("payment_id", "account_id", "amount", "paid_at")
#: ``currency``: ISO 4217; empty or absent: the account's. A payment in another currency than a
#: repayment plan's is not applied to it (campaigns.plans) and is reported.
PAYMENT_OPTIONAL_COLUMNS = ("currency",)

# ISO 4217 currencies with two minor units that the money columns can hold exactly.
CURRENCIES = frozenset(
    "AUD CAD CHF CNY EUR GBP HKD MOP MXN NZD SGD TWD USD".split()  # noqa: SIM905
)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class ImportOptions:
    """What the import needs from the settings (``import`` section of config.yaml)."""

    batch_size: int = 500
    default_region: str = "US"
    default_currency: str = "USD"
    default_voice_consent: bool = True
    default_sms_consent: bool = True
    consent_source: str = "cardholder_agreement"
    min_age_years: int = 18
    max_age_years: int = 120
    languages: tuple[str, ...] = ("en-US", "zh-CN")


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


# --------------------------------------------------------------------------- accounts


#: Compiled once: this runs on every row of a file of millions.
_LAST4_RE = re.compile(r"\d{4}")


@dataclass(frozen=True)
class _ConsentValue:
    given: bool
    source: str | None


def validate_account(
    row: Row, options: ImportOptions, today: date
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The ``accounts`` row and its ``phones`` rows for ``row``; None when it has rejects."""
    account_id = parse_identifier(row, "account_id")
    customer_id = parse_identifier(row, "customer_id", required=False) or account_id
    name = parse_text(row, "name")
    language = parse_text(row, "language", max_len=8)
    if language is not None and language not in options.languages:
        row.reject("language", f"must be one of {', '.join(options.languages)}")
    tz = parse_text(row, "timezone", required=False, max_len=64)
    if tz is not None and (tz not in _zones() or tz.startswith(("Etc/Unknown", "Factory"))):
        row.reject("timezone", "not an IANA time zone name such as America/New_York")
    balance = parse_money(row, "balance")
    minimum_due = parse_money(row, "minimum_due")
    if balance is not None and minimum_due is not None and minimum_due > balance:
        row.reject("minimum_due", "greater than the balance")
    fees_due = parse_money(row, "fees_due", required=False)
    interest_due = parse_money(row, "interest_due", required=False)
    for column, part in (("fees_due", fees_due), ("interest_due", interest_due)):
        if balance is not None and part is not None and part > balance:
            row.reject(column, "greater than the balance")
    due_date = parse_date(row, "due_date")
    dpd_raw = parse_text(row, "days_past_due", max_len=6)
    dpd = None
    if dpd_raw is not None:
        if dpd_raw.isdigit():
            dpd = int(dpd_raw)
        else:
            row.reject("days_past_due", "must be a whole number of days, 0 or more")
    last4 = parse_text(row, "card_last4", max_len=8)
    if last4 is not None and not _LAST4_RE.fullmatch(last4):
        row.reject("card_last4", "must be exactly 4 digits")
    birth = parse_date(row, "birth_date")
    if birth is not None:
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        if birth > today:
            row.reject("birth_date", "in the future")
        elif not options.min_age_years <= age <= options.max_age_years:
            row.reject(
                "birth_date",
                f"implausible: age {age} is outside "
                f"{options.min_age_years}-{options.max_age_years}",
            )
    status = (parse_text(row, "status", required=False, max_len=16) or "open").lower()
    if status not in ACCOUNT_STATUSES:
        row.reject("status", f"must be one of {', '.join(ACCOUNT_STATUSES)}")
    as_of = parse_date(row, "balance_as_of", required=False) or today
    if as_of > today:
        row.reject("balance_as_of", "in the future")
    email = parse_text(row, "email", required=False, max_len=254)
    if email is not None and not _EMAIL_RE.match(email):
        row.reject("email", "not an e-mail address")
    currency = parse_text(row, "currency", required=False, max_len=3) or options.default_currency
    currency = currency.upper()
    if currency not in CURRENCIES:
        row.reject("currency", f"unsupported; one of {', '.join(sorted(CURRENCIES))}")
    phone = parse_phone(row, "phone", options.default_region)
    alt_phone = parse_phone(row, "alt_phone", options.default_region, required=False)
    if phone is not None and alt_phone == phone:
        row.reject("alt_phone", "same number as phone")
    sms = parse_bool(row, "sms_consent")
    voice = parse_bool(row, "voice_consent")

    if row.errors:
        return None
    account = {
        "account_id": account_id,
        "customer_id": customer_id,
        "name": name,
        "language": language,
        "timezone": tz,
        "currency": currency,
        "balance": balance,
        "minimum_due": minimum_due,
        "due_date": due_date,
        "days_past_due": dpd,
        "card_last4": last4,
        "birth_date": birth,
        "status": status,
        "balance_as_of": as_of,
        "email": email,
        "fees_due": fees_due,
        "interest_due": interest_due,
    }

    def consent(explicit: bool | None, default: bool) -> _ConsentValue:
        if explicit is not None:
            return _ConsentValue(explicit, "account_file")
        return _ConsentValue(default, options.consent_source if default else None)

    phones = [
        _phone_row(
            account_id,
            "primary",
            phone,
            consent(voice, options.default_voice_consent),
            consent(sms, options.default_sms_consent),
        )
    ]
    if alt_phone is not None:
        # An alternate number carries no default consent: only what the file says (TCPA).
        phones.append(
            _phone_row(
                account_id,
                "alt",
                alt_phone,
                consent(voice, False),
                consent(sms, False),
            )
        )
    return account, phones


def _phone_row(
    account_id: str | None,
    kind: str,
    number: str | None,
    voice: _ConsentValue,
    sms: _ConsentValue,
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "kind": kind,
        "number": number,
        "voice_consent": voice.given,
        "voice_consent_source": voice.source,
        "sms_consent": sms.given,
        "sms_consent_source": sms.source,
    }


# --------------------------------------------------------------------------- payments


def validate_payment(row: Row, now: datetime) -> dict[str, Any] | None:
    """The ``payments`` row for ``row``; None when it has rejects. Whether the account exists
    and whether the id is already recorded are checked against the database when it is stored."""
    payment_id = parse_identifier(row, "payment_id")
    account_id = parse_identifier(row, "account_id")
    amount = parse_money(row, "amount", positive=True)
    paid = parse_timestamp(row, "paid_at")
    if paid is not None and paid[0].date() > now.date() and paid[1] > now.date():
        row.reject("paid_at", "in the future")
    currency = parse_text(row, "currency", required=False, max_len=3)
    if currency:
        currency = currency.upper()
        if currency not in CURRENCIES:
            row.reject("currency", f"unsupported; one of {', '.join(sorted(CURRENCIES))}")
    if row.errors or paid is None:
        return None
    return {
        "payment_id": payment_id,
        "account_id": account_id,
        "amount": amount,
        "paid_at": paid[0],
        "paid_on": paid[1],
        "currency": currency or None,
    }
