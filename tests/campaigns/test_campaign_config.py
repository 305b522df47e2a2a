"""Campaign definitions fail at load time, naming the problem, not at launch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from campaigns.config import CampaignSettings


def campaign(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "c1",
        "schedule": {"cron": "0 9 * * *", "timezone": "America/New_York"},
        **overrides,
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"schedule": {"cron": "0 9 * *", "timezone": "UTC"}}, "five fields"),
        ({"schedule": {"cron": "0 25 * * *", "timezone": "UTC"}}, "cron '0 25 * * *'"),
        ({"schedule": {"cron": "0 9 * * *", "timezone": "Mars/Base"}}, "unknown IANA time zone"),
        ({"name": "Has Spaces"}, "a-z, 0-9"),
        ({"segment": {"dpd_min": 40, "dpd_max": 30}}, "dpd_max must not be below dpd_min"),
        ({"segment": {"languages": ["fr-FR"]}}, "languages must be among"),
        ({"channel": "sms"}, "sms_template needed for ['en-US', 'zh-CN']"),
        ({"sms_template": {"en-US": "Hi {nickname}"}}, "unknown field(s) ['nickname']"),
        ({"retry": {"busy": {"delay_minutes": 0, "max": 1}}}, "greater than or equal to 1"),
        ({"priority": 11}, "less than or equal to 10"),
    ],
)
def test_a_bad_campaign_is_refused_with_the_reason(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        CampaignSettings.model_validate(campaign(**overrides))
    assert message in str(info.value)


def test_the_schedule_is_read_in_its_own_zone_across_dst() -> None:
    c = CampaignSettings.model_validate(campaign())
    # 09:00 New York is 13:00 UTC in summer and 14:00 UTC in winter.
    summer = c.next_launch(datetime(2026, 7, 1, 0, 0, tzinfo=UTC))
    winter = c.next_launch(datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    assert summer is not None and summer.astimezone(UTC).hour == 13
    assert winter is not None and winter.astimezone(UTC).hour == 14
    assert c.first_channel == "voice"
    fallback = CampaignSettings.model_validate(
        campaign(channel="voice_sms_fallback", sms_template={"en-US": "a", "zh-CN": "b"})
    )
    assert fallback.first_channel == "voice"
