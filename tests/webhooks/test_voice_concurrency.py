"""The session's version check, made by a Core UPDATE: a step stored after a concurrent step
for the same call raises StaleDataError (the voice views then run it again on a fresh read)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from store.clock import FixedClock
from store.db import Database
from store.models_ivr import IvrSession
from tests.webhooks.voice_support import EN_PHONE, Caller, make_app, seed
from webhooks.voice import EXTENSION, VoiceWiring, parse_voice


@pytest.fixture
def app(db: Database, clock: FixedClock) -> Flask:
    seed(db, clock.now())
    return make_app(db, clock)


def _stored(db: Database, call_sid: str) -> tuple[str, int, int]:
    with db.session(readonly=True) as s:
        row = s.execute(
            select(IvrSession.state, IvrSession.step, IvrSession.version).where(
                IvrSession.call_sid == call_sid
            )
        ).one()
        return row.state, row.step, row.version


def test_a_step_stored_after_a_concurrent_one_fails_the_version_check(
    app: Flask, db: Database, clock: FixedClock
) -> None:
    caller = Caller(app.test_client(), from_=EN_PHONE)
    caller.start()
    action = caller.action()
    wiring: VoiceWiring = app.extensions[EXTENSION]
    params = {**caller.params(), "Digits": "7391"}
    with app.test_request_context(action.split("duecall.test", 1)[1], method="POST", data=params):
        request = parse_voice("inbound")
    assert request is not None

    with db.session(readonly=True) as s:  # read before the other request stored its step
        decision = wiring.service.decide(s, request, clock.now())
    caller.press("7391")  # the same step, stored first by another request
    with pytest.raises(StaleDataError), db.session() as s:
        wiring.service.store(s, decision, clock.now())

    assert _stored(db, caller.call_sid) == ("verify_dob", 2, 2)  # stored once
    with db.session() as s:  # run again on a fresh read: the replay, nothing stored
        served = wiring.service.handle(s, request, clock.now())
    assert served.twiml == caller.body
    assert _stored(db, caller.call_sid) == ("verify_dob", 2, 2)
