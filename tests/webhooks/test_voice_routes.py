"""The hotline's routes: signatures, a whole call, replays, masking, lockout, faults, junk."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select
from sqlalchemy.orm.exc import StaleDataError
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from ivr.service import IvrService
from store.clock import FixedClock
from store.db import Database
from store.models import AuditLog, CallbackRequest, OutboxItem, Promise
from store.models_ivr import IvrSession, VerificationFailure, VerificationLock
from tests.webhooks.voice_support import (
    EN_PHONE,
    PUBLIC,
    ZH_PHONE,
    Caller,
    make_app,
    seed,
    sign,
)

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")

_HANGUP = VoiceResponse()
_HANGUP.hangup()
HANGUP = str(_HANGUP)


@pytest.fixture
def app(db: Database, clock: FixedClock) -> Flask:
    seed(db, clock.now())
    return make_app(db, clock)


def count(db: Database, model: type) -> int:
    with db.session(readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def verified_caller(app: Flask, phone: str = EN_PHONE) -> Caller:
    caller = Caller(app.test_client(), from_=phone)
    caller.start()
    last4, born = ("7391", "19710326") if phone == EN_PHONE else ("6058", "19830819")
    caller.press(last4)
    caller.press(born)
    assert caller.status == 200
    return caller


@pytest.mark.parametrize(
    "path", ["/twilio/voice", "/twilio/voice/outbound?attempt=1", "/twilio/voice/amd?attempt=1"]
)
def test_forged_and_missing_signatures_get_403_and_nothing_is_stored(
    app: Flask, db: Database, path: str
) -> None:
    client = app.test_client()
    form = {"CallSid": "CA" + "a" * 32, "From": EN_PHONE, "AnsweredBy": "human"}
    assert client.post(path, data=form).status_code == 403
    forged = sign(f"{PUBLIC}{path}", {**form, "From": ZH_PHONE})
    assert client.post(path, data=form, headers={"X-Twilio-Signature": forged}).status_code == 403
    wrong_token = RequestValidator("not-the-token").compute_signature(f"{PUBLIC}{path}", form)
    assert (
        client.post(path, data=form, headers={"X-Twilio-Signature": wrong_token}).status_code == 403
    )
    assert count(db, IvrSession) == 0


def test_a_get_action_with_an_encoded_query_string_validates(app: Flask) -> None:
    caller = Caller(app.test_client(), from_=EN_PHONE)
    caller.start()
    query = urlencode({"note": "a b/c&d"})  # note=a+b%2Fc%26d: Werkzeug would re-encode it
    url = f"{caller.action()}&{query}&{urlencode({**caller.params(), 'Digits': '7391'})}"
    response = app.test_client().get(
        url.removeprefix(PUBLIC), headers={"X-Twilio-Signature": sign(url)}
    )
    assert response.status_code == 200
    assert "date of birth" in response.get_data(as_text=True)
    reencoded = url.replace("a+b", "a%20b")
    response = app.test_client().get(
        url.removeprefix(PUBLIC), headers={"X-Twilio-Signature": sign(reencoded)}
    )
    assert response.status_code == 403


def test_a_hotline_call_stores_one_promise_and_queues_its_confirmation_sms(
    app: Flask, db: Database
) -> None:
    caller = verified_caller(app)
    caller.press("2")
    caller.press("20261205")
    caller.press("600#")
    assert "You promise to pay $600.00 on December 5." in caller.spoken()
    caller.press("1")
    assert "your promise is recorded" in caller.spoken()
    with db.session(readonly=True) as s:
        (promise,) = s.scalars(select(Promise)).all()
        assert (promise.account_id, str(promise.amount), promise.source, promise.status) == (
            "70000001",
            "600.00",
            "ivr",
            "open",
        )
        assert promise.call_sid == caller.call_sid
        (sms,) = s.scalars(select(OutboxItem)).all()
        assert (sms.kind, sms.number, sms.status) == (
            "sms.promise_confirmation",
            EN_PHONE,
            "pending",
        )
        assert sms.payload["purpose"] == "promise_confirmation"
        assert sms.payload["body"] == (
            "Northwind Card Services: we have noted your promise to pay $600.00 on December 5."
            " Questions? Call +1 800-555-0100. Reply STOP to opt out."
        )
        actions = set(s.scalars(select(AuditLog.action)).all())
        assert {"ivr.verified", "ivr.promise"} <= actions


def test_a_new_promise_replaces_the_accounts_open_one(app: Flask, db: Database) -> None:
    for amount in ("600#", "700#"):
        caller = verified_caller(app)
        caller.press("2")
        caller.press("20261205")
        caller.press(amount)
        caller.press("1")
        assert "your promise is recorded" in caller.spoken()
    with db.session(readonly=True) as s:
        rows = s.execute(select(Promise.amount, Promise.status).order_by(Promise.id)).all()
    assert [(str(a), st) for a, st in rows] == [("600.00", "cancelled"), ("700.00", "open")]


def test_the_mandarin_confirmation_sms_is_written_in_mandarin(app: Flask, db: Database) -> None:
    caller = verified_caller(app, ZH_PHONE)
    for keys in ("2", "20261203", "600#", "1"):
        caller.press(keys)
    with db.session(readonly=True) as s:
        (sms,) = s.scalars(select(OutboxItem)).all()
        payload = dict(sms.payload)
    assert payload["body"].startswith("Northwind Card Services：我们已记录您于12月3日还款600.00元")
    assert payload["language"] == "zh-CN"
    # The configured notice (sms.opt_out_notice), the one every reminder carries: the IVR's own
    # catalogue once said "回复STOP退订。" here while the campaigns said "回复TD退订".
    assert payload["body"].endswith("。回复TD退订")
    assert "STOP" not in payload["body"]


def test_a_replayed_request_gets_the_same_twiml_and_stores_nothing_twice(
    app: Flask, db: Database
) -> None:
    caller = verified_caller(app)
    for keys in ("2", "20261205", "600#"):
        caller.press(keys)
    confirm_url = caller.action()
    first = caller.press("1")
    for _ in range(2):
        assert caller.post(confirm_url, {"Digits": "1", "FinishedOnKey": ""}) == first
    assert (count(db, Promise), count(db, OutboxItem)) == (1, 1)
    # A replayed first request and a stale earlier step -- a captured signed request sent again
    # after the caller verified -- get a hangup, never the current document, and change nothing.
    with db.session(readonly=True) as s:
        step = s.get(IvrSession, caller.call_sid).step  # type: ignore[union-attr]
    assert caller.start() == HANGUP
    stale = caller.post(f"{PUBLIC}/twilio/voice?step=2", {"Digits": "9"})
    assert stale == HANGUP
    with db.session(readonly=True) as s:
        assert s.get(IvrSession, caller.call_sid).step == step  # type: ignore[union-attr]


def test_a_replayed_first_request_after_verification_discloses_nothing(
    app: Flask, db: Database
) -> None:
    caller = verified_caller(app)
    heard = caller.press("1")
    assert "$4,823.17" in heard
    assert caller.start() == HANGUP


def test_a_call_that_ended_or_went_stale_answers_a_hangup(
    app: Flask, db: Database, clock: FixedClock
) -> None:
    caller = verified_caller(app)
    current = caller.action()
    clock.advance(timedelta(hours=5))  # longer than any call lasts (ivr.session_ttl_minutes)
    assert caller.post(current, {"Digits": "1"}) == HANGUP
    with db.session(readonly=True) as s:
        session = s.get(IvrSession, caller.call_sid)
        assert session is not None and session.state == "menu"


def test_verification_digits_are_masked_in_the_stored_request_and_the_logs(
    app: Flask, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        caller = Caller(app.test_client(), from_=EN_PHONE)
        caller.start()
        caller.press("7391")
        with db.session(readonly=True) as s:
            stored = s.get(IvrSession, caller.call_sid).last_request  # type: ignore[union-attr]
        assert stored["Digits"] == "***"
        assert stored["From"] != EN_PHONE and stored["From"].endswith("0123")
        caller.press("19710326")
        with db.session(readonly=True) as s:
            row = s.get(IvrSession, caller.call_sid)
            assert row is not None and row.last_request["Digits"] == "***"
            assert "7391" not in str(row.data) and "19710326" not in str(row.data)
        caller.press("1")
        with db.session(readonly=True) as s:
            assert s.get(IvrSession, caller.call_sid).last_request["Digits"] == "1"  # type: ignore[union-attr]
    assert "7391" not in caplog.text and "19710326" not in caplog.text
    assert EN_PHONE not in caplog.text


def test_five_failures_in_a_day_lock_the_account_with_a_fraud_alert(
    app: Flask, db: Database, clock: FixedClock
) -> None:
    caller = Caller(app.test_client(), from_=EN_PHONE)
    caller.start()
    for _ in range(3):
        caller.press("7391")
        caller.press("19000101")
    assert "not able to complete your verification" in caller.spoken()
    assert count(db, VerificationLock) == 0
    clock.advance(timedelta(hours=5))
    caller = Caller(app.test_client(), from_=EN_PHONE)
    caller.start()
    for _ in range(2):
        caller.press("1111")
        caller.press("19710326")
    assert count(db, VerificationFailure) == 5
    with db.session(readonly=True) as s:
        (lock,) = s.scalars(select(VerificationLock)).all()
        assert (lock.account_id, lock.failures, lock.cleared_at) == ("70000001", 5, None)
        (alert,) = s.scalars(
            select(AuditLog).where(AuditLog.action == "fraud_alert.verification_lockout")
        ).all()
        assert alert.entity_id == "70000001"
    # The right answers no longer verify by keypad, in this call or the next.
    caller.press("7391")
    caller.press("19710326")
    assert "not able to complete your verification" in caller.spoken()
    caller = Caller(app.test_client(), from_=EN_PHONE)
    caller.start()
    caller.press("7391")
    caller.press("19710326")
    assert "Thank you, you are verified" not in caller.spoken()
    caller.press("0")
    with db.session(readonly=True) as s:
        callback = s.scalars(select(CallbackRequest)).one()
        assert (callback.reason, callback.verified, callback.account_id) == (
            "verification",
            False,
            "70000001",
        )


def test_failures_older_than_the_window_do_not_lock(
    app: Flask, db: Database, clock: FixedClock
) -> None:
    for _ in range(2):
        caller = Caller(app.test_client(), from_=EN_PHONE)
        caller.start()
        for _ in range(3):
            caller.press("7391")
            caller.press("19000101")
        clock.advance(timedelta(hours=25))
    assert count(db, VerificationFailure) == 6
    assert count(db, VerificationLock) == 0


def test_an_exception_apologises_in_the_callers_language_and_asks_an_agent_to_call(
    app: Flask, db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caller = Caller(app.test_client(), from_=ZH_PHONE)
    caller.start()

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(IvrService, "decide", broken)
    with caplog.at_level(logging.ERROR):
        caller.press("6058")
    assert caller.status == 200
    assert [verb.tag for verb in caller.doc] == ["Say", "Hangup"]
    say = caller.doc.find("Say")
    assert say is not None and say.get("language") == "cmn-CN"
    assert "客服人员将给您回电" in (say.text or "")
    assert caller.call_sid in caplog.text and ZH_PHONE not in caplog.text
    with db.session(readonly=True) as s:
        callback = s.scalars(select(CallbackRequest)).one()
        assert (callback.reason, callback.number, callback.language) == (
            "ivr_fault",
            ZH_PHONE,
            "zh-CN",
        )


def test_when_the_database_fails_the_apology_still_goes_out_in_every_language(
    app: Flask, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: object, **kwargs: object) -> object:
        raise ConnectionError("database is down")

    monkeypatch.setattr(Database, "session", down)
    caller = Caller(app.test_client(), from_=EN_PHONE)
    caller.start()
    assert caller.status == 200
    languages = [say.get("language") for say in caller.doc.iter("Say")]
    assert languages == ["en-US", "cmn-CN"]
    assert caller.doc[-1].tag == "Hangup"


def test_a_request_that_loses_a_race_for_the_session_is_retried(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = IvrService.store  # where a lost race shows: the version check or the primary key
    calls: list[int] = []

    def racing(self: IvrService, *args: object, **kwargs: object) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise StaleDataError("ivr_sessions row changed under us")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(IvrService, "store", racing)
    caller = Caller(app.test_client(), from_=EN_PHONE)
    caller.start()
    assert caller.status == 200 and len(calls) == 2
    assert "last 4 digits of your card" in caller.spoken()


def test_on_sqlite_a_step_takes_the_write_lock_only_to_store_what_it_decided(
    app: Flask, db: Database
) -> None:
    # SQLite has one write lock: a step used to hold it (BEGIN IMMEDIATE) while it read the
    # call, ran the machine and rendered, and every other web worker waited. It now decides on
    # a plain read and locks only to write. PostgreSQL keeps one transaction per step.
    caller = Caller(app.test_client(), from_=EN_PHONE)
    caller.start()
    statements: list[str] = []

    def _capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement.split()[0] + (" IMMEDIATE" if "IMMEDIATE" in statement else ""))

    event.listen(db.engine, "before_cursor_execute", _capture)
    caller.press("7391")
    event.remove(db.engine, "before_cursor_execute", _capture)
    assert caller.status == 200 and "date of birth" in caller.spoken()
    if not db.is_sqlite:
        assert "BEGIN IMMEDIATE" not in statements
        return
    lock = statements.index("BEGIN IMMEDIATE")
    assert statements[0] == "BEGIN" and "SELECT" in statements[:lock]  # decided on a read
    assert "UPDATE" in statements[lock:] and "SELECT" not in statements[lock:]


def test_only_a_step_without_effects_commits_without_waiting_for_the_disk(
    app: Flask, db: Database
) -> None:
    # Moving to the next prompt is not worth a 5 ms WAL flush on PostgreSQL; a verification
    # outcome (like a promise or an opt-out) is, and commits durably.
    caller = Caller(app.test_client(), from_=EN_PHONE)
    caller.start()
    relaxed: list[bool] = []

    def _capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "synchronous_commit" in statement:
            relaxed.append(True)

    event.listen(db.engine, "before_cursor_execute", _capture)
    caller.press("7391")  # the card's last 4: on to the birth date, nothing else decided
    navigation = len(relaxed)
    caller.press("19710326")  # verified: audited, an effect
    event.remove(db.engine, "before_cursor_execute", _capture)
    assert caller.status == 200
    with db.session(readonly=True) as s:
        actions = s.scalars(select(AuditLog.action)).all()
        assert "ivr.verified" in actions
    if db.is_sqlite:  # WAL with synchronous=NORMAL already: nothing to relax
        assert relaxed == []
    else:
        assert (navigation, len(relaxed)) == (1, 1)


def test_the_session_version_is_checked_on_update(app: Flask, db: Database) -> None:
    caller = Caller(app.test_client(), from_=EN_PHONE)
    caller.start()
    with db.session() as s:
        row = s.get(IvrSession, caller.call_sid)
        assert row is not None
        version = row.version
        s.expunge(row)
    caller.press("7391")  # moves the session on (version + 1)
    with pytest.raises(StaleDataError), db.session() as s:
        stale = s.merge(row, load=False)
        stale.state = "menu"
        s.flush()
    with db.session(readonly=True) as s:
        fresh = s.get(IvrSession, caller.call_sid)
        assert fresh is not None and fresh.version == version + 1 and fresh.state == "verify_dob"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    digits=st.text(max_size=30),
    step=st.one_of(
        st.none(), st.integers(min_value=-2, max_value=12).map(str), st.text(max_size=5)
    ),
    extra=st.sampled_from(["", "&miss=1", "&hold=3", "&miss=abc"]),
    call_sid=st.sampled_from(["", "CA" + "b" * 32, "junk", "CA" + "c" * 31 + "'"]),
)
def test_junk_never_gets_a_5xx_or_malformed_twiml(
    app: Flask, digits: str, step: str | None, extra: str, call_sid: str
) -> None:
    path = "/twilio/voice" + (f"?{urlencode({'step': step})}{extra}" if step is not None else "")
    params = {"CallSid": call_sid, "From": EN_PHONE, "To": "+15005550006", "Digits": digits}
    response = app.test_client().post(
        path, data=params, headers={"X-Twilio-Signature": sign(PUBLIC + path, params)}
    )
    assert response.status_code == 200
    root = ET.fromstring(response.get_data(as_text=True))
    assert root.tag == "Response" and len(root) > 0
