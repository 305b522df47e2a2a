"""The cardholder's local date: one rule, read the same by the promise lifecycle, the dialer's
eligibility check and the IVR.

Before it was one rule there were three: dispatch and launch used the UTC date, the promise
lifecycle the declared zone else UTC, the IVR the declared zone else the phone's. At 20:30 in
New York (01:30 UTC the next day) they disagreed about "today".
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from campaigns.accounts import cardholder
from campaigns.config import SegmentSettings
from campaigns.localtime import cardholder_today, cardholder_zone, earliest_today
from campaigns.promises import PromiseCounts, evaluate_promises
from campaigns.segments import still_eligible
from store.db import Database
from store.models import Account, Promise
from tests import factories

NEW_YORK_NUMBER = "+12125550123"
SHANGHAI_NUMBER = "+8613800138000"
# 20:30 on Thursday 3 December in New York: already Friday the 4th in UTC.
EVENING_IN_NEW_YORK = datetime(2026, 12, 4, 1, 30, tzinfo=UTC)


def test_the_zone_is_the_declared_one_else_the_numbers_else_utc() -> None:
    assert cardholder_zone("Asia/Shanghai", NEW_YORK_NUMBER) == ZoneInfo("Asia/Shanghai")
    assert cardholder_zone(None, NEW_YORK_NUMBER) == ZoneInfo("America/New_York")
    assert cardholder_zone("Not/A_Zone", SHANGHAI_NUMBER) == ZoneInfo("Asia/Shanghai")
    assert cardholder_zone(None, None) == ZoneInfo("UTC")
    assert cardholder_zone(None, "+999123") == ZoneInfo("UTC")


def test_an_evening_in_new_york_is_still_that_day_for_its_cardholder() -> None:
    assert EVENING_IN_NEW_YORK.date() == date(2026, 12, 4)
    assert cardholder_today(EVENING_IN_NEW_YORK, None, NEW_YORK_NUMBER) == date(2026, 12, 3)
    assert cardholder_today(EVENING_IN_NEW_YORK, None, SHANGHAI_NUMBER) == date(2026, 12, 4)
    # A bulk query compares with the earliest date anyone lives in (UTC-12).
    assert earliest_today(EVENING_IN_NEW_YORK) == date(2026, 12, 3)


def _account_with_promise(db: Database, *, due: date) -> None:
    with db.session() as s:
        factories.add_account(s, "A1", NEW_YORK_NUMBER, timezone=None, balance="1500.00")
        s.add(
            Promise(
                account_id="A1",
                customer_id="A1",
                promised_date=due,
                amount=Decimal("600.00"),
                currency="USD",
                status="open",
                source="ivr",
                created_at=datetime(2026, 11, 29, 15, 0, tzinfo=UTC),
                created_by="ivr",
            )
        )


def test_a_promise_in_its_last_day_of_grace_in_new_york_is_not_broken_by_utcs_tomorrow(
    db: Database,
) -> None:
    # Due 1 December, two days of grace: the 3rd is the last day. The account declares no zone;
    # its number is New York's. The lifecycle once read the date in UTC (the 4th) and broke it.
    _account_with_promise(db, due=date(2026, 12, 1))
    with db.session() as s:
        assert evaluate_promises(s, now=EVENING_IN_NEW_YORK, grace_days=2) == PromiseCounts(
            still_open=1
        )
    with db.session() as s:
        later = datetime(2026, 12, 4, 5, 30, tzinfo=UTC)  # 00:30 on the 4th in New York
        assert evaluate_promises(s, now=later, grace_days=2) == PromiseCounts(broken=1)


def test_an_open_promise_keeps_its_account_out_until_the_lifecycle_breaks_it(
    db: Database,
) -> None:
    # Due 1 December, two days of grace. In its grace days (the 3rd, in New York, already the 4th
    # in UTC) the promise is still open and its account is not reminded, whatever the date; on
    # the 4th in New York the lifecycle breaks it and the account may be called again.
    _account_with_promise(db, due=date(2026, 12, 1))
    segment = SegmentSettings()
    with db.session() as s:
        evaluate_promises(s, now=EVENING_IN_NEW_YORK, grace_days=2)
    with db.session(readonly=True) as s:
        assert still_eligible(s, segment, s.get_one(Account, "A1")) == "promised"
    with db.session() as s:
        later = datetime(2026, 12, 4, 5, 30, tzinfo=UTC)  # 00:30 on the 4th in New York
        assert evaluate_promises(s, now=later, grace_days=2) == PromiseCounts(broken=1)
    with db.session(readonly=True) as s:
        assert still_eligible(s, segment, s.get_one(Account, "A1")) is None


def test_the_ivr_reads_the_same_today(db: Database) -> None:
    _account_with_promise(db, due=date(2026, 12, 3))
    with db.session(readonly=True) as s:
        seen = cardholder(s, "A1", now=EVENING_IN_NEW_YORK)
    assert seen is not None
    assert (seen.zone, seen.today) == ("America/New_York", date(2026, 12, 3))


def test_a_promise_made_at_2030_in_new_york_for_today_and_paid_that_day_is_kept(
    db: Database,
) -> None:
    # Made at 20:30 on the 3rd in New York (01:30 UTC on the 4th) for the 3rd, paid on the 3rd:
    # the lifecycle counts payments from the day the promise was made, in the cardholder's
    # calendar. In UTC's the promise was made on the 4th and the payment did not count.
    with db.session() as s:
        factories.add_account(s, "A1", NEW_YORK_NUMBER, timezone=None, balance="1500.00")
        s.add(
            Promise(
                account_id="A1",
                customer_id="A1",
                promised_date=date(2026, 12, 3),
                amount=Decimal("100.00"),
                currency="USD",
                status="open",
                source="ivr",
                created_at=EVENING_IN_NEW_YORK,
                created_by="ivr",
            )
        )
        s.add(factories.payment("P1", "A1", "100.00", paid_on=date(2026, 12, 3)))
    with db.session() as s:
        later = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
        assert evaluate_promises(s, now=later, grace_days=2) == PromiseCounts(kept=1)
