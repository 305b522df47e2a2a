"""The console's sign-in: sessions, CSRF, roles, the timeout, the lockout, the cookie flags."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from store.clock import FixedClock
from store.db import Database
from tests.desk.console.console_support import (
    AGENT,
    MONDAY,
    SUPERVISOR,
    agent_row,
    audits,
    console_settings,
    csrf_from,
    make_app,
    seed_desk,
    sign_in,
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY)


@pytest.fixture
def app(db: Database, clock: FixedClock) -> Flask:
    seed_desk(db, MONDAY)
    return make_app(db, clock)


def test_the_screen_without_a_session_redirects_to_the_sign_in_page(app: Flask) -> None:
    client = app.test_client()
    for path in ("/desk/", "/desk/supervisor"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/desk/login")
    assert client.get("/desk/live", headers={"X-Requested-With": "fetch"}).status_code == 401


def test_an_agent_signs_in_with_the_stored_argon2_password_and_out_again(
    app: Flask, db: Database
) -> None:
    client = app.test_client()
    response = sign_in(client, AGENT)
    assert response.status_code == 302 and response.headers["Location"] == "/desk/"
    page = client.get("/desk/")
    assert page.status_code == 200 and AGENT in page.get_data(as_text=True)
    assert [a.actor for a in audits(db, "desk_sign_in")] == [AGENT]
    token = csrf_from(page.get_data(as_text=True))
    assert client.post("/desk/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/desk/").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(app: Flask, db: Database) -> None:
    client = app.test_client()
    no_token = client.post("/desk/login", data={"name": AGENT, "password": "x" * 12})
    assert no_token.status_code == 400
    sign_in(client, AGENT)
    refused = client.post("/desk/state", data={"state": "available"})
    assert refused.status_code == 400
    assert agent_row(db, AGENT).state == "away"
    token = csrf_from(client.get("/desk/").get_data(as_text=True))
    accepted = client.post(
        "/desk/state", data={"state": "available"}, headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 200 and agent_row(db, AGENT).state == "available"


def test_twilio_routes_need_no_csrf_token_but_their_signature(app: Flask) -> None:
    # Refused for the missing X-Twilio-Signature (403), not for a CSRF token (400).
    assert app.test_client().post("/twilio/voice", data={"CallSid": "CA1"}).status_code == 403


def test_an_agent_gets_403_on_the_supervisor_page_and_a_supervisor_sees_it(app: Flask) -> None:
    agent = app.test_client()
    sign_in(agent, AGENT)
    assert agent.get("/desk/supervisor").status_code == 403
    supervisor = app.test_client()
    response = sign_in(supervisor, SUPERVISOR)
    assert response.headers["Location"] == "/desk/supervisor"
    page = supervisor.get("/desk/supervisor").get_data(as_text=True)
    assert "collections-en" in page and "fraud" in page and AGENT in page


def test_wrong_passwords_lock_the_account_across_workers_then_it_opens_again(
    db: Database, clock: FixedClock
) -> None:
    seed_desk(db, MONDAY)
    settings = console_settings(lockout_attempts=3, lockout_minutes=10)
    # Two web workers: the count is in the store, not in either process.
    first, second = make_app(db, clock, settings), make_app(db, clock, settings)
    assert sign_in(first.test_client(), AGENT, "wrong-one").status_code == 401
    assert sign_in(second.test_client(), AGENT, "wrong-two").status_code == 401
    assert agent_row(db, AGENT).failed_logins == 2
    locked = sign_in(first.test_client(), AGENT, "wrong-three")
    assert locked.status_code == 401 and "locked until" in locked.get_data(as_text=True)
    right_but_locked = sign_in(second.test_client(), AGENT)
    assert right_but_locked.status_code == 401
    assert "locked until 15:10 UTC" in right_but_locked.get_data(as_text=True)
    assert len(audits(db, "desk_sign_in_locked")) == 1
    clock.advance(timedelta(minutes=10, seconds=1))
    assert sign_in(second.test_client(), AGENT).status_code == 302
    row = agent_row(db, AGENT)
    assert row.failed_logins == 0 and row.locked_until is None


def test_an_unknown_name_is_refused_like_a_wrong_password(app: Flask) -> None:
    response = sign_in(app.test_client(), "Nobody")
    assert response.status_code == 401
    assert "Wrong name or password." in response.get_data(as_text=True)


def test_the_session_times_out_after_the_idle_minutes_and_polls_do_not_extend_it(
    app: Flask, clock: FixedClock
) -> None:
    client = app.test_client()
    sign_in(client, AGENT)
    clock.advance(timedelta(minutes=20))
    fetch = {"X-Requested-With": "fetch"}
    assert client.get("/desk/live", headers=fetch).status_code == 200  # a poll: not activity
    clock.advance(timedelta(minutes=11))  # 31 minutes since the last request of the agent
    assert client.get("/desk/live", headers=fetch).status_code == 401
    assert client.get("/desk/").status_code == 302


def test_activity_keeps_the_session(app: Flask, clock: FixedClock) -> None:
    client = app.test_client()
    sign_in(client, AGENT)
    for _ in range(3):
        clock.advance(timedelta(minutes=25))
        assert client.get("/desk/").status_code == 200


def test_the_session_cookie_is_secure_httponly_and_lax_behind_https(app: Flask) -> None:
    response = sign_in(app.test_client(), AGENT)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_cookie_is_not_secure_on_a_plain_http_public_url(
    db: Database, clock: FixedClock
) -> None:
    seed_desk(db, MONDAY)
    app = make_app(db, clock, console_settings("http://127.0.0.1:5000"))
    cookie = sign_in(app.test_client(), AGENT).headers["Set-Cookie"]
    assert "Secure" not in cookie and "HttpOnly" in cookie


def test_next_only_leads_inside_the_console(app: Flask) -> None:
    client = app.test_client()
    token = csrf_from(client.get("/desk/login").get_data(as_text=True))
    response = client.post(
        "/desk/login?next=//evil.example/desk/",
        data={"name": AGENT, "password": "correct horse battery", "csrf_token": token},
    )
    assert response.headers["Location"] == "/desk/"


def test_a_post_after_the_timeout_is_told_to_sign_in_again(
    app: Flask, db: Database, clock: FixedClock
) -> None:
    client = app.test_client()
    sign_in(client, AGENT)
    token = csrf_from(client.get("/desk/").get_data(as_text=True))
    clock.advance(timedelta(minutes=31))
    response = client.post(
        "/desk/state",
        data={"state": "available"},
        headers={"X-CSRFToken": token, "X-Requested-With": "fetch"},
    )
    assert response.status_code == 401 and "timed out" in response.json["error"]
    assert agent_row(db, AGENT).state == "away"
