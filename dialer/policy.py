"""The contact policy: one pure decision before every call and SMS.

``decide(facts, history, now, profile) -> Decision`` answers "may we contact this consumer on this
channel and number at ``now``?" It reads no database, no network and no clock: the caller loads the
facts, passes the time, and stores every decision -- allowed or denied, with ``rule``, ``reason``
and ``facts_used`` -- in the compliance decision log.

Checks run in this order and the first failure is returned (later rules are not evaluated):

1. ``account_status`` -- the account is not ``open`` (closed, charged_off, recalled, bankrupt,
   deceased, or anything unknown: fail closed).
2. ``cease``, ``dispute``, ``dnc``, then ``optout_voice`` / ``optout_sms`` for the channel in use --
   an active suppression.
3. ``no_consent`` -- no recorded consent for this channel and number (fail closed; TCPA prior
   express consent for autodialled/prerecorded calls and texts).
4. ``tz_unknown`` -- a zone of the consumer cannot be known (invalid declared name, a number
   libphonenumber maps to ``Etc/Unknown``, no zone at all).
5. ``window`` / ``window_margin`` -- some zone's local time is outside ``[start, end)``, or inside
   the margin before ``end`` (Reg F 12 CFR 1006.6(b)(1)(i): before 8:00 a.m. and after 9:00 p.m.
   local time is inconvenient; CBA 2026 guideline: no collection 22:00-08:00). Applies to SMS too:
   an electronic message is judged at the time it is sent.
6. ``holiday`` -- a zone's local date is a configured holiday of the account's country.
7. Frequency caps, for **voice only** (see below): ``cap_7_in_7``, ``after_conversation_7d``,
   ``cn_connected_per_day``, ``cn_attempts_per_number_per_day``.

When all pass: ``allowed`` -- or ``consented_callback`` when the consumer's callback request is
what lets the call through (the caps are waived for it).

Design choices (each also stated where it is coded):

* **Several zones**: the zone set is the declared zone plus every zone of the number; the contact
  is allowed only when all of them are inside the window. Day counts ("per day", "7 consecutive
  days", "within 7 days") are made separately in each zone's local calendar and the strictest
  wins: a cap denies when it is exceeded in any zone, and frees when it is free in all of them.
* **Calls vs SMS**: the caps count and restrict telephone calls only. Reg F 1006.14(b)(2) is about
  "telephone calls" and "telephone conversations"; the CBA's 6-a-day limit is about call attempts to
  one number. SMS attempts in the history are ignored by the caps; SMS sends are still bound by
  status, suppressions, consent, zones, window and holidays.
* **Connected**: ``Attempt.connected`` must be True for any call a live human answered (Twilio
  ``AnsweredBy`` human or unknown), whether or not the right party was confirmed. That is stricter
  than Reg F's "telephone conversation with the person" and matches the CBA's count of connected
  (接通) calls; voicemail, machine, busy, no-answer and failed calls are False.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dialer import timezones

Channel = Literal["voice", "sms"]

CHANNELS: frozenset[str] = frozenset({"voice", "sms"})
SUPPRESSION_KINDS: frozenset[str] = frozenset(
    {"optout-voice", "optout-sms", "dnc", "cease", "dispute"}
)
#: Statuses an import may carry; only ``open`` may be contacted.
ACCOUNT_STATUSES: frozenset[str] = frozenset(
    {"open", "closed", "charged_off", "recalled", "bankrupt", "deceased"}
)


class Rule(StrEnum):
    """The stable machine codes a Decision carries in ``rule``. Values never change."""

    ALLOWED = "allowed"
    CONSENTED_CALLBACK = "consented_callback"
    ACCOUNT_STATUS = "account_status"
    CEASE = "cease"
    DISPUTE = "dispute"
    DNC = "dnc"
    OPTOUT_VOICE = "optout_voice"
    OPTOUT_SMS = "optout_sms"
    NO_CONSENT = "no_consent"
    TZ_UNKNOWN = "tz_unknown"
    WINDOW = "window"
    WINDOW_MARGIN = "window_margin"
    HOLIDAY = "holiday"
    CAP_7_IN_7 = "cap_7_in_7"
    AFTER_CONVERSATION_7D = "after_conversation_7d"
    CN_CONNECTED_PER_DAY = "cn_connected_per_day"
    CN_ATTEMPTS_PER_NUMBER_PER_DAY = "cn_attempts_per_number_per_day"


def _require_aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime (UTC), got naive {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class ContactFacts:
    """What is known about the contact about to be made, as the loader resolved it from the store.

    * ``channel``: ``"voice"`` or ``"sms"``.
    * ``account_id``: the debt (the bank's account number). ``customer_id``: the person; several
      accounts may share one.
    * ``number``: the number to be contacted, E.164 (``+12125550100``).
    * ``declared_timezone``: the IANA zone from the accounts CSV, or None when it had none.
    * ``account_status``: ``open`` or one of closed, charged_off, recalled, bankrupt, deceased.
    * ``consent``: True only when consent is recorded for **this channel and this number**.
    * ``suppressions``: the active suppression kinds among ``optout-voice``, ``optout-sms``,
      ``dnc``, ``cease``, ``dispute`` -- already merged by the loader from those recorded on the
      number, the account and the customer.
    * ``country``: ISO 3166-1 alpha-2 code whose holidays apply (``PolicyProfile.holidays``), or
      None for none.
    * ``consented_callback_at``: the instant the cardholder asked to be called back, if any.
      ``consented_callback_requested_at``: when they asked; when given, the callback exception
      only applies within 7 days of it (Reg F 1006.14(b)(3)(i): consent "given directly ... within
      the past seven days"). The loader should pass only callbacks not yet fulfilled.

    Raises ValueError on an unknown channel or suppression kind or a naive datetime.
    """

    channel: Channel
    account_id: str
    customer_id: str
    number: str
    declared_timezone: str | None
    account_status: str
    consent: bool
    suppressions: frozenset[str] = frozenset()
    country: str | None = None
    consented_callback_at: datetime | None = None
    consented_callback_requested_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"channel must be one of {sorted(CHANNELS)}, got {self.channel!r}")
        unknown = set(self.suppressions) - SUPPRESSION_KINDS
        if unknown:
            raise ValueError(f"unknown suppression kind(s) {sorted(unknown)}")
        object.__setattr__(self, "suppressions", frozenset(self.suppressions))
        for name in ("consented_callback_at", "consented_callback_requested_at"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _require_aware(value, name))


@dataclass(frozen=True, kw_only=True, slots=True)
class Attempt:
    """One past call or SMS, from the contact ledger (the attempts table).

    * ``at``: when it was placed (the attempt row's creation time), timezone-aware. An attempt
      recorded slightly after ``now`` (clock skew) is counted as made at ``now``.
    * ``channel``: ``"voice"`` or ``"sms"``.
    * ``number``: the E.164 number it went to (or came from). ``account_id``: the debt it was
      about. ``customer_id``: the person it was about (None: unknown, counted as this person).
    * ``direction``: ``"outbound"`` (placed by us) or ``"inbound"`` (the consumer called the
      hotline). Only outbound calls are calls *placed to* the person (the caps); a conversation
      counts whoever placed the call (Reg F 1006.14(b)(2)(i)(B); the CFPB's call-frequency FAQ:
      "regardless of which party initiated").
    * ``connected``: a live human answered (AMD human/unknown and the call went in-progress, or
      a key was pressed), right party or not; on an inbound call, the caller verified. Voicemail
      drops, machines, no-answer, busy and failed: False.
    * ``outcome``: the attempt's disposition, kept for the record; the policy does not read it.

    In-flight attempts (recorded, no CallSid yet) must be included: they are calls placed.
    """

    at: datetime
    channel: Channel
    number: str
    account_id: str
    connected: bool = False
    outcome: str | None = None
    direction: Literal["outbound", "inbound"] = "outbound"
    customer_id: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"channel must be one of {sorted(CHANNELS)}, got {self.channel!r}")
        object.__setattr__(self, "at", _require_aware(self.at, "Attempt.at"))


@dataclass(frozen=True, slots=True)
class ContactHistory:
    """The person's past attempts, every account and number, voicemails and no-answers included.

    The loader passes every attempt to the **customer** (the person) since
    ``history_since(now, profile)``, across all their accounts and numbers, plus attempts to
    ``facts.number`` made for anyone else. ``decide`` then counts per debt where the rule is per
    debt (Reg F 7-in-7 and the after-conversation rule: ``Attempt.account_id == facts.account_id``),
    per debtor for the CBA's connected calls, and per number for the CBA's attempts per number.
    Older attempts are harmless, missing ones are not.
    """

    attempts: tuple[Attempt, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one contact.

    * ``allowed``: whether the contact may be made now.
    * ``rule``: a stable code from ``Rule`` (``allowed``, ``consented_callback`` or the rule that
      denied).
    * ``reason``: one sentence for a human, naming the numbers used.
    * ``next_allowed_at``: for a denial, the earliest UTC instant at which the denying rule stops
      denying and the window is open in every zone (other rules may still deny then); ``None``
      when the contact cannot become allowed on its own (status, suppression, consent, unknown
      zone, zones whose windows never overlap) and for allowed decisions.
    * ``facts_used``: JSON-serialisable record of what was read and computed (zones, local times,
      counts), to be stored with the decision.
    """

    allowed: bool
    rule: Rule
    reason: str
    next_allowed_at: datetime | None = None
    facts_used: dict[str, Any] = field(default_factory=dict)


class PolicyProfile(BaseModel):
    """A legal profile: every number the policy uses, tunable from config key ``policy``.

    A cap set to ``None`` is not applied. Build the shipped defaults with
    ``PolicyProfile.us_reg_f()`` / ``PolicyProfile.cn_cba()`` or
    ``PolicyProfile.named(name, **overrides)``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    #: Local time contacts may start (inclusive) and must end by (exclusive).
    window_start: time = time(8)
    window_end: time = time(21)
    #: No new contact within this many minutes of ``window_end``: a call or SMS can wait in
    #: Twilio's queue before it reaches the consumer.
    margin_minutes: int = Field(default=10, ge=0, le=12 * 60)
    #: Reg F 1006.14(b)(2)(i)(A): more than 7 calls within 7 consecutive days is presumed to be
    #: harassment.
    max_calls_in_period: int | None = Field(default=7, ge=0)
    period_days: int = Field(default=7, ge=1, le=60)
    #: Reg F 1006.14(b)(2)(i)(B): no call within 7 days after a telephone conversation, the day of
    #: the conversation being day 1.
    no_call_days_after_conversation: int | None = Field(default=7, ge=1, le=60)
    #: NIFA 2024 post-loan collection guideline: at most 3 connected calls per debtor per day.
    max_connected_calls_per_day: int | None = Field(default=None, ge=0)
    #: CBA 2026 guideline: at most 6 call attempts per day to the same contact method (the stricter
    #: reading: all attempts count, not only unanswered ones).
    max_attempts_per_number_per_day: int | None = Field(default=None, ge=0)
    #: A consented callback is allowed from the requested instant for this many minutes.
    callback_grace_minutes: int = Field(default=30, ge=0, le=24 * 60)
    #: Whether a consented callback may be placed outside the window. Off by default: Reg F
    #: 1006.6(b)(1) lets a collector rely on the consumer's own statement of a convenient time, but
    #: a key pressed in an IVR is weak evidence of consent to an unusual hour, and the CBA
    #: guideline requires the debtor's agreement for 22:00-08:00.
    callback_overrides_window: bool = False
    #: Holidays per ISO 3166-1 alpha-2 country code; no contact on those local dates.
    holidays: dict[str, frozenset[date]] = Field(default_factory=dict)

    @field_validator("window_start", "window_end")
    @classmethod
    def _naive_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("window times are local wall-clock times: give them without a zone")
        return value

    @field_validator("holidays")
    @classmethod
    def _upper_countries(cls, value: dict[str, frozenset[date]]) -> dict[str, frozenset[date]]:
        return {country.upper(): frozenset(days) for country, days in value.items()}

    @model_validator(mode="after")
    def _window_not_empty(self) -> Self:
        if self.window_close <= self.window_start:
            raise ValueError(
                f"window {self.window_start:%H:%M}-{self.window_end:%H:%M} minus a margin of "
                f"{self.margin_minutes} min leaves no time to contact"
            )
        return self

    @property
    def window_close(self) -> time:
        """The last moment a new contact may start, exclusive: ``window_end - margin``."""
        end = datetime.combine(date(2000, 1, 1), self.window_end)
        close = end - timedelta(minutes=self.margin_minutes)
        return close.time() if close.date() == end.date() else time(0)

    @classmethod
    def us_reg_f(cls, **overrides: Any) -> PolicyProfile:
        """The US Regulation F profile: 08:00-21:00 local, 7 calls in 7 days, 7 quiet days."""
        return cls.model_validate({"name": "us_reg_f", **overrides})

    @classmethod
    def cn_cba(cls, **overrides: Any) -> PolicyProfile:
        """The China profile: 08:00-22:00 local, 3 connected calls a day, 6 attempts per number."""
        defaults: dict[str, Any] = {
            "name": "cn_cba",
            "window_end": time(22),
            "max_calls_in_period": None,
            "no_call_days_after_conversation": None,
            "max_connected_calls_per_day": 3,
            "max_attempts_per_number_per_day": 6,
        }
        return cls.model_validate({**defaults, **overrides})

    @classmethod
    def named(cls, name: str, **overrides: Any) -> PolicyProfile:
        """The shipped profile ``name`` (``us_reg_f`` or ``cn_cba``) with ``overrides`` applied.

        Raises ValueError for an unknown name and pydantic's ValidationError for a bad override.
        """
        if name == "us_reg_f":
            return cls.us_reg_f(**overrides)
        if name == "cn_cba":
            return cls.cn_cba(**overrides)
        raise ValueError(f"unknown policy profile {name!r}; known: us_reg_f, cn_cba")


PROFILE_NAMES: tuple[str, ...] = ("us_reg_f", "cn_cba")


def history_since(now: datetime, profile: PolicyProfile) -> datetime:
    """The oldest instant ``decide`` may need attempts from, for the loader's query.

    The longest day-count in the profile plus two days, so that every zone's local calendar
    (UTC-12 to UTC+14) is covered.
    """
    days = max(profile.period_days, profile.no_call_days_after_conversation or 1, 1)
    return _require_aware(now, "now") - timedelta(days=days + 2)


def decide(
    facts: ContactFacts, history: ContactHistory, now: datetime, profile: PolicyProfile
) -> Decision:
    """Decide whether ``facts`` may be contacted at ``now`` under ``profile``.

    ``now`` is the caller's clock, timezone-aware (any zone; it is converted to UTC). Returns a
    Decision; raises ValueError when ``now`` is naive. See the module docstring for the rules and
    their order.
    """
    now = _require_aware(now, "now")
    used: dict[str, Any] = {
        "now": now.isoformat(),
        "profile": profile.name,
        "channel": facts.channel,
        "account_id": facts.account_id,
        "customer_id": facts.customer_id,
        "number": facts.number,
        "account_status": facts.account_status,
        "suppressions": sorted(facts.suppressions),
        "consent": facts.consent,
        "declared_timezone": facts.declared_timezone,
        "country": facts.country,
        "consented_callback_at": _iso(facts.consented_callback_at),
    }

    def deny(rule: Rule, reason: str, next_at: datetime | None = None) -> Decision:
        return Decision(False, rule, reason, next_at, used)

    # 1-3: the rules no clock can lift.
    if facts.account_status != "open":
        return deny(
            Rule.ACCOUNT_STATUS,
            f"account {facts.account_id} is {facts.account_status!r}; only open accounts are "
            "contacted",
        )
    # Reg F 1006.6(c)(1) / FDCPA 1692c(c): a cease-communication request stops all contact; a
    # dispute stops collection until verified (1692g(b)); DNC and opt-outs as recorded.
    for kind, rule in (("cease", Rule.CEASE), ("dispute", Rule.DISPUTE), ("dnc", Rule.DNC)):
        if kind in facts.suppressions:
            return deny(rule, f"an active {kind} suppression covers this contact")
    optout = f"optout-{facts.channel}"
    if optout in facts.suppressions:
        rule = Rule.OPTOUT_VOICE if facts.channel == "voice" else Rule.OPTOUT_SMS
        return deny(rule, f"the consumer opted out of {facts.channel} ({optout})")
    if not facts.consent:
        return deny(
            Rule.NO_CONSENT,
            f"no recorded {facts.channel} consent for {facts.number} (TCPA prior express consent)",
        )

    # 4: the zones.
    zone_set = timezones.resolve_zones(facts.number, facts.declared_timezone)
    used["number_zones"] = list(zone_set.number_zones)
    used["zones"] = list(zone_set.names)
    if zone_set.problem is not None:
        return deny(Rule.TZ_UNKNOWN, f"cannot tell the consumer's local time: {zone_set.problem}")
    zones = zone_set.zones
    used["local_times"] = {
        zone.key: now.astimezone(zone).isoformat(timespec="seconds") for zone in zones
    }
    used["window"] = f"{profile.window_start:%H:%M}-{profile.window_end:%H:%M}"
    used["margin_minutes"] = profile.margin_minutes

    holidays = profile.holidays.get(facts.country.upper(), frozenset()) if facts.country else None

    def day_excluded(day: date) -> bool:
        return holidays is not None and day in holidays

    def next_open(not_before: datetime) -> datetime | None:
        return timezones.earliest_open(
            not_before,
            zones,
            profile.window_start,
            profile.window_close,
            day_excluded=day_excluded if holidays else None,
        )

    callback = _active_callback(facts, now, profile)
    used["callback_active"] = callback

    # 5: the window, in every zone.
    if not (callback and profile.callback_overrides_window):
        denial = _window_denial(now, zones, profile)
        if denial is not None:
            rule, reason = denial
            return deny(rule, reason, next_open(now))

    # 6: holidays, on any zone's local date.
    if holidays:
        for zone in zones:
            today = timezones.local_date(now, zone)
            if today in holidays:
                return deny(
                    Rule.HOLIDAY,
                    f"{today.isoformat()} is a holiday in {facts.country} (local date in "
                    f"{zone.key})",
                    next_open(now),
                )

    # 7: frequency caps, calls only.
    if facts.channel == "voice":
        cap = _cap_denial(facts, history=history, now=now, zones=zones, profile=profile, used=used)
        if cap is not None:
            rule, reason, frees_at = cap
            if not callback:
                return deny(rule, reason, None if frees_at is None else next_open(frees_at))
            # Reg F 1006.14(b)(3)(i): calls made with the consumer's prior consent given directly
            # within the past seven days are not counted; the CBA's limits also yield to the
            # debtor's agreement (经债务人同意).
            used["waived"] = {"rule": str(rule), "reason": reason}
            return Decision(
                True,
                Rule.CONSENTED_CALLBACK,
                f"the consumer asked to be called at {_iso(facts.consented_callback_at)}; "
                f"this waives: {reason}",
                None,
                used,
            )
    if callback:
        return Decision(
            True,
            Rule.CONSENTED_CALLBACK,
            f"the consumer asked to be called at {_iso(facts.consented_callback_at)} and every "
            "rule allows it",
            None,
            used,
        )
    return Decision(True, Rule.ALLOWED, "every rule allows this contact now", None, used)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _active_callback(facts: ContactFacts, now: datetime, profile: PolicyProfile) -> bool:
    """True when a consented callback is due: from its time to the end of the grace period."""
    at = facts.consented_callback_at
    if at is None or facts.channel != "voice":
        return False
    if not at <= now < at + timedelta(minutes=profile.callback_grace_minutes):
        return False
    requested = facts.consented_callback_requested_at
    # The consent must have been given within the past seven days (1006.14(b)(3)(i)).
    return requested is None or now - requested <= timedelta(days=7)


def _clock(instant: datetime, zone: zoneinfo.ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return f"{local:%H:%M:%S}" if local.second or local.microsecond else f"{local:%H:%M}"


def _window_denial(
    now: datetime, zones: Iterable[zoneinfo.ZoneInfo], profile: PolicyProfile
) -> tuple[Rule, str] | None:
    """The window rule: every zone's wall clock must be in ``[start, end - margin)``.

    Outside ``[start, end)`` in any zone is ``window``; otherwise inside the margin in any zone is
    ``window_margin``. ``end`` itself is outside: "after 9:00 p.m." (1006.6(b)(1)(i)) is read
    conservatively, and the margin covers Twilio's queueing anyway.
    """
    start, end, close = profile.window_start, profile.window_end, profile.window_close
    margin: tuple[Rule, str] | None = None
    for zone in zones:
        local = timezones.wall(now, zone).time()
        if local < start:
            return Rule.WINDOW, (
                f"local time {_clock(now, zone)} {zone.key} is before {start:%H:%M} "
                f"(window {start:%H:%M}-{end:%H:%M})"
            )
        if local >= end:
            return Rule.WINDOW, (
                f"local time {_clock(now, zone)} {zone.key} is past {end:%H:%M} "
                f"(window {start:%H:%M}-{end:%H:%M})"
            )
        if local >= close and margin is None:
            margin = (
                Rule.WINDOW_MARGIN,
                (
                    f"local time {_clock(now, zone)} {zone.key} is past {close:%H:%M} "
                    f"(window closes {end:%H:%M}, margin {profile.margin_minutes} min)"
                ),
            )
    return margin


def _cap_denial(
    facts: ContactFacts,
    *,
    history: ContactHistory,
    now: datetime,
    zones: tuple[zoneinfo.ZoneInfo, ...],
    profile: PolicyProfile,
    used: dict[str, Any],
) -> tuple[Rule, str, datetime | None] | None:
    """The first frequency cap exceeded in any zone: its rule, reason and the instant it frees
    (None: never).

    Every count is made in each zone's local calendar; a cap denies if it is exceeded in any zone
    and frees at the latest of the zones' freeing instants (the start of a local day).
    """
    # Calls only: Reg F 1006.14(b)(2) counts telephone calls; texts are not calls. Both directions
    # make conversations; only the calls we placed count toward the caps.
    voice = [
        (min(attempt.at, now), attempt)
        for attempt in history.attempts
        if attempt.channel == "voice"
    ]
    calls = [(at, a) for at, a in voice if a.direction == "outbound"]
    debt_calls = [(at, a) for at, a in calls if a.account_id == facts.account_id]
    debt_talks = [(at, a) for at, a in voice if a.account_id == facts.account_id and a.connected]
    # The China caps are per debtor: calls about someone else sharing the number do not count.
    debtor_calls = [(at, a) for at, a in calls if a.customer_id in (None, facts.customer_id)]
    counts: dict[str, dict[str, int]] = {zone.key: {} for zone in zones}
    used["counts"] = counts
    checks: list[tuple[Rule, str, datetime | None]] = []

    def days(instants: Iterable[datetime], zone: zoneinfo.ZoneInfo) -> list[date]:
        return sorted((timezones.local_date(at, zone) for at in instants), reverse=True)

    for zone in zones:
        today = timezones.local_date(now, zone)
        tally = counts[zone.key]

        limit = profile.max_calls_in_period
        if limit is not None:
            # 1006.14(b)(2)(i)(A): "more than seven times within seven consecutive days". Calls
            # after today do not exist, so the busiest 7-day span holding today is
            # [today - 6, today]: this call is allowed when fewer than 7 are already in it.
            first = today - timedelta(days=profile.period_days - 1)
            recent = [d for d in days((at for at, _ in debt_calls), zone) if d >= first]
            tally["calls_in_period"] = len(recent)
            if len(recent) >= limit:
                # Frees on the day the limit-th most recent call leaves the span.
                frees = recent[limit - 1] + timedelta(days=profile.period_days) if limit else None
                # A limit of 0 never frees: no call is ever allowed.
                checks.append(
                    (
                        Rule.CAP_7_IN_7,
                        f"{len(recent)} calls about account {facts.account_id} in the "
                        f"{profile.period_days} local days {first.isoformat()}..{today.isoformat()}"
                        f" ({zone.key}); at most {limit} in {profile.period_days} consecutive "
                        "days (Reg F 1006.14(b)(2)(i)(A))",
                        _day_start(zone, frees) if frees else None,
                    )
                )

        quiet = profile.no_call_days_after_conversation
        if quiet is not None:
            talks = days((at for at, _ in debt_talks), zone)
            if talks:
                last = talks[0]
                tally["days_since_conversation"] = (today - last).days
                # 1006.14(b)(2)(i)(B): the conversation day is day 1, so with 7 days a call is
                # next allowed on day 8 = conversation date + 7.
                if today < last + timedelta(days=quiet):
                    checks.append(
                        (
                            Rule.AFTER_CONVERSATION_7D,
                            f"a telephone conversation about account {facts.account_id} on "
                            f"{last.isoformat()} ({zone.key}); no call for {quiet} days counting "
                            f"that day, i.e. before {(last + timedelta(days=quiet)).isoformat()} "
                            "(Reg F 1006.14(b)(2)(i)(B))",
                            _day_start(zone, last + timedelta(days=quiet)),
                        )
                    )

        tomorrow = _day_start(zone, today + timedelta(days=1))
        per_day = profile.max_connected_calls_per_day
        if per_day is not None:
            # NIFA 2024 guideline: connected calls per debtor per day, whichever debt they were
            # about (institution and agencies combined: the history is the person's).
            connected = sum(
                1
                for at, a in debtor_calls
                if a.connected and timezones.local_date(at, zone) == today
            )
            tally["connected_today"] = connected
            if connected >= per_day:
                checks.append(
                    (
                        Rule.CN_CONNECTED_PER_DAY,
                        f"{connected} connected calls to this debtor on {today.isoformat()} "
                        f"({zone.key}); at most {per_day} a day",
                        tomorrow,
                    )
                )

        per_number = profile.max_attempts_per_number_per_day
        if per_number is not None:
            # CBA 2026 guideline: at most 6 attempts a day to the same contact method; every
            # attempt counts, answered or not (the stricter reading).
            to_number = sum(
                1
                for at, a in debtor_calls
                if a.number == facts.number and timezones.local_date(at, zone) == today
            )
            tally["attempts_to_number_today"] = to_number
            if to_number >= per_number:
                checks.append(
                    (
                        Rule.CN_ATTEMPTS_PER_NUMBER_PER_DAY,
                        f"{to_number} call attempts to {facts.number} about this debtor on "
                        f"{today.isoformat()} ({zone.key}); at most {per_number} a day to one "
                        "number",
                        tomorrow,
                    )
                )

    if not checks:
        return None
    order = list(Rule)
    rule = min((check[0] for check in checks), key=order.index)
    mine = [check for check in checks if check[0] is rule]
    # The rule holds until it is free in every zone: the latest freeing instant.
    freeing = [check[2] for check in mine]
    if any(at is None for at in freeing):
        return rule, mine[0][1], None
    return rule, mine[0][1], max(at for at in freeing if at is not None)


def _day_start(zone: zoneinfo.ZoneInfo, day: date) -> datetime:
    return timezones.first_instant_of_day(zone, day)


__all__: tuple[str, ...] = (
    "ACCOUNT_STATUSES",
    "CHANNELS",
    "PROFILE_NAMES",
    "SUPPRESSION_KINDS",
    "Attempt",
    "Channel",
    "ContactFacts",
    "ContactHistory",
    "Decision",
    "PolicyProfile",
    "Rule",
    "decide",
    "history_since",
)
