"""The standalone simulator's request log: plain lines unless stderr is a terminal."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server

from simulator import create_simulator
from simulator.server import _RequestHandler
from tests.simulator.harness import ACCOUNT_SID, AUTH_TOKEN


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def sim_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # Only the simulator's own handler may strip colours here, not a filter duecall's logging
    # setup left on the werkzeug logger, or on its root handler, in an earlier test (a handler's
    # filter rewrites the record before pytest's capture handler reads it).
    monkeypatch.setattr(logging.getLogger("werkzeug"), "filters", [])
    root = logging.getLogger()
    kept = [h for h in root.handlers if not getattr(h, "_duecall", False)]
    monkeypatch.setattr(root, "handlers", kept)
    sim = create_simulator(ACCOUNT_SID, AUTH_TOKEN)
    server = make_server("127.0.0.1", 0, sim.wsgi_app, request_handler=_RequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def _request_lines(caplog: pytest.LogCaptureFixture, url: str) -> str:
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        # 401 without credentials: werkzeug styles a 4xx request line bold red.
        response = requests.post(f"{url}/_simulator/inbound/calls", timeout=5)
    assert response.status_code == 401
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "werkzeug")


def test_request_lines_are_plain_when_stderr_is_not_a_terminal(
    sim_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    lines = _request_lines(caplog, sim_url)
    assert '"POST /_simulator/inbound/calls HTTP/1.1" 401' in lines
    assert "\x1b" not in lines


def test_request_lines_keep_their_colour_on_a_terminal(
    sim_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stderr", Terminal())
    lines = _request_lines(caplog, sim_url)
    assert "\x1b[31m\x1b[1mPOST /_simulator/inbound/calls HTTP/1.1\x1b[0m" in lines
