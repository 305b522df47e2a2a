"""``decide`` against a second, deliberately naive implementation of the same rules.

The oracle below shares no code with dialer/policy.py or dialer/timezones.py: it asks
libphonenumber for the zones, reads each zone's wall clock in seconds of the day, counts the raw
attempt list per zone and local date, and finds the next opening by stepping one minute at a time.
Random accounts (numbers with one, two, four and 42 zones, an invalid one, declared zones good and
bad), random clocks (DST days in New York, London and Sydney among them) and random histories
must get the same ``allowed``, ``rule`` and -- for window denials -- ``next_allowed_at``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

import phonenumbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import timezone as phone_timezone

from dialer.policy import Attempt, ContactFacts, ContactHistory, PolicyProfile, decide

T = TypeVar("T")

NUMBERS = (
    "+12125550100",  # America/New_York
    "+13105550100",  # America/Los_Angeles
    "+16025550100",  # America/Phoenix (no DST)
    "+12085550123",  # America/Boise + America/Los_Angeles
    "+18085550100",  # Pacific/Honolulu
    "+19075550100",  # America/Adak + America/Anchorage
    "+8613800138000",  # Asia/Shanghai
    "+61291234567",  # Australia/Sydney
    "+442071234567",  # Europe/London
    "+447911123456",  # four British zones
    "+919876543210",  # Asia/Calcutta, UTC+5:30
    "+9779841234567",  # Asia/Katmandu, UTC+5:45
    "+18005550100",  # toll-free: 42 zones
    "+15555555555",  # invalid: Etc/Unknown
)
SINGLE_ZONE = ("+12125550100", "+16025550100", "+8613800138000", "+61291234567", "+919876543210")
DECLARED = (
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Shanghai",
    "Australia/Sydney",
    "Pacific/Honolulu",
    "Mars/Olympus",
    "Etc/Unknown",
)
GOOD_DECLARED = frozenset(DECLARED[:5])
SPECIAL_DAYS = (
    date(2026, 3, 8),  # US spring forward
    date(2026, 11, 1),  # US fall back
    date(2026, 3, 29),  # EU spring forward
    date(2026, 10, 25),  # EU fall back
    date(2026, 4, 5),  # Sydney fall back
    date(2026, 10, 4),  # Sydney spring forward
)
STATUSES = ("closed", "charged_off", "recalled", "bankrupt", "deceased")
KINDS = ("optout-voice", "optout-sms", "dnc", "cease", "dispute")


class Pick(Protocol):
    def choice(self, options: Sequence[T]) -> T: ...
    def integer(self, lo: int, hi: int) -> int: ...
    def chance(self, percent: int) -> bool: ...


class HypothesisPick:
    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def choice(self, options: Sequence[T]) -> T:
        return self.data.draw(st.sampled_from(options))

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi))

    def chance(self, percent: int) -> bool:
        return self.data.draw(st.integers(0, 99)) < percent


class RandomPick:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def choice(self, options: Sequence[T]) -> T:
        return self.rng.choice(options)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def chance(self, percent: int) -> bool:
        return self.rng.randrange(100) < percent


@dataclass
class Case:
    number: str
    declared: str | None
    channel: str
    status: str
    suppressions: frozenset[str]
    consent: bool
    country: str | None
    callback_at: datetime | None
    callback_requested_at: datetime | None
    now: datetime
    attempts: list[tuple[datetime, str, str, str, bool]]  # at, channel, number, account, connected
    profile: dict[str, Any] = field(default_factory=dict)

    def facts(self) -> ContactFacts:
        return ContactFacts(
            channel=self.channel,  # type: ignore[arg-type]
            account_id="A1",
            customer_id="C1",
            number=self.number,
            declared_timezone=self.declared,
            account_status=self.status,
            consent=self.consent,
            suppressions=self.suppressions,
            country=self.country,
            consented_callback_at=self.callback_at,
            consented_callback_requested_at=self.callback_requested_at,
        )

    def history(self) -> ContactHistory:
        return ContactHistory(
            tuple(
                Attempt(at=at, channel=ch, number=num, account_id=acct, connected=conn)  # type: ignore[arg-type]
                for at, ch, num, acct, conn in self.attempts
            )
        )

    def policy(self) -> PolicyProfile:
        return PolicyProfile.named(**self.profile)


def draw_case(pick: Pick, *, daytime: bool = False) -> Case:
    number = pick.choice(SINGLE_ZONE if daytime else NUMBERS)
    declared = None if daytime or pick.chance(75) else pick.choice(DECLARED)
    day = (
        pick.choice(SPECIAL_DAYS)
        if pick.chance(50)
        else date(2026, 1, 1) + timedelta(days=pick.integer(0, 364))
    )
    if daytime:
        # 09:00-19:59 on the number's own wall clock.
        zone = ZoneInfo(phone_timezone.time_zones_for_number(phonenumbers.parse(number))[0])
        wall = datetime.combine(day, time(pick.integer(9, 19), pick.integer(0, 59)))
        now = wall.replace(tzinfo=zone).astimezone(UTC)
    elif number != "+15555555555" and pick.chance(30):
        # Near an edge of the window in one of the number's zones: 08:00, 20:50-ish or 21:00.
        zones = phone_timezone.time_zones_for_number(phonenumbers.parse(number))
        zone = ZoneInfo(pick.choice(zones))
        edge = datetime.combine(day, time(pick.choice((8, 20, 21, 22)), pick.choice((0, 30, 50))))
        wall = edge + timedelta(minutes=pick.integer(-3, 3))
        now = wall.replace(tzinfo=zone).astimezone(UTC)
    else:
        now = datetime.combine(day, time(0), tzinfo=UTC) + timedelta(minutes=pick.integer(0, 1439))
    if pick.chance(20):
        now += timedelta(seconds=pick.integer(1, 59))
    channel = "voice" if pick.chance(75) else "sms"
    attempts = []
    # Sparse histories spread over ten days, or dense ones within the last day and a half (so
    # the per-day caps are reached too).
    dense = pick.chance(50)
    reach = 36 * 60 if dense else 10 * 24 * 60
    for _ in range(pick.integer(0, 16 if dense else 12)):
        attempts.append(
            (
                now - timedelta(minutes=pick.integer(1, reach)),
                "voice" if pick.chance(85) else "sms",
                number if pick.chance(70) else "+12125550199",
                "A1" if pick.chance(75) else "A2",
                pick.chance(35 if dense else 20),
            )
        )
    if pick.chance(20):
        # A burst of unanswered calls to this number within the last twelve hours.
        for _ in range(pick.integer(3, 8)):
            attempts.append(
                (now - timedelta(minutes=pick.integer(1, 12 * 60)), "voice", number, "A2", False)
            )
    callback_at = callback_requested_at = None
    if pick.chance(15):
        callback_at = now - timedelta(minutes=pick.integer(-10, 45))
        if pick.chance(50):
            callback_requested_at = now - timedelta(days=pick.integer(0, 9))
    profile: dict[str, Any] = {
        "name": pick.choice(("us_reg_f", "cn_cba")),
        "margin_minutes": pick.choice((0, 10, 15, 30)),
        "callback_overrides_window": pick.chance(20),
    }
    if pick.chance(15):
        profile["holidays"] = {"US": [(now + timedelta(days=pick.integer(-1, 1))).date()]}
    return Case(
        number=number,
        declared=declared,
        channel=channel,
        status="open" if daytime or pick.chance(90) else pick.choice(STATUSES),
        suppressions=frozenset(kind for kind in KINDS if pick.chance(4)),
        consent=pick.chance(95),
        country="US" if pick.chance(50) else None,
        callback_at=callback_at,
        callback_requested_at=callback_requested_at,
        now=now,
        attempts=attempts,
        profile=profile,
    )


# --- the oracle -------------------------------------------------------------------------------

# How far the oracle steps looking for the next opening; FAR stands for "not within that".
ORACLE_DAYS = 14
FAR = datetime.max.replace(tzinfo=UTC)


def oracle(case: Case) -> tuple[bool, str, datetime | None]:
    """(allowed, rule, next opening for window denials) by the plainest reading of the rules."""
    p = case.policy()
    if case.status != "open":
        return False, "account_status", None
    for kind in ("cease", "dispute", "dnc"):
        if kind in case.suppressions:
            return False, kind, None
    if "optout-" + case.channel in case.suppressions:
        return False, "optout_" + case.channel, None
    if not case.consent:
        return False, "no_consent", None

    names = []
    if case.declared is not None:
        if case.declared not in GOOD_DECLARED:
            return False, "tz_unknown", None
        names.append(case.declared)
    try:
        found = phone_timezone.time_zones_for_number(phonenumbers.parse(case.number))
    except phonenumbers.NumberParseException:
        found = ("Etc/Unknown",)
    if not found or "Etc/Unknown" in found:
        return False, "tz_unknown", None
    names += list(found)
    zones = [ZoneInfo(name) for name in names]

    start = p.window_start.hour * 3600 + p.window_start.minute * 60
    end = p.window_end.hour * 3600 + p.window_end.minute * 60
    close = end - p.margin_minutes * 60
    holidays = set(p.holidays.get(case.country, ())) if case.country else set()

    def seconds(moment: datetime, zone: ZoneInfo) -> int:
        w = moment.astimezone(zone)
        return w.hour * 3600 + w.minute * 60 + w.second

    def open_at(moment: datetime) -> bool:
        return all(
            start <= seconds(moment, z) < close and moment.astimezone(z).date() not in holidays
            for z in zones
        )

    cb = case.callback_at
    callback = (
        case.channel == "voice"
        and cb is not None
        and cb <= case.now < cb + timedelta(minutes=p.callback_grace_minutes)
        and (
            case.callback_requested_at is None
            or case.now - case.callback_requested_at <= timedelta(days=7)
        )
    )

    if not (callback and p.callback_overrides_window):
        clocks = [seconds(case.now, z) for z in zones]
        rule = None
        if any(s < start or s >= end for s in clocks):
            rule = "window"
        elif any(s >= close for s in clocks):
            rule = "window_margin"
        if rule:
            # Step one minute at a time (every zone offset in the pool is whole minutes).
            moment = case.now.replace(second=0) + timedelta(minutes=1)
            for _ in range(ORACLE_DAYS * 24 * 60):
                if open_at(moment):
                    return False, rule, moment
                moment += timedelta(minutes=1)
            return False, rule, FAR

    if any(case.now.astimezone(z).date() in holidays for z in zones):
        return False, "holiday", None

    if case.channel == "voice":
        voice = [a for a in case.attempts if a[1] == "voice"]
        debt = [a for a in voice if a[3] == "A1"]

        def local_day(moment: datetime, zone: ZoneInfo) -> date:
            return moment.astimezone(zone).date()

        violated = []
        for z in zones:
            today = local_day(case.now, z)
            if p.max_calls_in_period is not None:
                n = sum(1 for a in debt if 0 <= (today - local_day(a[0], z)).days < 7)
                if n >= p.max_calls_in_period:
                    violated.append("cap_7_in_7")
            if p.no_call_days_after_conversation is not None and any(
                a[4] and (today - local_day(a[0], z)).days < 7 for a in debt
            ):
                violated.append("after_conversation_7d")
            if p.max_connected_calls_per_day is not None:
                n = sum(1 for a in voice if a[4] and local_day(a[0], z) == today)
                if n >= p.max_connected_calls_per_day:
                    violated.append("cn_connected_per_day")
            if p.max_attempts_per_number_per_day is not None:
                n = sum(1 for a in voice if a[2] == case.number and local_day(a[0], z) == today)
                if n >= p.max_attempts_per_number_per_day:
                    violated.append("cn_attempts_per_number_per_day")
        order = [
            "cap_7_in_7",
            "after_conversation_7d",
            "cn_connected_per_day",
            "cn_attempts_per_number_per_day",
        ]
        if violated and not callback:
            return False, min(violated, key=order.index), None
    if callback:
        return True, "consented_callback", None
    return True, "allowed", None


def check_agreement(case: Case) -> bool:
    decision = decide(case.facts(), case.history(), case.now, case.policy())
    allowed, rule, opens = oracle(case)
    assert (decision.allowed, str(decision.rule)) == (allowed, rule), (decision.reason, case)
    if opens is FAR:
        # Zones whose windows do not overlap for two weeks (a DST change may open them later).
        later = decision.next_allowed_at
        assert later is None or later > case.now + timedelta(days=ORACLE_DAYS), case
    elif rule in ("window", "window_margin"):
        assert decision.next_allowed_at == opens, case
    if decision.next_allowed_at is not None:
        # A denial's next instant is later, and the rule that denied no longer does.
        assert decision.next_allowed_at > case.now
        again = decide(case.facts(), case.history(), decision.next_allowed_at, case.policy())
        assert again.rule != decision.rule, case
    return decision.allowed


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(st.data())
def test_decide_agrees_with_a_naive_oracle(data: st.DataObject) -> None:
    check_agreement(draw_case(HypothesisPick(data)))


def test_a_fair_share_of_random_daytime_contacts_is_allowed_and_agreed() -> None:
    allowed = sum(check_agreement(draw_case(RandomPick(seed), daytime=True)) for seed in range(300))
    # Daytime, open accounts: only rare suppressions, missing consent, holidays and caps deny.
    assert allowed >= 0.2 * 300, allowed


def test_the_oracle_itself_denies_at_night_and_allows_at_noon() -> None:
    # The oracle must be able to disagree: check it on two hand-made cases.
    base = Case(
        number="+12125550100",
        declared=None,
        channel="voice",
        status="open",
        suppressions=frozenset(),
        consent=True,
        country=None,
        callback_at=None,
        callback_requested_at=None,
        now=datetime(2026, 6, 15, 16, 0, tzinfo=UTC),
        attempts=[],
        profile={"name": "us_reg_f"},
    )
    assert oracle(base) == (True, "allowed", None)
    base.now = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)
    assert oracle(base) == (False, "window", datetime(2026, 6, 15, 12, 0, tzinfo=UTC))
