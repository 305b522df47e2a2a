"""The collaborators built from the settings carry the configured values."""

from __future__ import annotations

from pathlib import Path

from duecall.settings import load_settings
from duecall.wiring import build_sender


def test_the_sender_checks_texts_against_the_configured_segment_limit(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("sms:\n  max_segments: 2\n", encoding="utf-8")
    sender = build_sender(load_settings(config, {}))
    assert sender.max_segments == 2
    assert sender.opt_out_notice["en-US"] == "Reply STOP to opt out."
