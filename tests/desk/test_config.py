"""The desk's settings: shifts in their zones, queues in their order, bad keys named."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from desk.config import DeskSettings, Hours, Shift
from duecall.settings import ConfigError, load_settings


def _load(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_settings(path, environ={})
    except ConfigError as exc:
        return exc.problems
    return []


def test_a_misspelt_desk_key_is_named_with_the_nearest_one(tmp_path: Path) -> None:
    problems = _load(tmp_path, "desk:\n  wrap_up_secs: 10\n")
    assert problems == ["desk.wrap_up_secs: unknown key; did you mean `wrap_up_seconds`?"]


def test_a_bad_shift_names_its_day_and_zone(tmp_path: Path) -> None:
    problems = _load(
        tmp_path,
        "desk:\n  shifts:\n    early: {days: [mon, funday], start: '07:00', end: '15:00',"
        " timezone: Mars/Base}\n",
    )
    assert any(p.startswith("desk.shifts.early.days.1:") for p in problems)
    assert any(p.startswith("desk.shifts.early.timezone:") and "IANA" in p for p in problems)


def test_fraud_must_be_the_first_queue(tmp_path: Path) -> None:
    problems = _load(
        tmp_path,
        "desk:\n  queues:\n    - {name: collections, reasons: [agent]}\n"
        "    - {name: fraud, reasons: [fraud]}\n",
    )
    assert problems == [
        "desk.queues: queue 1 (fraud) takes fraud reports, so it must come first "
        "(fraud is always served first)"
    ]


def test_the_shipped_config_has_a_roster_and_fraud_first() -> None:
    settings = load_settings(Path(__file__).parents[2] / "config.yaml", environ={})
    assert settings.desk.queues[0].reasons == ("fraud",)
    assert {"early", "late", "weekend"} <= set(settings.desk.shifts)


def test_a_shift_is_open_in_its_own_zone_across_dst_and_past_midnight() -> None:
    early = Hours(
        days=("mon", "tue", "wed", "thu", "fri"),
        start="08:00",
        end="16:00",
        timezone="America/New_York",
    )
    # Monday 7 December 2026, 13:00 UTC is 08:00 in New York (EST, UTC-5).
    assert early.is_open(datetime(2026, 12, 7, 13, 0, tzinfo=UTC))
    assert not early.is_open(datetime(2026, 12, 7, 12, 59, tzinfo=UTC))
    # Monday 6 July 2026, 12:00 UTC is 08:00 EDT (UTC-4).
    assert early.is_open(datetime(2026, 7, 6, 12, 0, tzinfo=UTC))
    assert not early.is_open(datetime(2026, 12, 5, 15, 0, tzinfo=UTC))  # a Saturday
    late = Hours(days=("fri",), start="18:00", end="01:00", timezone="Asia/Shanghai")
    # Saturday 00:30 in Shanghai belongs to Friday's late shift; it ends at 01:00 local.
    saturday = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)
    assert late.period_end(saturday) == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    assert not late.is_open(datetime(2026, 12, 5, 16, 30, tzinfo=UTC))


def test_on_shift_lists_each_rostered_agent_with_the_latest_end() -> None:
    desk = DeskSettings(
        shifts={
            "early": Shift(start="08:00", end="16:00", timezone="UTC", agents=("ana", "bo")),
            "late": Shift(start="12:00", end="20:00", timezone="UTC", agents=("bo",)),
        }
    )
    at = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
    assert desk.on_shift(at) == {
        "ana": datetime(2026, 12, 7, 16, 0, tzinfo=UTC),
        "bo": datetime(2026, 12, 7, 20, 0, tzinfo=UTC),
    }
    assert desk.on_shift(datetime(2026, 12, 7, 21, 0, tzinfo=UTC)) == {}


@pytest.mark.parametrize(
    ("reason", "language", "queue"),
    [
        ("fraud", "zh-CN", "fraud"),
        ("agent", "en-US", "collections-en"),
        ("verification", "zh-CN", "collections-zh"),
        ("callback", "en-US", "callbacks"),
    ],
)
def test_each_reason_and_language_has_its_queue(reason: str, language: str, queue: str) -> None:
    found = DeskSettings().queue_for(reason, language)
    assert found is not None and found.name == queue
