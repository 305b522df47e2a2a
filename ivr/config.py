"""The IVR's configuration section (``ivr:`` in config.yaml).

Keys, voices, timeouts and limits of the call flow; the words themselves live in the prompt
catalogues (``ivr/prompts/<language>.yaml``). Business name, agent name and callback number come
from the ``business`` section, because the limited-content voicemail may carry nothing else
(Reg F 12 CFR 1006.2(j)).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_KEY_CHARS = frozenset("0123456789*")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _one_key(value: str) -> str:
    if len(value) != 1 or value not in _KEY_CHARS:
        raise ValueError("must be one phone key: 0-9 or *")
    return value


class MenuKeys(_Section):
    """The main menu's keys; the defaults are the README's (1 balance, 2 promise, 3 how to pay,
    4 repayment plan, 5 fraud or lost card, 8 stop these calls, 0 an agent, 9 repeat)."""

    balance: str = "1"
    promise: str = "2"
    how_to_pay: str = "3"
    repayment_plan: str = "4"
    fraud: str = "5"
    #: Stop these calls: a voice opt-out for the number calling (TCPA: revocation by any
    #: reasonable means).
    optout: str = "8"
    agent: str = "0"
    repeat: str = "9"

    _check = field_validator("*")(_one_key)

    @model_validator(mode="after")
    def _distinct(self) -> MenuKeys:
        keys = list(self.model_dump().values())
        if len(set(keys)) != len(keys):
            raise ValueError("menu keys must be distinct")
        return self


class ChoiceKeys(_Section):
    """Two-way choices: ``accept`` answers yes to the right-party question and confirms a
    promise read back, ``decline`` says no / re-enter; ``agent`` takes the agent offer."""

    accept: str = "1"
    decline: str = "2"
    agent: str = "0"

    _check = field_validator("*")(_one_key)

    @model_validator(mode="after")
    def _distinct(self) -> ChoiceKeys:
        if len({self.accept, self.decline, self.agent}) != 3:
            raise ValueError("accept, decline and agent keys must be distinct")
        return self


def _default_language_keys() -> dict[str, str]:
    return {"en-US": "1", "zh-CN": "2"}


class IvrKeys(_Section):
    """``language`` maps each language to its key in the language menu, offered in that order."""

    language: dict[str, str] = Field(default_factory=_default_language_keys)
    menu: MenuKeys = MenuKeys()
    choice: ChoiceKeys = ChoiceKeys()

    @field_validator("language")
    @classmethod
    def _language_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value.values():
            _one_key(key)
        if len(set(value.values())) != len(value):
            raise ValueError("language keys must be distinct")
        return value


class VoiceSettings(_Section):
    """How one language is spoken: TwiML ``<Say voice=... language=...>``."""

    voice: str = Field(min_length=1)
    language: str = Field(min_length=2)


def _default_voices() -> dict[str, VoiceSettings]:
    # Amazon Polly through Twilio: Joanna speaks en-US; Zhiyu is Polly's Mandarin voice, whose
    # language code is cmn-CN (Twilio's TTS table and Polly's voice list). The retired `alice`
    # voice spoke Mandarin as zh-CN.
    return {
        "en-US": VoiceSettings(voice="Polly.Joanna", language="en-US"),
        "zh-CN": VoiceSettings(voice="Polly.Zhiyu", language="cmn-CN"),
    }


class GatherSettings(_Section):
    """Seconds Twilio waits for the first key / between keys before the Gather gives up."""

    menu_timeout_seconds: int = Field(default=6, ge=1, le=30)
    entry_timeout_seconds: int = Field(default=10, ge=1, le=30)


class LockoutSettings(_Section):
    """Failed verifications: per call, then per account across calls (agent-only afterwards)."""

    per_call: int = Field(default=3, ge=1, le=10)
    per_window: int = Field(default=5, ge=1, le=50)
    window_hours: int = Field(default=24, ge=1, le=24 * 30)


class PromiseSettings(_Section):
    max_days: int = Field(default=30, ge=0, le=365)


class HoldSettings(_Section):
    """The silent hold of an answered reminder call until the AMD verdict arrives.

    Silent on purpose: anything spoken here would be recorded on a voicemail ahead of the
    limited-content message, which must contain nothing else (Reg F 1006.2(j)). The bound
    (``pause_seconds * max_loops``) should exceed Twilio's MachineDetectionTimeout (30 s by
    default); when it runs out without a verdict the call gets the limited-content message.
    """

    pause_seconds: int = Field(default=2, ge=1, le=10)
    max_loops: int = Field(default=20, ge=1, le=100)


def _default_payment_methods() -> dict[str, tuple[str, ...]]:
    return {
        "en-US": (
            "online at northwind card dot com, under Payments",
            "in our mobile app",
            "by bank transfer, quoting your account number",
        ),
        "zh-CN": (
            "登录网上银行，在还款页面还款",
            "使用手机银行应用还款",
            "通过银行转账还款，并注明您的账户号码",
        ),
    }


class IvrSettings(BaseModel):
    """Keys, voices, limits of the call flow."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: IvrKeys = IvrKeys()
    voices: dict[str, VoiceSettings] = Field(default_factory=_default_voices)
    gather: GatherSettings = GatherSettings()
    max_misses: int = Field(default=3, ge=1, le=10)
    lockout: LockoutSettings = LockoutSettings()
    promise: PromiseSettings = PromiseSettings()
    payment_methods: dict[str, tuple[str, ...]] = Field(default_factory=_default_payment_methods)
    hold: HoldSettings = HoldSettings()
    max_account_number_digits: int = Field(default=20, ge=4, le=64)
    #: A call whose session has not moved for this long is over (Twilio ends a call after 4
    #: hours by default): a request for it is a replay and gets a hangup.
    session_ttl_minutes: int = Field(default=240, ge=5, le=24 * 60)

    @model_validator(mode="after")
    def _every_language_complete(self) -> IvrSettings:
        for language in ("en-US", "zh-CN"):
            if language not in self.voices:
                raise ValueError(f"voices: no voice for {language}")
            if not self.payment_methods.get(language):
                raise ValueError(f"payment_methods: none for {language}")
        return self
