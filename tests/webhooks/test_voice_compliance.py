"""The hotline's duties: the disclosures, revoking consent by voice, an honest promise of a text,
one answer for a locked account, callbacks only when we may call -- through the real webhooks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from flask import Flask
from sqlalchemy import select

from campaigns.sms import worst_case_values
from dialer.compliance import check_contact
from dialer.policy import PolicyProfile, Rule
from duecall.app import create_app
from duecall.settings import ConfigError, Settings, load_settings
from store.clock import FixedClock
from store.db import Database
from store.models import Account, CallbackRequest, OutboxItem, Phone, Suppression
from store.models_ivr import VerificationLock
from tests.webhooks.voice_support import EN_PHONE, ENV, ZH_PHONE, Caller, seed

COLLECTOR = "This is a communication from a debt collector."


def settings(**business: str) -> Settings:
    base = load_settings(None, ENV)
    return base.model_copy(update={"business": base.business.model_copy(update=business)})


def app_for(db: Database, clock: FixedClock, **business: str) -> Flask:
    seed(db, clock.now())
    return create_app(settings(**business), db=db, clock=clock)


def verified(app: Flask, phone: str = EN_PHONE) -> tuple[Caller, str]:
    """A caller verified by caller ID; returns them and what they heard on verifying."""
    caller = Caller(app.test_client(), from_=phone)
    first = caller.start()
    assert COLLECTOR not in first
    last4, born = ("7391", "19710326") if phone == EN_PHONE else ("6058", "19830819")
    caller.press(last4)
    heard = caller.press(born)
    return caller, heard


def test_a_third_party_collector_says_so_once_the_right_party_is_verified(
    db: Database, clock: FixedClock
) -> None:
    app = app_for(db, clock, kind="third_party_collector")
    _, heard = verified(app)
    assert COLLECTOR in heard
    assert heard.index("you are verified") < heard.index(COLLECTOR)


def test_a_creditor_collecting_its_own_debts_says_nothing_of_the_kind(
    db: Database, clock: FixedClock
) -> None:
    _, heard = verified(app_for(db, clock))
    assert COLLECTOR not in heard


def test_a_chinese_cardholder_hears_the_institution_and_the_purpose(
    db: Database, clock: FixedClock
) -> None:
    # cn_cba covers Chinese numbers: after verification the call names who calls and why.
    _, heard = verified(app_for(db, clock), ZH_PHONE)
    assert "这里是Northwind Card Services，本次来电是关于您的信用卡账户还款事宜。" in heard


def test_a_third_party_collectors_sms_template_must_carry_the_notice(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    template = "{business_name}: your payment is past due."
    config.write_text(
        yaml.safe_dump(
            {
                "business": {"kind": "third_party_collector"},
                "campaigns": [
                    {
                        "name": "sms-early",
                        "channel": "sms",
                        "schedule": {"cron": "0 10 * * *", "timezone": "America/New_York"},
                        "sms_template": {"en-US": template, "zh-CN": "{business_name}：逾期。"},
                    }
                ],
            },
            allow_unicode=True,
        ),
        "utf-8",
    )
    with pytest.raises(ConfigError, match=r"campaigns\.0\.sms_template\.en-US: .*debt collector"):
        load_settings(config, ENV)
    config.write_text(
        config.read_text("utf-8")
        .replace("past due.", "past due. {collector_disclosure}")
        .replace("逾期。", "逾期。{collector_disclosure}"),
        "utf-8",
    )
    assert load_settings(config, ENV).business.kind == "third_party_collector"


def test_a_collectors_confirmation_text_says_so_too(db: Database, clock: FixedClock) -> None:
    app = app_for(db, clock, kind="third_party_collector")
    caller, _ = verified(app)
    for keys in ("2", "20261205", "600#", "1"):
        caller.press(keys)
    with db.session(readonly=True) as s:
        (sms,) = s.scalars(select(OutboxItem)).all()
    assert COLLECTOR in sms.payload["body"]
    assert sms.payload["body"].endswith("Reply STOP to opt out.")


def test_pressing_8_opts_the_number_out_of_calls_at_once(db: Database, clock: FixedClock) -> None:
    caller, _ = verified(app_for(db, clock))
    heard = caller.press("8")
    assert "We will not call this number again" in heard
    with db.session() as s:
        (row,) = s.scalars(select(Suppression)).all()
        assert (row.kind, row.number, row.source, row.created_by) == (
            "optout-voice",
            EN_PHONE,
            "ivr",
            "cardholder",
        )
        account = s.get_one(Account, "70000001")
        decision, _ = check_contact(
            s,
            account,
            EN_PHONE,
            "voice",
            now=clock.now() + timedelta(minutes=1),
            profile=PolicyProfile.us_reg_f(),
            context="test",
        )
    assert decision.rule == Rule.OPTOUT_VOICE


def test_a_text_is_promised_only_when_one_can_be_sent(db: Database, clock: FixedClock) -> None:
    app = app_for(db, clock)
    with db.session() as s:
        phone = s.scalars(select(Phone).where(Phone.number == EN_PHONE)).one()
        phone.sms_consent = False
    caller, _ = verified(app)
    for keys in ("2", "20261205", "600#"):
        caller.press(keys)
    heard = caller.press("1")
    assert "your promise is recorded" in heard
    assert "text message" not in heard


def test_with_consent_the_confirmation_text_is_announced(db: Database, clock: FixedClock) -> None:
    caller, _ = verified(app_for(db, clock))
    for keys in ("2", "20261205", "600#"):
        caller.press(keys)
    assert "We will send you a confirmation by text message." in caller.press("1")


def _attempt_verify(app: Flask, last4: str, born: str) -> str:
    caller = Caller(app.test_client(), from_=EN_PHONE)
    caller.start()
    caller.press(last4)
    return caller.press(born)


def test_a_locked_account_answers_the_same_whichever_factor_is_wrong(
    db: Database, clock: FixedClock
) -> None:
    app = app_for(db, clock)
    with db.session() as s:
        s.add(
            VerificationLock(
                account_id="70000001", locked_at=clock.now(), failures=5, reason="test"
            )
        )
    answers = {
        "both right": _attempt_verify(app, "7391", "19710326"),
        "card wrong": _attempt_verify(app, "0000", "19710326"),
        "birth date wrong": _attempt_verify(app, "7391", "19000101"),
    }
    spoken = {k: v.split("<Gather")[0] + v.split("</Gather>")[-1] for k, v in answers.items()}
    assert len(set(spoken.values())) == 1, answers
    assert all("not able to complete your verification" in v for v in answers.values())


def _to_callback_time(app: Flask) -> Caller:
    caller, _ = verified(app)
    caller.press("0")
    return caller


def test_a_callback_outside_the_calling_window_is_refused_with_the_allowed_range(
    db: Database, clock: FixedClock
) -> None:
    # 10:00 in New York: 22:30 today is past 21:00 (and the 10-minute margin).
    caller = _to_callback_time(app_for(db, clock))
    heard = caller.press("2230#")
    assert "only between 8:00 AM and 8:50 PM, your local time" in heard
    with db.session(readonly=True) as s:
        assert s.scalars(select(CallbackRequest)).all() == []
    heard = caller.press("1430#")
    assert "An agent will call you back at 2:30 PM" in heard
    with db.session(readonly=True) as s:
        (booked,) = s.scalars(select(CallbackRequest)).all()
    assert booked.preferred_at == datetime.fromisoformat("2026-11-29T19:30:00+00:00")


def test_the_worst_case_values_include_the_collector_notice() -> None:
    assert worst_case_values("en-US")["collector_disclosure"] == COLLECTOR
