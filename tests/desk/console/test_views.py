"""The agent's screen over the test client: state buttons, the live queue, take next call, the
screen pop of the bridged caller (audited each time it is opened)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from campaigns.suppressions import add_suppression
from store.clock import FixedClock
from store.db import Database
from tests.desk.console.console_support import (
    AGENT,
    MONDAY,
    OTHER,
    agent_row,
    audits,
    bridge,
    console_settings,
    csrf_from,
    make_app,
    queue_caller,
    seed_desk,
    sign_in,
)

FETCH = {"X-Requested-With": "fetch"}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY)


@pytest.fixture
def app(db: Database, clock: FixedClock) -> Flask:
    seed_desk(db, MONDAY)
    return make_app(db, clock)


def _signed_in(app: Flask, name: str = AGENT) -> tuple[FlaskClient, str]:
    client = app.test_client()
    sign_in(client, name)
    return client, csrf_from(client.get("/desk/").get_data(as_text=True))


def test_the_state_buttons_move_the_agent_through_the_desks_state_machine(
    app: Flask, db: Database
) -> None:
    client, token = _signed_in(app)
    post = {"headers": {"X-CSRFToken": token, **FETCH}}
    assert client.post("/desk/state", data={"state": "available"}, **post).json == {
        "message": "Ana is now available",
        "state": "available",
    }
    assert client.post("/desk/state", data={"state": "wrap_up"}, **post).status_code == 200
    assert agent_row(db, AGENT).state == "wrap_up"
    assert client.post("/desk/state", data={"state": "away"}, **post).status_code == 200
    refused = client.post("/desk/state", data={"state": "wrap_up"}, **post)
    assert refused.status_code == 409 and "wrap-up follows a call" in refused.json["error"]
    assert client.post("/desk/state", data={"state": "on_call"}, **post).status_code == 409
    assert agent_row(db, AGENT).state == "away"
    assert [a.detail["to"] for a in audits(db, "desk_agent_state")] == [
        "available",
        "wrap_up",
        "away",
    ]


def test_the_live_queue_lists_waiting_callers_masked_with_their_wait(
    app: Flask, db: Database, clock: FixedClock
) -> None:
    client, _ = _signed_in(app)
    assert "Nobody is waiting" in client.get("/desk/live", headers=FETCH).json["queue_html"]
    queue_caller(db, MONDAY)
    queue_caller(db, MONDAY, call_sid="CA" + "9" * 32, verified=False)
    clock.advance(timedelta(seconds=42))
    live = client.get("/desk/live", headers=FETCH).json
    html = live["queue_html"]
    assert live["waiting"] == 2 and live["bridged"] is None
    assert "collections-en" in html and "42 s" in html and "agent" in html
    assert "verified" in html and "not verified" in html
    assert "+12125550123" not in html and "0123" in html  # the caller's number masked


def test_take_next_call_makes_an_away_agent_available_for_the_next_offer(
    app: Flask, db: Database
) -> None:
    client, token = _signed_in(app)
    answer = client.post("/desk/next", headers={"X-CSRFToken": token, **FETCH})
    assert answer.status_code == 200 and "phone rings" in answer.json["message"]
    assert agent_row(db, AGENT).state == "available"


def test_the_screen_pop_shows_the_bridged_callers_account_and_audits_the_opening(
    app: Flask, db: Database
) -> None:
    client, token = _signed_in(app)
    client.post("/desk/next", headers={"X-CSRFToken": token, **FETCH})
    entry_id = queue_caller(db, MONDAY)
    with db.session() as s:
        add_suppression(
            s,
            kind="optout-sms",
            number="+12125550123",
            reason="texted STOP",
            source="sms",
            actor="cardholder",
            now=MONDAY - timedelta(days=3),
        )
    bridge(db, console_settings(), entry_id, AGENT, MONDAY + timedelta(seconds=30))
    live = client.get("/desk/live", headers=FETCH).json
    assert live["bridged"] == entry_id and live["state"] == "on_call"
    assert audits(db, "desk_account_opened") == []  # polling opens nothing
    pop = client.get(f"/desk/pop/{entry_id}", headers=FETCH).get_data(as_text=True)
    assert "Account 70000001: Marguerite Okonkwo" in pop
    assert "$4,823.17" in pop and "verified" in pop
    assert "optout-sms" in pop and "texted STOP" in pop
    (opened,) = audits(db, "desk_account_opened")
    assert (opened.actor, opened.entity_id) == (AGENT, "70000001")
    assert opened.detail["why"] == "bridged call, reason agent"
    assert opened.detail["entry_id"] == entry_id


def test_another_agent_cannot_open_a_caller_not_bridged_to_them(app: Flask, db: Database) -> None:
    entry_id = queue_caller(db, MONDAY)
    ana, token = _signed_in(app)
    ana.post("/desk/next", headers={"X-CSRFToken": token, **FETCH})
    bridge(db, console_settings(), entry_id, AGENT, MONDAY)
    bo, _ = _signed_in(app, OTHER)
    assert bo.get(f"/desk/pop/{entry_id}", headers=FETCH).status_code == 404
    assert audits(db, "desk_account_opened") == []


def test_an_unverified_caller_pops_without_the_account(app: Flask, db: Database) -> None:
    entry_id = queue_caller(db, MONDAY, verified=False)
    client, token = _signed_in(app)
    client.post("/desk/next", headers={"X-CSRFToken": token, **FETCH})
    bridge(db, console_settings(), entry_id, AGENT, MONDAY)
    pop = client.get(f"/desk/pop/{entry_id}", headers=FETCH).get_data(as_text=True)
    assert "the caller did not verify" in pop and "4,823.17" not in pop
    assert audits(db, "desk_account_opened") == []


def test_the_screen_serves_its_own_script_not_a_cdn(app: Flask) -> None:
    client, _ = _signed_in(app)
    page = client.get("/desk/").get_data(as_text=True)
    assert "/desk/static/console.js" in page and "https://" not in page
    script = client.get("/desk/static/console.js")
    assert script.status_code == 200 and b"X-CSRFToken" in script.data
