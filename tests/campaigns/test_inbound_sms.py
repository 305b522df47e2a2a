"""Inbound texts: every keyword in both languages, opt-outs in plain words, redaction, the inbox's
answer-by date, idempotent on MessageSid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from campaigns.config import SmsSettings
from campaigns.inbound_sms import (
    InboundSms,
    classify,
    classify_message,
    handle_inbound_sms,
    inbox,
    mark_handled,
    response_due,
)
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
        ("INFO", "help"),
        ("info.", "help"),
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


def active_optouts(db: Database, number: str = NUMBER, kind: str = "optout-sms") -> int:
    with db.session(readonly=True) as s:
        return len(
            s.scalars(
                select(Suppression).where(
                    Suppression.number == number,
                    Suppression.kind == kind,
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


def test_help_and_info_say_how_often_messages_come_in_both_languages(db: Database) -> None:
    # CTIA Messaging Principles: the HELP answer includes the message frequency.
    _, help_reply = handle(db, "HELP", "SM1")
    _, info_reply = handle(db, "Info", "SM2")
    assert help_reply is not None and "Msg frequency varies." in help_reply
    assert info_reply == help_reply
    _, chinese = handle(db, "帮助", "SM3", number="+8613812345678")
    assert chinese is not None and "发送频率不定" in chinese


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


@pytest.mark.parametrize(
    ("body", "channels"),
    [
        ("Please stop", {"sms"}),
        ("stop texting me", {"sms"}),
        ("Stop texting me!", {"sms"}),
        ("Hi, please stop texting me, thanks", {"sms"}),
        ("stop sending me messages", {"sms"}),
        ("Stop it", {"sms"}),
        ("unsubscribe me", {"sms"}),
        ("Please unsubscribe me from this list", {"sms"}),
        ("opt me out", {"sms"}),
        ("Take me off your list", {"sms"}),
        ("Remove me from the list please", {"sms"}),
        ("No more texts", {"sms"}),
        ("don't text me", {"sms"}),
        ("TD退订", {"sms"}),
        ("TD 退订", {"sms"}),
        ("退訂", {"sms"}),  # traditional script
        ("取消訂閱", {"sms"}),
        ("取消订阅短信", {"sms"}),
        ("请不要再发短信了", {"sms"}),
        # Words about calls revoke calls too.
        ("don't call me", {"sms", "voice"}),
        ("Don\u2019t call me.", {"sms", "voice"}),
        ("dont call me", {"sms", "voice"}),
        ("Do NOT call me again please", {"sms", "voice"}),
        ("stop calling me", {"sms", "voice"}),
        ("please don't contact me", {"sms", "voice"}),
        ("no more calls", {"sms", "voice"}),
        ("请不要再给我打电话了！", {"sms", "voice"}),
        ("別再打電話", {"sms", "voice"}),
    ],
)
def test_opt_outs_in_plain_words_are_opt_outs(body: str, channels: set[str]) -> None:
    found = classify_message(body)
    assert (found.kind, set(found.channels), found.by_twilio) == ("optout", channels, False)


@pytest.mark.parametrize(
    "body",
    [
        "I will stop by the branch",
        "can you stop the late fee",
        "stop the late fee",
        "please stop calling me at work",  # a time or place to avoid, for an agent to note
        "don't call me before 6pm",
        "I paid, stop",
        "Why did you stop my card?",
        "cancel my card",
        "remove me from the account, I'm not the cardholder",
        "取消分期",  # cancel the instalment plan
        "我明天还款，请不要再打电话",  # a promise as well: a person should read it
        "Stop texting my husband",
    ],
)
def test_texts_that_only_mention_stopping_are_not_opt_outs(body: str) -> None:
    assert classify_message(body).kind == "message"


def test_a_plain_words_opt_out_is_recorded_and_confirmed_once(db: Database) -> None:
    kind, reply = handle(db, "Please stop texting me", "SM1")
    assert kind == "optout"
    assert reply == "You will no longer receive text messages from Northwind Card Services."
    assert active_optouts(db) == 1
    assert active_optouts(db, kind="optout-voice") == 0
    assert handle(db, "unsubscribe me", "SM2") == ("optout", None)  # already out: no second text
    with db.session(readonly=True) as s:
        assert inbox(s) == []
        row = s.scalars(select(Suppression)).one()
        assert (row.source, row.created_by, row.reason) == (
            "sms",
            "cardholder",
            "texted please stop texting me",
        )


def test_dont_call_me_revokes_calls_and_texts_with_one_confirmation(db: Database) -> None:
    kind, reply = handle(db, "Don't call me", "SM1")
    assert kind == "optout"
    assert reply == (
        "You will no longer receive calls or text messages from Northwind Card Services."
    )
    assert active_optouts(db) == 1
    assert active_optouts(db, kind="optout-voice") == 1
    assert handle(db, "stop calling me", "SM2") == ("optout", None)


def test_a_chinese_plain_words_opt_out_is_confirmed_in_chinese(db: Database) -> None:
    kind, reply = handle(db, "退訂", "SM1", number="+8613812345678")
    assert kind == "optout"
    assert reply == "您已成功退订Northwind Card Services的短信通知。"
    assert active_optouts(db, number="+8613812345678") == 1


def test_stop_words_twilio_handles_still_get_no_confirmation_from_us(db: Database) -> None:
    assert handle(db, "UNSUBSCRIBE", "SM1") == ("optout", None)
    assert active_optouts(db) == 1


def test_free_text_waits_with_an_answer_by_date_ten_business_days_on(db: Database) -> None:
    handle(db, "Can you stop the late fee?", "SM1")  # NOW is Tuesday 2026-12-01
    handle(db, "TD", "SM2")
    with db.session(readonly=True) as s:
        (waiting,) = inbox(s)
        assert waiting.due_at == datetime(2026, 12, 15, 15, 0, tzinfo=UTC)
        keyword_row = s.scalars(
            select(InboundMessage).where(InboundMessage.message_sid == "SM2")
        ).one()
        assert keyword_row.due_at is None


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (datetime(2026, 12, 2, 9, 30, tzinfo=UTC), datetime(2026, 12, 16, 9, 30, tzinfo=UTC)),
        (datetime(2026, 12, 4, 9, 30, tzinfo=UTC), datetime(2026, 12, 18, 9, 30, tzinfo=UTC)),
        (datetime(2026, 12, 5, 9, 30, tzinfo=UTC), datetime(2026, 12, 18, 9, 30, tzinfo=UTC)),
        (datetime(2026, 12, 6, 9, 30, tzinfo=UTC), datetime(2026, 12, 18, 9, 30, tzinfo=UTC)),
    ],
    ids=["wednesday", "friday", "saturday", "sunday"],
)
def test_the_answer_by_date_skips_weekends(received: datetime, due: datetime) -> None:
    assert response_due(received) == due


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_exactly_ten_weekdays_pass_and_the_due_date_is_a_weekday(received: datetime) -> None:
    received = received.replace(tzinfo=UTC)
    due = response_due(received)
    assert due.weekday() < 5
    assert due.time() == received.time()
    days = (due.date() - received.date()).days
    weekdays = [received + timedelta(days=n) for n in range(1, days + 1)]
    assert sum(1 for d in weekdays if d.weekday() < 5) == 10
