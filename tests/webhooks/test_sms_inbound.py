"""/twilio/sms end to end: the simulator texts the app, signed like Twilio."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from duecall.app import create_app
from duecall.settings import load_settings
from simulator import WsgiTransport, create_simulator
from store.clock import FixedClock
from store.db import Database
from store.models import Suppression

SID = "AC" + "a" * 32
TOKEN = "sms-test-token"
PUBLIC = "https://duecall.test"


@pytest.fixture
def app(db: Database, clock: FixedClock, tmp_path: Path) -> Flask:
    config = tmp_path / "config.yaml"
    config.write_text("", encoding="utf-8")
    settings = load_settings(
        config,
        {
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "DUECALL_SECRET_KEY": "k",
            "DUECALL_PUBLIC_URL": PUBLIC,
        },
    )
    return create_app(settings, db=db, clock=clock)


def test_a_chinese_opt_out_text_is_recorded_and_confirmed(app: Flask, db: Database) -> None:
    sim = create_simulator(SID, TOKEN, transport=WsgiTransport(app), sms_url=f"{PUBLIC}/twilio/sms")
    message = sim.send_inbound_sms("+8613812345678", "+15005550006", "退订")
    sim.run_until_idle()
    assert sim.errors == []
    assert message.reply is not None
    assert "<Message>您已成功退订Northwind Card Services的短信通知。</Message>" in message.reply
    with db.session(readonly=True) as s:
        assert s.scalars(select(Suppression.kind)).all() == ["optout-sms"]


def test_an_unsigned_text_is_refused(app: Flask) -> None:
    r = app.test_client().post("/twilio/sms", data={"From": "+14155550123", "Body": "STOP"})
    assert r.status_code == 403


def test_dont_call_me_by_text_stops_calls_and_texts_with_one_confirmation(
    app: Flask, db: Database
) -> None:
    sim = create_simulator(SID, TOKEN, transport=WsgiTransport(app), sms_url=f"{PUBLIC}/twilio/sms")
    message = sim.send_inbound_sms("+14155550123", "+15005550006", "Please don't call me")
    sim.run_until_idle()
    assert sim.errors == []
    assert message.reply is not None
    assert (
        "<Message>You will no longer receive calls or text messages from Northwind Card Services."
        "</Message>" in message.reply
    )
    with db.session(readonly=True) as s:
        assert sorted(s.scalars(select(Suppression.kind)).all()) == ["optout-sms", "optout-voice"]
