"""Agents: created with a hashed password, moved only along the state machine, one mover wins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from desk.agents import add_agent, by_name, check_password, choose_state, end_wrap_ups, move
from desk.errors import AgentError
from store.clock import FixedClock
from store.db import Database
from store.models import AuditLog
from store.models_desk import DeskAgent


def _add(db: Database, clock: FixedClock, name: str = "Wei Chen", **kw: object) -> int:
    fields: dict[str, object] = {
        "role": "agent",
        "phone": "+14155550142",
        "languages": ("zh-CN", "en-US"),
        "password": "correct horse",
    } | kw
    with db.session() as s:
        agent = add_agent(s, name=name, now=clock.now(), actor="test", **fields)  # type: ignore[arg-type]
        return agent.id


def test_an_agent_is_stored_away_with_an_argon2_hash_and_an_audit_row(
    db: Database, clock: FixedClock
) -> None:
    agent_id = _add(db, clock, phone="(415) 555-0142")
    with db.session() as s:
        agent = s.get(DeskAgent, agent_id)
        assert agent is not None
        assert agent.state == "away" and agent.phone == "+14155550142"
        assert agent.password_hash.startswith("$argon2id$")
        assert "correct horse" not in agent.password_hash
        assert check_password(agent, "correct horse") and not check_password(agent, "wrong one")
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "desk_agent_added")).one()
        assert "+14155550142" not in str(audit.detail)  # masked


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"phone": "555"}, "phone"),
        ({"role": "boss"}, "role"),
        ({"languages": ("fr-FR",)}, "languages"),
        ({"password": "short"}, "8 characters"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    db: Database, clock: FixedClock, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(AgentError, match=message):
        _add(db, clock, **fields)
    with db.session() as s:
        assert s.scalars(select(DeskAgent)).all() == []


def test_a_name_is_taken_once(db: Database, clock: FixedClock) -> None:
    _add(db, clock)
    with pytest.raises(AgentError, match="exists already"):
        _add(db, clock)


def test_agents_choose_available_or_away_but_not_while_on_a_call(
    db: Database, clock: FixedClock
) -> None:
    agent_id = _add(db, clock)
    now = clock.now()
    with db.session() as s:
        assert choose_state(s, by_name(s, "Wei Chen"), "available", now=now, actor="t") == (
            "Wei Chen is now available"
        )
    with db.session() as s:
        assert move(s, agent_id, "offered", now=now, entry_id=7, leg_sid="CA1")
        assert move(s, agent_id, "on_call", now=now)
    with db.session() as s:
        agent = by_name(s, "Wei Chen")
        assert (agent.state, agent.entry_id, agent.leg_sid) == ("on_call", 7, "CA1")
        with pytest.raises(AgentError, match="on call"):
            choose_state(s, agent, "away", now=now, actor="t")
        with pytest.raises(AgentError):
            choose_state(s, agent, "on_call", now=now, actor="t")


def test_moves_off_the_state_machine_are_refused(db: Database, clock: FixedClock) -> None:
    agent_id = _add(db, clock)
    with db.session() as s:
        assert not move(s, agent_id, "on_call", now=clock.now())  # away -> on call: no
        assert not move(s, agent_id, "offered", now=clock.now())  # must be available first
        assert s.get(DeskAgent, agent_id).state == "away"  # type: ignore[union-attr]


def test_of_two_offers_to_one_agent_only_one_succeeds(db: Database, clock: FixedClock) -> None:
    agent_id = _add(db, clock)
    with db.session() as s:
        assert move(s, agent_id, "available", now=clock.now())
    with db.session() as s:
        first = move(s, agent_id, "offered", now=clock.now(), expect="available", entry_id=1)
        second = move(s, agent_id, "offered", now=clock.now(), expect="available", entry_id=2)
    assert (first, second) == (True, False)
    with db.session() as s:
        assert s.get(DeskAgent, agent_id).entry_id == 1  # type: ignore[union-attr]


def test_wrap_up_ends_after_the_configured_seconds(db: Database, clock: FixedClock) -> None:
    agent_id = _add(db, clock)
    now = clock.now()
    with db.session() as s:
        for state in ("available", "offered", "on_call", "wrap_up"):
            assert move(s, agent_id, state, now=now)
    with db.session() as s:
        assert end_wrap_ups(s, now=now + timedelta(seconds=29), wrap_up_seconds=30) == 0
        assert end_wrap_ups(s, now=now + timedelta(seconds=30), wrap_up_seconds=30) == 1
    with db.session() as s:
        agent = s.get(DeskAgent, agent_id)
        assert agent is not None and agent.state == "available" and agent.entry_id is None
