"""Inbound texts: every keyword in both languages, redaction, idempotent on MessageSid."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from campaigns.config import SmsSettings
from campaigns.inbound_sms import InboundSms, classify, handle_inbound_sms, inbox, mark_handled
from store.db import Database
from store.models import InboundMessage, Suppression

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
NUMBER = "+14155550123"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("STOP", "optout"),
        (" stop. ", "optout"),
        ("Stop", "optout"),
        ("StopAll", "optout"),
        ("unsubscribe!", "optout"),
        ("cancel", "optout"),
        ("END", "optout"),
        ("quit", "optout"),
        ("Revoke", "optout"),
        ("opt out", "optout"),
        ("OPTOUT", "optout"),
        ("TD", "optout"),
        ("td", "optout"),
        ("退订", "optout"),
        (" 退订。", "optout"),
        ("取消", "optout"),
        ("START", "optin"),
        ("unstop", "optin"),
        ("Yes", "optin"),
        ("HELP", "help"),
        ("help?", "help"),
        ("帮助", "help"),
        ("please stop calling me at work", "message"),
        ("stopp", "message"),
        ("", "message"),
    ],
)
def test_keywords_are_recognised_whatever_the_case_spacing_or_punctuation(
    body: str, kind: str
) -> None:
    assert classify(body)[0] == kind


def handle(db: Database, body: str, sid: str, number: str = NUMBER) -> tuple[str, str | None]:
    with db.session() as s:
        result = handle_inbound_sms(
            s,
            InboundSms(sid, number, "+15005550006", body),
            now=NOW,
            config=SmsSettings(),
            business_name="Northwind Card Services",
            support_number="+18005550100",
        )
    return result.kind, result.reply


def active_optouts(db: Database, number: str = NUMBER) -> int:
    with db.session(readonly=True) as s:
        return len(
            s.scalars(
                select(Suppression).where(
                    Suppression.number == number,
                    Suppression.kind == "optout-sms",
                    Suppression.removed_at.is_(None),
                )
            ).all()
        )


def test_stop_is_recorded_without_a_second_confirmation(db: Database) -> None:
    assert handle(db, "Stop", "SM1") == ("optout", None)  # Twilio confirms STOP itself
    assert active_optouts(db) == 1
    with db.session(readonly=True) as s:
        row = s.scalars(select(Suppression)).one()
        assert (row.source, row.created_by, row.reason) == ("sms", "cardholder", "texted STOP")


def test_td_is_recorded_and_confirmed_once_in_chinese(db: Database) -> None:
    kind, reply = handle(db, "TD", "SM1")
    assert kind == "optout"
    assert reply == "您已成功退订Northwind Card Services的短信通知。"
    assert handle(db, "退订", "SM2") == ("optout", None)  # already opted out: no second text
    assert active_optouts(db) == 1


def test_start_lifts_the_opt_out(db: Database) -> None:
    handle(db, "STOP", "SM1")
    assert handle(db, "start", "SM2") == ("optin", None)
    assert active_optouts(db) == 0


def test_help_gets_the_help_text(db: Database) -> None:
    kind, reply = handle(db, "HELP", "SM1")
    assert kind == "help"
    assert reply is not None
    assert "Northwind Card Services" in reply and "STOP" in reply and "+18005550100" in reply
    _, reply = handle(db, "帮助", "SM2")
    assert reply is not None and "回复TD退订" in reply


def test_other_texts_wait_in_the_inbox_with_card_numbers_redacted(db: Database) -> None:
    handle(db, "I paid with card 4111 1111 1111 1111 yesterday", "SM1")
    with db.session() as s:
        waiting = inbox(s)
        assert [m.body for m in waiting] == ["I paid with card [card ****1111] yesterday"]
        assert mark_handled(s, waiting[0].id, by="maria", now=NOW)
    with db.session(readonly=True) as s:
        assert inbox(s) == []
        assert len(inbox(s, include_handled=True)) == 1


def test_a_retried_webhook_changes_nothing(db: Database) -> None:
    handle(db, "TD", "SM1")
    assert handle(db, "TD", "SM1") == ("optout", None)
    with db.session(readonly=True) as s:
        assert len(s.scalars(select(InboundMessage)).all()) == 1
