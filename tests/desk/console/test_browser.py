"""The console in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium, never
a browser Playwright downloads) against the app served on a local port, on a real store.

The app runs in a thread (werkzeug's server); the desk's moves that a phone makes (a caller
queued by the IVR, the agent's key 1 that records the bridge) are made with the desk's own
functions, as tests/desk/test_desk_e2e.py's simulator would make them over HTTP. Every wait is
for a condition on the page (Playwright's expect), never a fixed sleep.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.serving import make_server

from store.clock import FixedClock
from store.db import Database
from tests.desk.console.console_support import (
    AGENT,
    MONDAY,
    PASSWORD,
    SUPERVISOR,
    audits,
    bridge,
    console_settings,
    make_app,
    queue_caller,
    seed_desk,
)

CHROMIUM = "/usr/bin/chromium"
#: Generous: a shared machine may be slow; each wait ends as soon as its condition holds.
WAIT_MS = 30_000

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None


def _browser_missing() -> str | None:
    if sync_playwright is None:
        return "playwright is not installed (pip install playwright: the dev extra)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need Chromium under CI: {missing}")
        print(f"skipping the browser tests: {missing}")
        pytest.skip(missing)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Served:
    url: str
    db: Database
    clock: FixedClock
    settings: Any


@pytest.fixture
def served(db: Database) -> Iterator[Served]:
    """The app on a free local port, in a thread, on the test's store (SQLite or PostgreSQL)."""
    seed_desk(db, MONDAY)
    settings = console_settings("http://127.0.0.1", lockout_attempts=3, poll_seconds=0.5)
    clock = FixedClock(MONDAY)
    server = make_server("127.0.0.1", 0, make_app(db, clock, settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_port}", db, clock, settings)
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    yield context.new_page()
    context.close()


def _sign_in(page: Page, served: Served, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{served.url}/desk/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_an_agent_signs_in_goes_available_sees_a_caller_queue_and_the_screen_pop(
    page: Page, served: Served
) -> None:
    _sign_in(page, served, AGENT)
    expect(page).to_have_url(f"{served.url}/desk/")
    expect(page.locator("#state")).to_have_text("Away", timeout=WAIT_MS)
    page.click("button[data-state=available]")
    expect(page.locator("#state")).to_have_text("Available", timeout=WAIT_MS)
    expect(page.locator("#queue")).to_contain_text("Nobody is waiting", timeout=WAIT_MS)
    page.evaluate("window.__sameDocument = true")

    entry_id = queue_caller(served.db, MONDAY)
    row = page.locator(f"#queue tr[data-entry='{entry_id}']")
    expect(row).to_contain_text("collections-en", timeout=WAIT_MS)
    expect(row).to_contain_text("verified", timeout=WAIT_MS)
    assert "+12125550123" not in row.inner_text()

    bridge(served.db, served.settings, entry_id, AGENT, MONDAY)
    expect(page.locator("#state")).to_have_text("On a call", timeout=WAIT_MS)
    expect(page.locator("#account")).to_contain_text(
        "Account 70000001: Marguerite Okonkwo", timeout=WAIT_MS
    )
    expect(page.locator("#verification")).to_have_text("verified", timeout=WAIT_MS)
    assert page.evaluate("window.__sameDocument") is True  # no reload: the same document
    (opened,) = audits(served.db, "desk_account_opened")
    assert (opened.actor, opened.entity_id) == (AGENT, "70000001")


def test_a_supervisor_reaches_the_supervisor_page_and_an_agent_gets_403(
    browser: Browser, page: Page, served: Served
) -> None:
    _sign_in(page, served, SUPERVISOR)
    expect(page).to_have_url(f"{served.url}/desk/supervisor")
    expect(page.locator("#queues")).to_contain_text("collections-en", timeout=WAIT_MS)
    expect(page.locator("#agents")).to_contain_text(AGENT, timeout=WAIT_MS)

    context = browser.new_context()
    agent = context.new_page()
    _sign_in(agent, served, AGENT)
    expect(agent).to_have_url(f"{served.url}/desk/")
    response = agent.goto(f"{served.url}/desk/supervisor")
    assert response is not None and response.status == 403
    context.close()


def test_without_a_session_the_screen_redirects_to_the_sign_in_page(
    page: Page, served: Served
) -> None:
    page.goto(f"{served.url}/desk/")
    expect(page).to_have_url(f"{served.url}/desk/login?next=/desk/")
    expect(page.locator("input[name=password]")).to_be_visible()


def test_a_post_without_the_csrf_token_is_refused(page: Page, served: Served) -> None:
    _sign_in(page, served, AGENT)
    expect(page).to_have_url(f"{served.url}/desk/")
    # The browser's own session cookie, but no token: refused, the state unchanged.
    response = page.request.post(f"{served.url}/desk/state", form={"state": "available"})
    assert response.status == 400
    page.reload()
    expect(page.locator("#state")).to_have_text("Away", timeout=WAIT_MS)


def test_wrong_passwords_lock_the_sign_in_after_three_tries(page: Page, served: Served) -> None:
    for _ in range(2):
        _sign_in(page, served, AGENT, "not the password")
        expect(page.locator("#error")).to_have_text("Wrong name or password.", timeout=WAIT_MS)
    _sign_in(page, served, AGENT, "not the password")
    expect(page.locator("#error")).to_contain_text("locked until", timeout=WAIT_MS)
    _sign_in(page, served, AGENT)  # the right password, refused while locked
    expect(page.locator("#error")).to_contain_text("locked until 15:15 UTC", timeout=WAIT_MS)
    assert page.url.startswith(f"{served.url}/desk/login")
