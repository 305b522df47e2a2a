"""The contact policy's rules, edge by edge, with the numbers they are built on."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from phonenumbers import timezone as phone_timezone
from pydantic import ValidationError

from dialer.policy import (
    Attempt,
    ContactFacts,
    ContactHistory,
    Decision,
    PolicyProfile,
    Rule,
    decide,
    history_since,
)

NEW_YORK = "+12125550100"
PHOENIX = "+16025550100"
BOISE_OR_LA = "+12085550123"
HONOLULU = "+18085550100"
SHANGHAI = "+8613800138000"
SYDNEY = "+61291234567"
TOLL_FREE = "+18005550100"
INVALID = "+15555555555"

NY = ZoneInfo("America/New_York")
US = PolicyProfile.us_reg_f()
CN = PolicyProfile.cn_cba()


def facts(number: str = NEW_YORK, **changes: Any) -> ContactFacts:
    values: dict[str, Any] = {
        "channel": "voice",
        "account_id": "A1",
        "customer_id": "C1",
        "number": number,
        "declared_timezone": None,
        "account_status": "open",
        "consent": True,
    }
    values.update(changes)
    return ContactFacts(**values)


def local(zone: str, *args: int) -> datetime:
    """A wall-clock reading in ``zone`` as an aware UTC instant (first occurrence)."""
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # type: ignore[arg-type,misc]


def calls(*instants: datetime, connected: bool = False, **changes: Any) -> ContactHistory:
    values: dict[str, Any] = {"channel": "voice", "number": NEW_YORK, "account_id": "A1"}
    values.update(changes)
    return ContactHistory(tuple(Attempt(at=at, connected=connected, **values) for at in instants))


NONE = ContactHistory()


def at_ny(*args: int, profile: PolicyProfile = US) -> Decision:
    return decide(facts(), NONE, local("America/New_York", *args), profile)


# --- the window edges -------------------------------------------------------------------------


def test_window_edges_in_new_york_with_the_default_margin() -> None:
    cases = [
        ((2026, 6, 15, 7, 59, 59), False, Rule.WINDOW),
        ((2026, 6, 15, 8, 0, 0), True, Rule.ALLOWED),
        ((2026, 6, 15, 20, 49, 59), True, Rule.ALLOWED),
        ((2026, 6, 15, 20, 50, 0), False, Rule.WINDOW_MARGIN),
        ((2026, 6, 15, 21, 0, 0), False, Rule.WINDOW),
    ]
    for clock, allowed, rule in cases:
        decision = at_ny(*clock)
        assert (decision.allowed, decision.rule) == (allowed, rule), clock


def test_margin_reason_names_the_local_time_zone_and_numbers() -> None:
    decision = at_ny(2026, 6, 15, 20, 55)
    assert decision.reason == (
        "local time 20:55 America/New_York is past 20:50 (window closes 21:00, margin 10 min)"
    )
    assert decision.facts_used["local_times"] == {"America/New_York": "2026-06-15T20:55:00-04:00"}


def test_without_margin_the_window_runs_to_the_closing_second() -> None:
    profile = PolicyProfile.us_reg_f(margin_minutes=0)
    assert at_ny(2026, 6, 15, 20, 59, 59, profile=profile).allowed
    assert at_ny(2026, 6, 15, 21, 0, 0, profile=profile).rule is Rule.WINDOW


def test_early_denial_points_at_eight_the_same_morning() -> None:
    decision = at_ny(2026, 6, 15, 7, 59, 59)
    assert decision.next_allowed_at == local("America/New_York", 2026, 6, 15, 8, 0)
    assert decision.next_allowed_at == datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def test_margin_denial_points_at_eight_the_next_morning() -> None:
    decision = at_ny(2026, 6, 15, 20, 50)
    assert decision.next_allowed_at == datetime(2026, 6, 16, 12, 0, tzinfo=UTC)


def test_cn_profile_window_runs_to_ten_pm() -> None:
    assert at_ny(2026, 6, 15, 21, 30, profile=CN).allowed
    assert at_ny(2026, 6, 15, 21, 50, profile=CN).rule is Rule.WINDOW_MARGIN
    assert at_ny(2026, 6, 15, 22, 0, profile=CN).rule is Rule.WINDOW


def test_sms_is_held_to_the_window_at_send_time() -> None:
    sms = facts(channel="sms")
    assert decide(sms, NONE, local("America/New_York", 2026, 6, 15, 7, 0), US).rule is Rule.WINDOW
    assert decide(sms, NONE, local("America/New_York", 2026, 6, 15, 9, 0), US).allowed


# --- DST and zones without DST -----------------------------------------------------------------


def test_spring_forward_day_in_new_york_opens_at_eight_edt() -> None:
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT; 08:00 EDT is 12:00 UTC, not 13:00.
    before = decide(facts(), NONE, datetime(2026, 3, 8, 7, 30, tzinfo=UTC), US)  # 03:30 EDT
    assert before.rule is Rule.WINDOW
    assert before.next_allowed_at == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert (
        decide(facts(), NONE, datetime(2026, 3, 8, 11, 59, 59, tzinfo=UTC), US).rule is Rule.WINDOW
    )
    assert decide(facts(), NONE, datetime(2026, 3, 8, 12, 0, tzinfo=UTC), US).allowed
    # Evening: 20:50 EDT = 00:50 UTC next day.
    assert decide(facts(), NONE, datetime(2026, 3, 9, 0, 49, 59, tzinfo=UTC), US).allowed
    assert decide(facts(), NONE, datetime(2026, 3, 9, 0, 50, tzinfo=UTC), US).rule is (
        Rule.WINDOW_MARGIN
    )


def test_the_evening_before_spring_forward_points_at_eight_edt() -> None:
    decision = decide(facts(), NONE, datetime(2026, 3, 8, 2, 0, tzinfo=UTC), US)  # 21:00 EST
    assert decision.rule is Rule.WINDOW
    assert decision.next_allowed_at == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def test_fall_back_day_in_new_york_opens_at_eight_est() -> None:
    # 2026-11-01: 02:00 EDT falls back to 01:00 EST; 08:00 EST is 13:00 UTC.
    decision = decide(facts(), NONE, datetime(2026, 11, 1, 12, 30, tzinfo=UTC), US)  # 07:30 EST
    assert decision.rule is Rule.WINDOW
    assert decision.next_allowed_at == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    assert decide(facts(), NONE, datetime(2026, 11, 1, 13, 0, tzinfo=UTC), US).allowed
    # 20:50 EST = 01:50 UTC next day.
    assert decide(facts(), NONE, datetime(2026, 11, 2, 1, 49, 59, tzinfo=UTC), US).allowed
    assert not decide(facts(), NONE, datetime(2026, 11, 2, 1, 50, tzinfo=UTC), US).allowed


def test_phoenix_keeps_its_hours_when_new_york_changes_clocks() -> None:
    phoenix = facts(PHOENIX)
    for day in (date(2026, 3, 8), date(2026, 11, 1), date(2026, 1, 15), date(2026, 7, 15)):
        # MST all year: 08:00 is 15:00 UTC every day.
        opens = datetime.combine(day, time(15), tzinfo=UTC)
        assert not decide(phoenix, NONE, opens - timedelta(seconds=1), US).allowed
        assert decide(phoenix, NONE, opens, US).allowed


def test_shanghai_window_in_utc() -> None:
    shanghai = facts(SHANGHAI)
    # UTC+8, no DST: 08:00-21:50 under cn_cba is 00:00-13:50 UTC.
    assert decide(shanghai, NONE, datetime(2026, 3, 8, 0, 0, tzinfo=UTC), CN).allowed
    late = decide(shanghai, NONE, datetime(2026, 3, 8, 13, 50, tzinfo=UTC), CN)
    assert late.rule is Rule.WINDOW_MARGIN
    assert late.next_allowed_at == datetime(2026, 3, 9, 0, 0, tzinfo=UTC)


def test_sydney_across_its_own_dst_changes() -> None:
    sydney = facts(SYDNEY)
    # 2026-04-05 03:00 AEDT -> 02:00 AEST; 08:00 AEST = 22:00 UTC the day before.
    assert decide(sydney, NONE, datetime(2026, 4, 4, 22, 0, tzinfo=UTC), US).allowed
    assert not decide(sydney, NONE, datetime(2026, 4, 4, 21, 59, tzinfo=UTC), US).allowed
    # 2026-10-04 02:00 AEST -> 03:00 AEDT; 08:00 AEDT = 21:00 UTC the day before.
    early = decide(sydney, NONE, datetime(2026, 10, 3, 20, 0, tzinfo=UTC), US)
    assert early.next_allowed_at == datetime(2026, 10, 3, 21, 0, tzinfo=UTC)


# --- several zones ----------------------------------------------------------------------------


def test_a_208_number_is_held_to_the_overlap_of_boise_and_los_angeles() -> None:
    boise = facts(BOISE_OR_LA)
    # Summer: Boise MDT (UTC-6), LA PDT (UTC-7). Overlap 08:00 PDT (15:00 UTC) to 20:50 MDT (02:50).
    assert decide(boise, NONE, datetime(2026, 7, 1, 14, 30, tzinfo=UTC), US).rule is Rule.WINDOW
    early = decide(boise, NONE, datetime(2026, 7, 1, 14, 30, tzinfo=UTC), US)
    assert "America/Los_Angeles" in early.reason
    assert early.next_allowed_at == datetime(2026, 7, 1, 15, 0, tzinfo=UTC)
    assert decide(boise, NONE, datetime(2026, 7, 1, 15, 0, tzinfo=UTC), US).allowed
    assert decide(boise, NONE, datetime(2026, 7, 2, 2, 49, tzinfo=UTC), US).allowed
    late = decide(boise, NONE, datetime(2026, 7, 2, 2, 50, tzinfo=UTC), US)
    assert late.rule is Rule.WINDOW_MARGIN
    assert "America/Boise" in late.reason
    assert late.facts_used["zones"] == ["America/Boise", "America/Los_Angeles"]


def test_a_declared_zone_joins_the_numbers_zones() -> None:
    # A New York number declared in Los Angeles: 08:00 PDT (15:00 UTC) to 20:50 EDT (00:50 UTC).
    moved = facts(declared_timezone="America/Los_Angeles")
    assert not decide(moved, NONE, datetime(2026, 7, 1, 14, 0, tzinfo=UTC), US).allowed
    assert decide(moved, NONE, datetime(2026, 7, 1, 15, 0, tzinfo=UTC), US).allowed
    assert not decide(moved, NONE, datetime(2026, 7, 2, 0, 50, tzinfo=UTC), US).allowed


def test_a_toll_free_number_maps_to_42_zones_and_a_narrow_window() -> None:
    zones = phone_timezone.time_zones_for_number(phonenumbers.parse(TOLL_FREE))
    assert len(zones) == 42
    toll_free = facts(TOLL_FREE)
    noon_ny = decide(toll_free, NONE, local("America/New_York", 2026, 7, 1, 12, 0), US)
    assert noon_ny.rule is Rule.WINDOW
    assert len(noon_ny.facts_used["zones"]) == 42
    # In July the overlap opens when Guam (UTC+10) reaches 08:00 = 22:00 UTC and closes when
    # St John's (UTC-2:30) reaches 20:50 = 23:20 UTC.
    assert noon_ny.next_allowed_at == datetime(2026, 7, 1, 22, 0, tzinfo=UTC)
    assert decide(toll_free, NONE, datetime(2026, 7, 1, 23, 19, tzinfo=UTC), US).allowed
    assert not decide(toll_free, NONE, datetime(2026, 7, 1, 23, 20, tzinfo=UTC), US).allowed


def test_zones_whose_windows_never_overlap_never_allow() -> None:
    profile = PolicyProfile.us_reg_f(window_start=time(9), window_end=time(12), margin_minutes=0)
    far = facts(SHANGHAI, declared_timezone="America/New_York")
    decision = decide(far, NONE, datetime(2026, 7, 1, 14, 0, tzinfo=UTC), profile)
    assert decision.rule is Rule.WINDOW
    assert decision.next_allowed_at is None


# --- unknown zones ----------------------------------------------------------------------------


def test_an_invalid_number_maps_to_etc_unknown_and_is_denied() -> None:
    assert phone_timezone.time_zones_for_number(phonenumbers.parse(INVALID)) == ("Etc/Unknown",)
    decision = decide(facts(INVALID), NONE, local("America/New_York", 2026, 6, 15, 12, 0), US)
    assert decision.rule is Rule.TZ_UNKNOWN
    assert "Etc/Unknown" in decision.reason
    assert decision.next_allowed_at is None


def test_an_invalid_declared_zone_is_denied_even_with_a_good_number() -> None:
    decision = decide(
        facts(declared_timezone="Mars/Olympus"),
        NONE,
        local("America/New_York", 2026, 6, 15, 12),
        US,
    )
    assert decision.rule is Rule.TZ_UNKNOWN
    assert "Mars/Olympus" in decision.reason


def test_an_unparseable_number_is_tz_unknown() -> None:
    decision = decide(facts("+1"), NONE, datetime(2026, 6, 15, 16, tzinfo=UTC), US)
    assert decision.rule is Rule.TZ_UNKNOWN


# --- 7 in 7 and conversations ----------------------------------------------------------------


NOON = local("America/New_York", 2026, 6, 15, 12, 0)


def test_the_seventh_call_in_seven_days_is_allowed_and_the_eighth_is_not() -> None:
    six = calls(*(NOON - timedelta(days=d) for d in range(6)))
    assert decide(facts(), six, NOON + timedelta(minutes=5), US).allowed
    seven = calls(*(NOON - timedelta(days=d) for d in range(7)))
    eighth = decide(facts(), seven, NOON + timedelta(minutes=5), US)
    assert eighth.rule is Rule.CAP_7_IN_7
    assert "7 calls" in eighth.reason
    assert eighth.facts_used["counts"]["America/New_York"]["calls_in_period"] == 7
    # The oldest call (2026-06-09) leaves the span on 2026-06-16: 08:00 EDT.
    assert eighth.next_allowed_at == datetime(2026, 6, 16, 12, 0, tzinfo=UTC)
    assert decide(facts(), seven, eighth.next_allowed_at, US).allowed


def test_seven_calls_on_one_day_block_the_rest_of_that_week() -> None:
    seven = calls(*(NOON - timedelta(days=6, minutes=m) for m in range(7)))
    decision = decide(facts(), seven, NOON, US)
    assert decision.rule is Rule.CAP_7_IN_7
    assert decision.next_allowed_at == datetime(2026, 6, 16, 12, 0, tzinfo=UTC)


def test_the_cap_counts_voicemails_and_no_answers_and_in_flight_calls() -> None:
    history = ContactHistory(
        tuple(
            Attempt(
                at=NOON - timedelta(hours=h),
                channel="voice",
                number=NEW_YORK,
                account_id="A1",
                outcome=outcome,
            )
            for h, outcome in enumerate(
                ["no-answer", "voicemail", "busy", "failed", "machine", "no-answer", None]
            )
        )
    )
    assert decide(facts(), history, NOON, US).rule is Rule.CAP_7_IN_7


def test_the_cap_is_per_debt_and_ignores_sms() -> None:
    other_debt = calls(*(NOON - timedelta(hours=h) for h in range(7)), account_id="A2")
    assert decide(facts(), other_debt, NOON, US).allowed
    texts = calls(*(NOON - timedelta(hours=h) for h in range(7)), channel="sms")
    assert decide(facts(), texts, NOON, US).allowed


def test_sms_is_not_capped_by_the_call_rules() -> None:
    seven = calls(*(NOON - timedelta(hours=h) for h in range(7)), connected=True)
    assert decide(facts(channel="sms"), seven, NOON, US).allowed


def test_a_conversation_yesterday_blocks_and_seven_days_ago_does_not() -> None:
    yesterday = calls(NOON - timedelta(days=1), connected=True)
    decision = decide(facts(), yesterday, NOON, US)
    assert decision.rule is Rule.AFTER_CONVERSATION_7D
    # Conversation on 2026-06-14 is day 1; day 8 is 2026-06-21, opening 08:00 EDT.
    assert decision.next_allowed_at == datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
    assert decide(facts(), yesterday, decision.next_allowed_at, US).allowed
    six_days = calls(local("America/New_York", 2026, 6, 9, 20, 0), connected=True)
    assert decide(facts(), six_days, NOON, US).rule is Rule.AFTER_CONVERSATION_7D
    seven_days = calls(local("America/New_York", 2026, 6, 8, 8, 0), connected=True)
    assert decide(facts(), seven_days, NOON, US).allowed


def test_conversation_days_are_local_dates_not_utc_dates() -> None:
    # 2026-06-08 22:00 EDT is already 2026-06-09 in UTC; locally it is 7 days before 06-15.
    talk = calls(local("America/New_York", 2026, 6, 8, 20, 30), connected=True)
    assert talk.attempts[0].at.date() == date(2026, 6, 9)
    assert decide(facts(), talk, NOON, US).allowed


# --- consented callbacks ----------------------------------------------------------------------


def test_a_consented_callback_is_allowed_inside_the_seven_days() -> None:
    talk = calls(NOON - timedelta(days=1), connected=True)
    asked = facts(
        consented_callback_at=NOON,
        consented_callback_requested_at=NOON - timedelta(days=1),
    )
    decision = decide(asked, talk, NOON + timedelta(minutes=5), US)
    assert decision.allowed
    assert decision.rule is Rule.CONSENTED_CALLBACK
    assert "1006.14(b)(2)(i)(B)" in decision.reason
    assert decision.facts_used["waived"]["rule"] == "after_conversation_7d"
    # Before T and after the 30-minute grace the ordinary rule applies again.
    assert decide(asked, talk, NOON - timedelta(minutes=1), US).rule is Rule.AFTER_CONVERSATION_7D
    assert decide(asked, talk, NOON + timedelta(minutes=30), US).rule is (
        Rule.AFTER_CONVERSATION_7D
    )


def test_a_callback_consent_older_than_seven_days_does_not_waive_the_cap() -> None:
    talk = calls(NOON - timedelta(days=1), connected=True)
    stale = facts(
        consented_callback_at=NOON, consented_callback_requested_at=NOON - timedelta(days=8)
    )
    assert decide(stale, talk, NOON, US).rule is Rule.AFTER_CONVERSATION_7D


def test_a_callback_keeps_the_window_unless_the_profile_lets_it_override() -> None:
    late = local("America/New_York", 2026, 6, 15, 21, 30)
    asked = facts(consented_callback_at=late)
    assert decide(asked, NONE, late, US).rule is Rule.WINDOW
    lenient = PolicyProfile.us_reg_f(callback_overrides_window=True)
    decision = decide(asked, NONE, late, lenient)
    assert (decision.allowed, decision.rule) == (True, Rule.CONSENTED_CALLBACK)


def test_a_callback_never_lifts_a_suppression() -> None:
    asked = facts(consented_callback_at=NOON, suppressions=frozenset({"optout-voice"}))
    assert decide(asked, NONE, NOON, US).rule is Rule.OPTOUT_VOICE


# --- suppressions, status, consent ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "channel", "rule"),
    [
        ("optout-voice", "voice", Rule.OPTOUT_VOICE),
        ("optout-sms", "sms", Rule.OPTOUT_SMS),
        ("dnc", "voice", Rule.DNC),
        ("dnc", "sms", Rule.DNC),
        ("cease", "voice", Rule.CEASE),
        ("cease", "sms", Rule.CEASE),
        ("dispute", "voice", Rule.DISPUTE),
    ],
)
def test_each_suppression_kind_denies_for_good(kind: str, channel: str, rule: Rule) -> None:
    decision = decide(facts(channel=channel, suppressions=frozenset({kind})), NONE, NOON, US)
    assert (decision.allowed, decision.rule, decision.next_allowed_at) == (False, rule, None)


def test_an_opt_out_covers_only_its_own_channel() -> None:
    voice_out = frozenset({"optout-voice"})
    sms_out = frozenset({"optout-sms"})
    assert decide(facts(channel="sms", suppressions=voice_out), NONE, NOON, US).allowed
    assert decide(facts(channel="voice", suppressions=sms_out), NONE, NOON, US).allowed
    assert decide(facts(channel="sms", suppressions=sms_out), NONE, NOON, US).rule is (
        Rule.OPTOUT_SMS
    )


@pytest.mark.parametrize(
    "status", ["closed", "charged_off", "recalled", "bankrupt", "deceased", ""]
)
def test_only_open_accounts_are_contacted(status: str) -> None:
    decision = decide(facts(account_status=status), NONE, NOON, US)
    assert (decision.rule, decision.next_allowed_at) == (Rule.ACCOUNT_STATUS, None)


def test_missing_consent_fails_closed() -> None:
    decision = decide(facts(consent=False), NONE, NOON, US)
    assert (decision.allowed, decision.rule) == (False, Rule.NO_CONSENT)


def test_the_first_failing_rule_is_reported() -> None:
    everything_wrong = facts(
        INVALID,
        account_status="closed",
        suppressions=frozenset({"dnc", "cease"}),
        consent=False,
    )
    midnight = local("America/New_York", 2026, 6, 15, 0, 0)
    assert decide(everything_wrong, NONE, midnight, US).rule is Rule.ACCOUNT_STATUS
    assert (
        decide(
            facts(INVALID, suppressions=frozenset({"dnc", "cease"}), consent=False),
            NONE,
            midnight,
            US,
        ).rule
        is Rule.CEASE
    )
    assert decide(facts(INVALID, consent=False), NONE, midnight, US).rule is Rule.NO_CONSENT
    assert decide(facts(INVALID), NONE, midnight, US).rule is Rule.TZ_UNKNOWN
    busy = calls(*(midnight - timedelta(hours=h) for h in range(1, 9)))
    assert decide(facts(), busy, midnight, US).rule is Rule.WINDOW


# --- holidays ---------------------------------------------------------------------------------


def test_a_holiday_in_the_accounts_country_denies_until_the_next_working_morning() -> None:
    profile = PolicyProfile.us_reg_f(holidays={"us": [date(2026, 7, 3), date(2026, 7, 4)]})
    july_3 = local("America/New_York", 2026, 7, 3, 12, 0)
    decision = decide(facts(country="US"), NONE, july_3, profile)
    assert decision.rule is Rule.HOLIDAY
    assert decision.next_allowed_at == datetime(2026, 7, 5, 12, 0, tzinfo=UTC)
    assert decide(facts(country="CN"), NONE, july_3, profile).allowed
    assert decide(facts(), NONE, july_3, profile).allowed


# --- cn_cba daily counts at local midnight ------------------------------------------------------

# Open all day, so only the daily counts decide around midnight.
CN_ALL_DAY = PolicyProfile.cn_cba(
    window_start=time(0), window_end=time(23, 59, 59), margin_minutes=0
)


def test_cn_daily_counts_roll_over_at_honolulu_midnight_not_utc_midnight() -> None:
    hnl = facts(HONOLULU)
    # Six attempts on 2026-06-15 local, the last at 23:59; Honolulu is UTC-10 all year.
    day = [local("Pacific/Honolulu", 2026, 6, 15, 23, 59) - timedelta(hours=h) for h in range(6)]
    history = calls(*day, number=HONOLULU)
    # 2026-06-16 00:00 local is 10:00 UTC; UTC's date changed 10 hours earlier.
    still_15th = decide(
        hnl, history, local("Pacific/Honolulu", 2026, 6, 15, 23, 59, 30), CN_ALL_DAY
    )
    assert still_15th.rule is Rule.CN_ATTEMPTS_PER_NUMBER_PER_DAY
    assert still_15th.next_allowed_at == datetime(2026, 6, 16, 10, 0, tzinfo=UTC)
    assert decide(hnl, history, local("Pacific/Honolulu", 2026, 6, 16, 0, 0), CN_ALL_DAY).allowed
    # Under the shipped window the same denial waits for 08:00 local (18:00 UTC).
    shipped = decide(hnl, history, local("Pacific/Honolulu", 2026, 6, 15, 21, 0), CN)
    assert shipped.rule is Rule.CN_ATTEMPTS_PER_NUMBER_PER_DAY
    assert shipped.next_allowed_at == datetime(2026, 6, 16, 18, 0, tzinfo=UTC)


def test_cn_attempts_at_2359_and_0000_local_fall_on_different_days() -> None:
    hnl = facts(HONOLULU)
    late = local("Pacific/Honolulu", 2026, 6, 15, 23, 59)
    midnight = local("Pacific/Honolulu", 2026, 6, 16, 0, 0)
    # Five attempts earlier on the 15th, then one at 23:59: six on the 15th.
    fifteenth = calls(*(late - timedelta(hours=h) for h in range(6)), number=HONOLULU)
    assert not decide(hnl, fifteenth, late + timedelta(seconds=30), CN_ALL_DAY).allowed
    # 00:00 starts the 16th: it and four more make five that day, the 23:59 one is not among them.
    sixteenth = calls(*(midnight + timedelta(hours=h) for h in range(5)), number=HONOLULU)
    both = ContactHistory(fifteenth.attempts + sixteenth.attempts)
    at = local("Pacific/Honolulu", 2026, 6, 16, 4, 30)
    decision = decide(hnl, both, at, CN_ALL_DAY)
    assert decision.allowed
    assert decision.facts_used["counts"]["Pacific/Honolulu"]["attempts_to_number_today"] == 5
    one_more = ContactHistory(both.attempts + calls(at, number=HONOLULU).attempts)
    assert not decide(hnl, one_more, at + timedelta(minutes=1), CN_ALL_DAY).allowed


def test_a_multi_zone_day_count_takes_the_strictest_zone() -> None:
    # Boise (UTC-6) and LA (UTC-7) in summer: 23:25-23:30 PDT on the 15th is 00:25-00:30 MDT on
    # the 16th. Each zone counts the six attempts on its own date; both counts bind.
    boise = facts(BOISE_OR_LA)
    attempt = local("America/Los_Angeles", 2026, 6, 15, 23, 30)
    six = calls(*(attempt - timedelta(minutes=m) for m in range(6)), number=BOISE_OR_LA)
    at = local("America/Los_Angeles", 2026, 6, 15, 23, 50)
    decision = decide(boise, six, at, CN_ALL_DAY)
    assert decision.rule is Rule.CN_ATTEMPTS_PER_NUMBER_PER_DAY
    counts = decision.facts_used["counts"]
    assert counts["America/Los_Angeles"]["attempts_to_number_today"] == 6
    assert counts["America/Boise"]["attempts_to_number_today"] == 6
    # After LA's midnight Boise still counts six on its 16th, until Boise's own midnight.
    after_la_midnight = local("America/Los_Angeles", 2026, 6, 16, 0, 10)
    decision = decide(boise, six, after_la_midnight, CN_ALL_DAY)
    assert decision.rule is Rule.CN_ATTEMPTS_PER_NUMBER_PER_DAY
    assert decision.facts_used["counts"]["America/Los_Angeles"]["attempts_to_number_today"] == 0
    assert decision.next_allowed_at == local("America/Boise", 2026, 6, 17, 0, 0)
    assert decide(boise, six, decision.next_allowed_at, CN_ALL_DAY).allowed


def test_cn_caps_three_connected_calls_per_debtor_across_debts() -> None:
    connected = calls(
        *(NOON - timedelta(hours=h) for h in (1, 2, 3)),
        connected=True,
        account_id="A2",
        number="+12125550199",
    )
    decision = decide(facts(), connected, NOON, CN)
    assert decision.rule is Rule.CN_CONNECTED_PER_DAY
    assert decision.facts_used["counts"]["America/New_York"]["connected_today"] == 3
    two = ContactHistory(connected.attempts[:2])
    assert decide(facts(), two, NOON, CN).allowed


def test_cn_counts_every_attempt_to_the_number_answered_or_not() -> None:
    mixed = ContactHistory(
        tuple(
            Attempt(
                at=NOON - timedelta(minutes=10 * i),
                channel="voice",
                number=NEW_YORK,
                account_id="A9",
                connected=i == 0,
            )
            for i in range(6)
        )
    )
    assert decide(facts(), mixed, NOON, CN).rule is Rule.CN_ATTEMPTS_PER_NUMBER_PER_DAY
    elsewhere = calls(*(NOON - timedelta(minutes=m) for m in range(6)), number="+12125550199")
    assert decide(facts(), elsewhere, NOON, CN).allowed


def test_cn_profile_does_not_apply_the_reg_f_weekly_cap() -> None:
    seven = calls(*(NOON - timedelta(days=d, hours=1) for d in range(7)), connected=True)
    assert decide(facts(), seven, NOON, CN).allowed


# --- contract ---------------------------------------------------------------------------------


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(facts(), NONE, datetime(2026, 6, 15, 12), US)
    with pytest.raises(ValueError, match="timezone-aware"):
        Attempt(at=datetime(2026, 6, 15, 12), channel="voice", number=NEW_YORK, account_id="A1")
    with pytest.raises(ValueError, match="timezone-aware"):
        facts(consented_callback_at=datetime(2026, 6, 15, 12))


def test_unknown_channel_and_suppression_kind_are_rejected() -> None:
    with pytest.raises(ValueError, match="channel"):
        facts(channel="fax")
    with pytest.raises(ValueError, match="suppression"):
        facts(suppressions=frozenset({"optout-email"}))


def test_now_in_another_zone_is_the_same_instant() -> None:
    in_tokyo = NOON.astimezone(ZoneInfo("Asia/Tokyo"))
    assert decide(facts(), NONE, in_tokyo, US) == decide(facts(), NONE, NOON, US)


def test_the_decision_is_json_serialisable_with_its_facts() -> None:
    decision = decide(facts(BOISE_OR_LA), calls(NOON - timedelta(days=1)), NOON, US)
    record = json.loads(json.dumps(decision.facts_used))
    assert record["zones"] == ["America/Boise", "America/Los_Angeles"]
    assert record["counts"]["America/Boise"]["calls_in_period"] == 1
    assert record["now"] == NOON.isoformat()


def test_profiles_are_tunable_and_validated() -> None:
    assert PolicyProfile.named("us_reg_f") == US
    assert PolicyProfile.named("cn_cba", margin_minutes=5).margin_minutes == 5
    assert CN.window_end == time(22) and CN.max_connected_calls_per_day == 3
    assert CN.max_attempts_per_number_per_day == 6 and CN.max_calls_in_period is None
    assert US.max_calls_in_period == 7 and US.no_call_days_after_conversation == 7
    with pytest.raises(ValueError, match="unknown policy profile"):
        PolicyProfile.named("eu")
    with pytest.raises(ValidationError, match="leaves no time"):
        PolicyProfile.us_reg_f(window_start=time(20, 55))
    with pytest.raises(ValidationError):
        PolicyProfile.us_reg_f(margin="ten")


def test_history_since_covers_the_longest_count_and_every_zone() -> None:
    assert history_since(NOON, US) == NOON - timedelta(days=9)
