"""Fixtures for the simulator's tests (helpers live in tests/simulator/harness.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Response
from twilio.rest import Client

from simulator import WsgiTransport, create_simulator
from tests.simulator.harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Harness,
    Recorder,
    build_ivr_app,
    sdk_client,
)


@pytest.fixture
def harness() -> Iterator[Harness]:
    recorder = Recorder()
    overrides: dict[str, Callable[[], Response]] = {}
    holder: dict[str, Client] = {}
    app = build_ivr_app(recorder, lambda: holder["client"], overrides)
    sim = create_simulator(ACCOUNT_SID, AUTH_TOKEN, transport=WsgiTransport(app))
    holder["client"] = sdk_client(sim)
    yield Harness(sim, recorder, holder["client"], overrides)
