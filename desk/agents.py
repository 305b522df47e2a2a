"""Agents and their states: the one writer of ``desk_agents``.

An agent is away until they make themselves available (``duecall desk agent state NAME
available``, or "press 1 for the next caller" at the end of a call). The live transfer moves
them: available -> offered (their phone rings with a caller's whisper) -> on_call (they pressed
1, the two are bridged) -> wrap_up (the caller hung up) -> available or away (a key on their
phone, or ``desk.wrap_up_seconds`` later). An offer that is not taken (no answer, no key, a
machine, a decline) sends the agent to away: someone who does not pick up is not at their desk.

Every move is a conditional ``UPDATE ... WHERE state = <from>``: two processes moving the same
agent at once cannot both succeed (the loser sees ``False``), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from desk.config import LANGUAGES
from desk.errors import AgentError
from store.audit import record_audit
from store.models_desk import AGENT_ROLES, AGENT_STATES, DeskAgent
from store.privacy import mask_phone
from telephony.numbers import InvalidNumberError, to_e164

#: Which state may follow which (the agent state machine).
TRANSITIONS: dict[str, frozenset[str]] = {
    "away": frozenset({"available"}),
    "available": frozenset({"away", "offered", "wrap_up"}),
    "offered": frozenset({"on_call", "away", "available"}),
    "on_call": frozenset({"wrap_up"}),
    "wrap_up": frozenset({"available", "away"}),
}
#: What an agent may choose for themselves (CLI, the key after a call, the console's buttons);
#: wrap-up only from available (the console's "wrap-up" button: time for after-call work,
#: available again ``desk.wrap_up_seconds`` later, as after a call).
SELF_SERVICE = ("available", "away", "wrap_up")
MAX_NAME = 64
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (argon2-cffi's defaults, salt included)."""
    return _hasher.hash(password)


def check_password(agent: DeskAgent, password: str) -> bool:
    """Whether ``password`` is ``agent``'s."""
    try:
        return _hasher.verify(agent.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def add_agent(
    session: Session,
    *,
    name: str,
    role: str,
    phone: str,
    languages: Sequence[str],
    password: str,
    now: datetime,
    actor: str,
    default_region: str = "US",
) -> DeskAgent:
    """Create an agent, away. Raises :class:`AgentError` for a name taken or blank, an unknown
    role or language, a phone number that is not one, or a password under 8 characters."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or any(c.isspace() and c != " " for c in name):
        raise AgentError(f"name must be 1 to {MAX_NAME} characters on one line")
    if role not in AGENT_ROLES:
        raise AgentError(f"role must be one of {', '.join(AGENT_ROLES)}")
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown or not languages:
        raise AgentError(f"languages must be among {', '.join(LANGUAGES)} (got {list(languages)})")
    try:
        number = to_e164(phone, default_region)
    except InvalidNumberError as exc:
        raise AgentError(f"phone: {exc}") from None
    if len(password) < 8:
        raise AgentError("the password must have at least 8 characters")
    if session.scalar(select(DeskAgent.id).where(DeskAgent.name == name)) is not None:
        raise AgentError(f"an agent named {name!r} exists already")
    agent = DeskAgent(
        name=name,
        role=role,
        phone=number,
        languages=",".join(dict.fromkeys(languages)),
        password_hash=hash_password(password),
        state="away",
        state_since=now,
        created_at=now,
    )
    session.add(agent)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        action="desk_agent_added",
        entity_type="desk_agent",
        entity_id=str(agent.id),
        detail={"name": name, "role": role, "phone": mask_phone(number), "languages": languages},
    )
    return agent


def by_name(session: Session, name: str) -> DeskAgent:
    """The agent named ``name``; :class:`AgentError` when there is none."""
    agent = session.scalar(select(DeskAgent).where(DeskAgent.name == name.strip()))
    if agent is None:
        raise AgentError(f"no agent named {name!r}")
    return agent


def speaks(agent: DeskAgent, language: str) -> bool:
    return language in agent.languages.split(",")


def move(
    session: Session,
    agent_id: int,
    to: str,
    *,
    now: datetime,
    expect: str | Sequence[str] | None = None,
    entry_id: int | None = None,
    leg_sid: str | None = None,
) -> bool:
    """Move the agent to ``to`` if they are still in ``expect`` (default: any state ``to`` may
    follow); True when this call moved them. ``entry_id`` and ``leg_sid`` are kept while an
    agent is offered or on a call and cleared otherwise."""
    if to not in AGENT_STATES:
        raise ValueError(f"unknown agent state {to!r}")
    sources = (
        [s for s, targets in TRANSITIONS.items() if to in targets]
        if expect is None
        else [expect]
        if isinstance(expect, str)
        else list(expect)
    )
    sources = [s for s in sources if to in TRANSITIONS[s]]
    if not sources:
        return False
    keep = to in ("offered", "on_call", "wrap_up")
    values: dict[str, object] = {"state": to, "state_since": now}
    if keep:
        if entry_id is not None:
            values["entry_id"] = entry_id
        if leg_sid is not None:
            values["leg_sid"] = leg_sid
    else:
        values.update(entry_id=None, leg_sid=None)
    result = session.execute(
        update(DeskAgent)
        .where(DeskAgent.id == agent_id, DeskAgent.state.in_(sources))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    loaded = session.identity_map.get(identity_key(DeskAgent, agent_id))
    if loaded is not None:
        session.expire(loaded)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def choose_state(session: Session, agent: DeskAgent, to: str, *, now: datetime, actor: str) -> str:
    """An agent (or a supervisor for them) asks to be ``available`` or ``away``. Returns what
    happened, in words; raises :class:`AgentError` when the move is not theirs to make now (on
    a call, or being offered one)."""
    if to not in SELF_SERVICE:
        raise AgentError(f"an agent may only choose {' or '.join(SELF_SERVICE)}")
    if agent.state == to:
        return f"{agent.name} is already {to.replace('_', ' ')}"
    if to == "wrap_up" and agent.state != "available":
        raise AgentError(f"{agent.name} is {agent.state.replace('_', ' ')}: wrap-up follows a call")
    if not move(session, agent.id, to, now=now, expect=agent.state):
        raise AgentError(
            f"{agent.name} is {agent.state.replace('_', ' ')}: the state changes by itself "
            "when the call ends"
        )
    record_audit(
        session,
        at=now,
        actor=actor,
        action="desk_agent_state",
        entity_type="desk_agent",
        entity_id=str(agent.id),
        detail={"from": agent.state, "to": to},
    )
    return f"{agent.name} is now {to.replace('_', ' ')}"


@dataclass(frozen=True)
class SignIn:
    """The outcome of a password tried at the console: the agent when it was right, else why
    not (``unknown``, ``wrong``, ``locked``) and, when locked, until when."""

    agent: DeskAgent | None
    refused: str | None = None
    locked_until: datetime | None = None


def sign_in(
    session: Session,
    name: str,
    password: str,
    *,
    now: datetime,
    attempts: int,
    lockout: timedelta,
) -> SignIn:
    """Check ``password`` for the agent named ``name``, counting wrong ones in the store.

    ``attempts`` wrong passwords in a row lock the sign-in for ``lockout`` (a right password is
    refused too until then); a right one resets the count. The count and the lock are columns of
    ``desk_agents``, written with conditional updates, so they hold across web workers. Each
    lock and each sign-in is audited; an unknown name is refused like a wrong password.
    """
    agent = session.scalar(select(DeskAgent).where(DeskAgent.name == name.strip()))
    if agent is None:
        _hasher.hash(password)  # as long as a real check: the name's existence does not show
        return SignIn(None, "unknown")
    if agent.locked_until is not None and agent.locked_until > now:
        return SignIn(None, "locked", agent.locked_until)
    if check_password(agent, password):
        session.execute(
            update(DeskAgent)
            .where(DeskAgent.id == agent.id)
            .values(failed_logins=0, locked_until=None)
            .execution_options(synchronize_session=False)
        )
        record_audit(
            session,
            at=now,
            actor=agent.name,
            action="desk_sign_in",
            entity_type="desk_agent",
            entity_id=str(agent.id),
        )
        session.expire(agent)
        return SignIn(agent)
    # One statement adds the failure and locks at the threshold, so two workers counting at once
    # cannot both read 4 and write 5.
    failures = DeskAgent.failed_logins + 1
    session.execute(
        update(DeskAgent)
        .where(DeskAgent.id == agent.id)
        .values(
            failed_logins=case((failures >= attempts, 0), else_=failures),
            locked_until=case((failures >= attempts, now + lockout), else_=None),
        )
        .execution_options(synchronize_session=False)
    )
    session.expire(agent)
    if agent.locked_until is not None and agent.locked_until > now:
        record_audit(
            session,
            at=now,
            actor="desk-console",
            action="desk_sign_in_locked",
            entity_type="desk_agent",
            entity_id=str(agent.id),
            detail={"attempts": attempts, "until": agent.locked_until.isoformat()},
        )
        return SignIn(None, "locked", agent.locked_until)
    return SignIn(None, "wrong")


def end_wrap_ups(session: Session, *, now: datetime, wrap_up_seconds: int) -> int:
    """Agents whose wrap-up has lasted ``wrap_up_seconds`` become available; how many."""
    due = now - timedelta(seconds=wrap_up_seconds)
    result = session.execute(
        update(DeskAgent)
        .where(DeskAgent.state == "wrap_up", DeskAgent.state_since <= due)
        .values(state="available", state_since=now, entry_id=None, leg_sid=None)
        .execution_options(synchronize_session=False)
    )
    for loaded in session.identity_map.values():
        if isinstance(loaded, DeskAgent):
            session.expire(loaded)
    return int(result.rowcount)  # type: ignore[attr-defined]


def all_agents(session: Session) -> list[DeskAgent]:
    return list(session.scalars(select(DeskAgent).order_by(DeskAgent.name)))
