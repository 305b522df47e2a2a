"""Campaign definitions (``campaigns:`` in config.yaml)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CampaignSettings(BaseModel):
    """One campaign: who, how, when."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SmsSettings(BaseModel):
    """SMS wording and limits (``sms:`` in config.yaml). Texts are per language.

    ``help_text`` and ``optout_confirmation`` may use ``{business_name}`` and
    ``{support_number}``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_segments: int = Field(default=3, ge=1, le=10)
    # Reg F 1006.6(e): every electronic message says how to opt out.
    opt_out_notice: dict[str, str] = Field(
        default_factory=lambda: {"en-US": "Reply STOP to opt out.", "zh-CN": "回复TD退订"}
    )
    help_text: dict[str, str] = Field(
        default_factory=lambda: {
            "en-US": (
                "{business_name}: card account notices. Reply STOP to opt out. "
                "Help: {support_number}. Msg & data rates may apply."
            ),
            "zh-CN": "{business_name}：信用卡账户通知。回复TD退订。客服电话：{support_number}。",
        }
    )
    # Sent once for the keywords Twilio does not handle itself (TD, 退订, 取消); for STOP and
    # its kin Twilio already confirms on long codes, and a second text would break the TCPA's
    # one-confirmation rule.
    optout_confirmation: dict[str, str] = Field(
        default_factory=lambda: {
            "en-US": "You will no longer receive text messages from {business_name}.",
            "zh-CN": "您已成功退订{business_name}的短信通知。",
        }
    )
    send_optout_confirmation: bool = True
