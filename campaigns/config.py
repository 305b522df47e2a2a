"""Campaign definitions (``campaigns:`` in config.yaml).

A campaign says who is contacted (the segment), how (voice, SMS, or voice with an SMS when the
calls are exhausted without reaching anyone), when (a cron schedule in a named zone), what is said
(an IVR script and an SMS template per language) and how often it tries again (a retry rule per
outcome and a maximum of attempts per run). Every value is checked when the settings load, so a
typo in a cron expression or a template placeholder fails ``duecall check-config``, not a launch.
"""

from __future__ import annotations

import re
import string
import zoneinfo
from datetime import datetime
from decimal import Decimal
from typing import Literal

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from campaigns.sms import TemplateError, template_fields

CampaignChannel = Literal["voice", "sms", "voice_sms_fallback"]
RetryOutcome = Literal["busy", "no_answer", "failed", "machine", "sms_undelivered"]

KNOWN_LANGUAGES = ("en-US", "zh-CN")
#: What a payment reminder may say (``sms.promise_reminder`` and its kin).
REMINDER_FIELDS = frozenset(
    {"business_name", "callback_number", "support_number", "first_name", "amount", "date"}
    | {"collector_disclosure"}
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SegmentSettings(_Model):
    """Which accounts a run snapshots. Only ``open`` accounts are ever taken.

    ``dpd_min``/``dpd_max`` bound days past due (inclusive); ``balance_min``/``balance_max``
    bound the balance still owed (imported balance less later payments); ``languages`` limits the
    cardholder's language; ``exclude_open_promises`` leaves out accounts with an open promise
    whose date has not passed or an active repayment plan (calling someone who just promised is
    pointless and annoying; once the promise or the plan breaks the account is back).
    ``broken_within_days``, when set, takes only accounts whose promise (broken or partial) or
    repayment plan broke in the last that many days: the follow-up campaign after a break.
    """

    dpd_min: int = Field(default=1, ge=0)
    dpd_max: int = Field(default=10_000, ge=0)
    balance_min: Decimal = Field(default=Decimal("0.01"), ge=0)
    balance_max: Decimal | None = Field(default=None, ge=0)
    languages: tuple[str, ...] = KNOWN_LANGUAGES
    exclude_open_promises: bool = True
    broken_within_days: int | None = Field(default=None, ge=1, le=3660)

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [lang for lang in value if lang not in KNOWN_LANGUAGES]
        if unknown or not value:
            raise ValueError(f"languages must be among {list(KNOWN_LANGUAGES)}, got {list(value)}")
        return value

    @model_validator(mode="after")
    def _ranges(self) -> SegmentSettings:
        if self.dpd_max < self.dpd_min:
            raise ValueError("dpd_max must not be below dpd_min")
        if self.balance_max is not None and self.balance_max < self.balance_min:
            raise ValueError("balance_max must not be below balance_min")
        return self


class ScheduleSettings(_Model):
    """When runs launch: a five-field cron expression read in ``timezone``.

    Example: ``cron: "0 10 * * mon-fri"``, ``timezone: America/New_York`` -- 10:00 New York
    time on weekdays, DST included.
    """

    cron: str
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _parses(self) -> ScheduleSettings:
        try:
            self.trigger()
        except ValueError as exc:
            raise ValueError(f"cron {self.cron!r}: {exc}") from None
        return self

    def trigger(self) -> CronTrigger:
        """A fresh APScheduler trigger for this schedule."""
        if len(self.cron.split()) != 5:
            raise ValueError("expected five fields: minute hour day month day-of-week")
        return CronTrigger.from_crontab(self.cron, timezone=zoneinfo.ZoneInfo(self.timezone))

    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class RetryRule(_Model):
    """After an attempt ends with this outcome: wait ``delay_minutes``, try at most ``max`` times
    more for it (0: never retry it)."""

    delay_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)
    max: int = Field(default=2, ge=0, le=20)


class RetrySettings(_Model):
    """A retry rule per outcome of a call that reached nobody, and for an SMS the carrier could
    not deliver for a reason that may pass (``sms_undelivered``: handset unreachable, queue
    overflow, validity expired; a landline or a blocked number is never retried)."""

    busy: RetryRule = RetryRule(delay_minutes=30, max=3)
    no_answer: RetryRule = RetryRule(delay_minutes=120, max=2)
    failed: RetryRule = RetryRule(delay_minutes=240, max=1)
    machine: RetryRule = RetryRule(delay_minutes=240, max=1)
    sms_undelivered: RetryRule = RetryRule(delay_minutes=240, max=1)

    def rule(self, outcome: RetryOutcome) -> RetryRule:
        found: RetryRule = getattr(self, outcome)
        return found


class CampaignSettings(_Model):
    """One campaign: who, how, when.

    ``script`` names the IVR script per language for answered calls; ``sms_template`` is the
    reminder SMS per language (the SMS channel and the SMS fallback use it), with the fields of
    :data:`campaigns.sms.FIELDS`; the opt-out notice of ``sms.opt_out_notice`` is appended.
    ``max_attempts`` caps the attempts of one contact in one run, whatever the outcomes.
    ``priority`` (1-10) weighs the campaign's share of the shared calls-per-second budget against
    the others'. An ``active: false`` campaign is never launched by the schedule nor by
    ``campaign run``.
    """

    name: str
    channel: CampaignChannel = "voice"
    segment: SegmentSettings = SegmentSettings()
    schedule: ScheduleSettings
    script: dict[str, str] = Field(
        default_factory=lambda: dict.fromkeys(KNOWN_LANGUAGES, "reminder")
    )
    sms_template: dict[str, str] = Field(default_factory=dict)
    retry: RetrySettings = RetrySettings()
    max_attempts: int = Field(default=3, ge=1, le=20)
    priority: int = Field(default=5, ge=1, le=10)
    active: bool = True

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 1-64 characters of a-z, 0-9, '-' and '_', starting alnum")
        return value

    @field_validator("sms_template")
    @classmethod
    def _placeholders(cls, value: dict[str, str]) -> dict[str, str]:
        for language, text in value.items():
            if language not in KNOWN_LANGUAGES:
                raise ValueError(f"unknown language {language!r}")
            try:
                template_fields(text)
            except TemplateError as exc:
                raise ValueError(f"{language}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _templates_for_every_language(self) -> CampaignSettings:
        if self.channel in ("sms", "voice_sms_fallback"):
            missing = [lang for lang in self.segment.languages if lang not in self.sms_template]
            if missing:
                raise ValueError(f"sms_template needed for {missing} (channel {self.channel})")
        return self

    @property
    def first_channel(self) -> Literal["voice", "sms"]:
        """The channel a new contact starts on."""
        return "sms" if self.channel == "sms" else "voice"

    def next_launch(self, after: datetime) -> datetime | None:
        """The next scheduled launch at or after ``after``, in the campaign's zone."""
        fire: datetime | None = self.schedule.trigger().get_next_fire_time(None, after)
        return fire


def campaigns_by_name(campaigns: tuple[CampaignSettings, ...]) -> dict[str, CampaignSettings]:
    """Index the configured campaigns by name; raises ValueError on a duplicate name."""
    found: dict[str, CampaignSettings] = {}
    for campaign in campaigns:
        if campaign.name in found:
            raise ValueError(f"two campaigns are named {campaign.name!r}")
        found[campaign.name] = campaign
    return found


class SmsSettings(BaseModel):
    """SMS wording and limits (``sms:`` in config.yaml). Texts are per language.

    ``help_text`` (the answer to HELP, INFO and 帮助) and the opt-out confirmations may use
    ``{business_name}`` and ``{support_number}``. ``optout_confirmation`` answers an opt-out from
    texts; ``optout_confirmation_calls`` one that asked for no more calls either ("don't call
    me"), since both channels were revoked.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_segments: int = Field(default=3, ge=1, le=10)
    # Reg F 1006.18(e): a third-party debt collector's every text says it is from a debt
    # collector (a text is never a limited-content message); fills {collector_disclosure}.
    collector_disclosure: dict[str, str] = Field(
        default_factory=lambda: {
            "en-US": "This is a communication from a debt collector.",
            "zh-CN": "本信息来自债务催收机构。",
        }
    )
    # Reg F 1006.6(e): every electronic message says how to opt out.
    opt_out_notice: dict[str, str] = Field(
        default_factory=lambda: {"en-US": "Reply STOP to opt out.", "zh-CN": "回复TD退订"}
    )
    # CTIA Messaging Principles: a HELP reply names the program and says how often messages
    # come, how to opt out, where to get help, and that rates may apply.
    help_text: dict[str, str] = Field(
        default_factory=lambda: {
            "en-US": (
                "{business_name}: card account notices. Msg frequency varies. "
                "Reply STOP to opt out. Help: {support_number}. Msg & data rates may apply."
            ),
            "zh-CN": (
                "{business_name}：信用卡账户通知，发送频率不定。回复TD退订。"
                "客服电话：{support_number}。"
            ),
        }
    )
    # Sent once for the opt-outs Twilio does not handle itself (TD, 退订, 取消, and opt-outs in
    # plain words such as "please stop texting me"); for STOP and its kin Twilio already
    # confirms on long codes, and a second text would break the TCPA's one-confirmation rule.
    optout_confirmation: dict[str, str] = Field(
        default_factory=lambda: {
            "en-US": "You will no longer receive text messages from {business_name}.",
            "zh-CN": "您已成功退订{business_name}的短信通知。",
        }
    )
    optout_confirmation_calls: dict[str, str] = Field(
        default_factory=lambda: {
            "en-US": "You will no longer receive calls or text messages from {business_name}.",
            "zh-CN": "您已成功退订{business_name}的电话和短信通知。",
        }
    )
    send_optout_confirmation: bool = True
    # Payment reminders (the worker's reminders job, campaigns.reminders): ``plans.
    # reminder_lead_days`` before a promise's date and before each installment's, and once
    # when an installment is missed. Fields: REMINDER_FIELDS.
    promise_reminder: dict[str, str] = Field(
        default_factory=lambda: {
            "en-US": "{business_name}: a reminder that your payment of {amount} is due on "
            "{date}. Questions? Call {callback_number}.",
            "zh-CN": "{business_name}：温馨提示，您承诺的还款{amount}将于{date}到期。"
            "如有疑问请致电{callback_number}。",
        }
    )
    installment_reminder: dict[str, str] = Field(
        default_factory=lambda: {
            "en-US": "{business_name}: a reminder that your plan payment of {amount} is due "
            "on {date}. Questions? Call {callback_number}.",
            "zh-CN": "{business_name}：温馨提示，您的分期还款{amount}将于{date}到期。"
            "如有疑问请致电{callback_number}。",
        }
    )
    installment_missed: dict[str, str] = Field(
        default_factory=lambda: {
            "en-US": "{business_name}: we did not receive your plan payment of {amount} due "
            "on {date}. Please call {callback_number}.",
            "zh-CN": "{business_name}：我们未收到您于{date}到期的分期还款{amount}。"
            "请致电{callback_number}。",
        }
    )

    @field_validator("promise_reminder", "installment_reminder", "installment_missed")
    @classmethod
    def _reminder_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for language in KNOWN_LANGUAGES:
            if not value.get(language):
                raise ValueError(f"no template for {language}")
        for language, template in value.items():
            try:
                names = {n for _, n, _, _ in string.Formatter().parse(template) if n is not None}
            except ValueError as exc:
                raise ValueError(f"{language}: malformed template: {exc}") from exc
            unknown = names - REMINDER_FIELDS
            if unknown:
                raise ValueError(
                    f"{language}: unknown field(s) {sorted(unknown)}; "
                    f"known: {', '.join(sorted(REMINDER_FIELDS))}"
                )
        return value


class PromiseSettings(BaseModel):
    """How promises to pay are settled (``promises:`` in config.yaml).

    ``grace_days``: days after the promised date that a payment still keeps the promise (a
    payment made on the date often reaches the bank's file a day or two later). A promise still
    short once its date plus the grace has passed, in the cardholder's local date, is ``partial``
    (something was paid) or ``broken`` (nothing was).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    grace_days: int = Field(default=2, ge=0, le=30)
