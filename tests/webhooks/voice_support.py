"""Helpers for the voice route tests: settings, two seeded cardholders, a signed test caller."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from duecall.app import create_app
from duecall.settings import Settings, load_settings
from store.clock import Clock
from store.db import Database
from store.models import Attempt
from tests import factories

ACCOUNT_SID = "AC" + "7" * 32
TOKEN = "voice-test-token"
PUBLIC = "https://duecall.test"
APP_NUMBER = "+15005550006"
EN_PHONE = "+12125550123"
ZH_PHONE = "+8613800138000"
STRANGER = "+15550001111"

ENV = {
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": TOKEN,
    "DUECALL_SECRET_KEY": "test-secret",
    "DUECALL_PUBLIC_URL": PUBLIC,
    "DUECALL_TWILIO_API_URL": "http://sim.test",
}


def make_settings() -> Settings:
    return load_settings(None, ENV)


def make_app(db: Database, clock: Clock) -> Flask:
    return create_app(make_settings(), db=db, clock=clock)


def seed(db: Database, now: datetime) -> None:
    """Two cardholders: 70000001 (en-US, New York) and 70000002 (zh-CN, Shanghai).

    Both numbers have voice and SMS consent, with no source or time recorded.
    """
    with db.session() as s:
        factories.add_account(
            s,
            "70000001",
            EN_PHONE,
            now=now,
            consent_source=None,
            name="Marguerite Okonkwo",
            language="en-US",
            timezone="America/New_York",
            currency="USD",
            balance="4823.17",
            minimum_due="144.69",
            due_date=date(2026, 12, 14),
            days_past_due=10,
            card_last4="7391",
            birth_date=date(1971, 3, 26),
            balance_as_of=date(2026, 11, 20),
        )
        factories.add_account(
            s,
            "70000002",
            ZH_PHONE,
            now=now,
            consent_source=None,
            name="欧阳娜娜",
            language="zh-CN",
            timezone="Asia/Shanghai",
            currency="CNY",
            balance="18652.43",
            minimum_due="559.57",
            due_date=date(2026, 11, 21),
            days_past_due=10,
            card_last4="6058",
            birth_date=date(1983, 8, 19),
            balance_as_of=date(2026, 11, 20),
        )


def add_attempt(db: Database, now: datetime, account_id: str, number: str) -> int:
    with db.session() as s:
        attempt = Attempt(
            account_id=account_id,
            customer_id=account_id,
            channel="voice",
            purpose="reminder",
            number=number,
            status="created",
            created_at=now,
        )
        s.add(attempt)
        s.flush()
        return attempt.id


def sign(url: str, params: dict[str, str] | None = None) -> str:
    return str(RequestValidator(TOKEN).compute_signature(url, params or {}))


def new_call_sid() -> str:
    return "CA" + uuid.uuid4().hex


@dataclass
class Caller:
    """Plays Twilio's part against the app: signed requests, following the returned TwiML."""

    client: FlaskClient
    from_: str = STRANGER
    to: str = APP_NUMBER
    path: str = "/twilio/voice"
    call_sid: str = field(default_factory=new_call_sid)
    body: str = ""
    status: int = 0

    def params(self) -> dict[str, str]:
        return {
            "CallSid": self.call_sid,
            "AccountSid": ACCOUNT_SID,
            "From": self.from_,
            "To": self.to,
            "Caller": self.from_,
            "Called": self.to,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }

    def post(self, url: str, extra: dict[str, str] | None = None) -> str:
        params = {**self.params(), **(extra or {})}
        path = url.removeprefix(PUBLIC)
        response = self.client.post(
            path, data=params, headers={"X-Twilio-Signature": sign(url, params)}
        )
        self.status, self.body = response.status_code, response.get_data(as_text=True)
        return self.body

    def start(self) -> str:
        return self.post(PUBLIC + self.path)

    @property
    def doc(self) -> ET.Element:
        return ET.fromstring(self.body)

    def action(self) -> str:
        gather = self.doc.find("Gather")
        assert gather is not None, self.body
        return gather.get("action", "")

    def redirect(self) -> str:
        redirect = self.doc.find("Redirect")
        assert redirect is not None, self.body
        return redirect.text or ""

    def press(self, keys: str) -> str:
        digits, finished = (keys[:-1], "#") if keys.endswith("#") else (keys, "")
        return self.post(self.action(), {"Digits": digits, "FinishedOnKey": finished})

    def silence(self) -> str:
        return self.post(self.redirect())

    def spoken(self) -> str:
        return " ".join(say.text or "" for say in self.doc.iter("Say"))
