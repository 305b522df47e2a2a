"""Desk commands on the `duecall` CLI: agents, their states, the live queues and API tokens."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from duecall import exitcodes
from duecall.cli_context import CliContext, pass_ctx
from duecall.terminal import plain


def register(cli: click.Group) -> None:
    """Add ``duecall desk ...`` to ``cli``."""
    cli.add_command(desk_group)


@click.group("desk")
def desk_group() -> None:
    """The agent desk: agents, shifts and queues."""


@desk_group.group("agent")
def agent_group() -> None:
    """Agents (and supervisors)."""


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(exitcodes.USAGE)


@agent_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["agent", "supervisor"]))
@click.option("--phone", required=True, help="The phone the desk rings (any form; stored E.164).")
@click.option(
    "--language",
    "languages",
    multiple=True,
    type=click.Choice(["en-US", "zh-CN"]),
    help="A language the agent speaks; repeatable (default en-US).",
)
@click.option(
    "--password-stdin",
    "password_stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (required).",
)
@click.option("--by", "actor", envvar="USER", default="cli", show_default="$USER")
@pass_ctx
def agent_add(
    obj: CliContext,
    name: str,
    role: str,
    phone: str,
    languages: tuple[str, ...],
    password_stdin: bool,
    actor: str,
) -> None:
    """Create an agent, away until they say they are available.

    The password is hashed with argon2 and never stored or shown as typed; it is read from
    standard input so it stays out of the shell history and the process list:

    \b
      printf '%s\\n' "$PASSWORD" | duecall desk agent add "Wei Chen" --role agent \\
        --phone +14155550142 --language zh-CN --language en-US --password-stdin
    """
    from desk.agents import add_agent
    from desk.errors import AgentError
    from store.privacy import mask_phone

    if not password_stdin:
        _fail("give the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    with obj.store() as db, db.session() as session:
        try:
            agent = add_agent(
                session,
                name=name,
                role=role,
                phone=phone,
                languages=languages or ("en-US",),
                password=password,
                now=obj.clock.now(),
                actor=actor,
                default_region=obj.settings.import_.default_region,
            )
        except AgentError as exc:
            _fail(str(exc))
        click.echo(
            f"{agent.role} {agent.name} added ({mask_phone(agent.phone)}, "
            f"{agent.languages.replace(',', ', ')}), away"
        )


@agent_group.command("list")
@pass_ctx
def agent_list(obj: CliContext) -> None:
    """Every agent: role, phone (masked), languages, state and since when, shifts."""
    from desk.agents import all_agents
    from store.privacy import mask_phone

    desk = obj.settings.desk
    with obj.store() as db, db.session(readonly=True) as session:
        agents = all_agents(session)
        table = Table(title=Text(f"Agents ({len(agents)})"), title_justify="left")
        for column in ("name", "role", "phone", "languages", "state", "since (UTC)", "shifts"):
            table.add_column(Text(column))
        for agent in agents:
            shifts = [name for name, shift in desk.shifts.items() if agent.name in shift.agents]
            table.add_row(
                *(
                    plain(cell)
                    for cell in (
                        agent.name,
                        agent.role,
                        mask_phone(agent.phone),
                        agent.languages.replace(",", ", "),
                        agent.state.replace("_", " "),
                        f"{agent.state_since:%Y-%m-%d %H:%M}",
                        ", ".join(shifts) or "-",
                    )
                )
            )
    Console(highlight=False).print(table)


@agent_group.command("state")
@click.argument("name")
@click.argument("state", type=click.Choice(["available", "away"]))
@click.option("--by", "actor", envvar="USER", default="cli", show_default="$USER")
@pass_ctx
def agent_state(obj: CliContext, name: str, state: str, actor: str) -> None:
    """Make an agent available for the next caller, or away (not while on a call)."""
    from desk.agents import by_name, choose_state
    from desk.errors import AgentError

    with obj.store() as db, db.session() as session:
        try:
            message = choose_state(
                session, by_name(session, name), state, now=obj.clock.now(), actor=actor
            )
        except AgentError as exc:
            _fail(str(exc))
        click.echo(message)


@desk_group.command("listen")
@click.argument("agent")
@click.option("--supervisor", required=True, help="The supervisor whose phone is rung.")
@click.option("--by", "actor", envvar="USER", default="cli", show_default="$USER")
@pass_ctx
def listen_command(obj: CliContext, agent: str, supervisor: str, actor: str) -> None:
    """Ring a supervisor's phone to listen in to AGENT's call, muted (they press 1 to join).

    Needs the Twilio secrets, like `duecall dialer`. The listen-in is recorded in the audit
    trail.
    """
    from desk.errors import AgentError
    from desk.listen import ask
    from duecall.wiring import build_telephony
    from telephony.errors import TelephonyError
    from telephony.port import AgentCall

    settings = obj.require("dialer")
    with obj.store() as db:
        with db.session() as session:
            try:
                wanted = ask(
                    session,
                    agent_name=agent,
                    supervisor_name=supervisor,
                    now=obj.clock.now(),
                    actor=actor,
                )
            except AgentError as exc:
                _fail(str(exc))
        try:
            build_telephony(settings).place_agent_call(
                AgentCall(
                    to=wanted.phone,
                    entry_id=wanted.entry_id,
                    agent_id=wanted.supervisor_id,
                    timeout=settings.desk.offer_timeout_seconds,
                    purpose="listen",
                )
            )
        except TelephonyError as exc:
            click.echo(f"error: the supervisor's phone could not be rung: {exc}", err=True)
            sys.exit(exitcodes.FAILURE)
    click.echo(f"ringing {supervisor} to listen in to {agent}'s call")


@desk_group.command("transfer")
@click.argument("agent")
@click.option("--queue", "queue", default=None, help="Cold: hand the caller to this queue.")
@click.option("--supervisor", default=None, help="Warm: hand the call to this supervisor.")
@click.option("--by", "actor", envvar="USER", default="cli", show_default="$USER")
@pass_ctx
def transfer_command(
    obj: CliContext, agent: str, queue: str | None, supervisor: str | None, actor: str
) -> None:
    """Hand AGENT's caller on: --queue NAME (cold: to the front of that queue, the agent
    freed at once) or --supervisor NAME (warm: the supervisor's phone rings; once they join,
    the agent drops).

    Needs the Twilio secrets, like `duecall dialer`. Recorded in the audit trail.
    """
    from desk.errors import AgentError
    from desk.transfers import cold, warm
    from duecall.wiring import build_desk, build_telephony
    from telephony.errors import TelephonyError
    from telephony.port import AgentCall

    if (queue is None) == (supervisor is None):
        _fail("give either --queue (cold) or --supervisor (warm)")
    settings = obj.require("dialer")
    desk = build_desk(settings).desk
    with obj.store() as db:
        with db.session() as session:
            try:
                if queue is not None:
                    move = cold(
                        session,
                        desk,
                        agent_name=agent,
                        queue=queue,
                        now=obj.clock.now(),
                        actor=actor,
                    )
                else:
                    asked = warm(
                        session,
                        agent_name=agent,
                        supervisor_name=supervisor or "",
                        now=obj.clock.now(),
                        actor=actor,
                    )
            except AgentError as exc:
                _fail(str(exc))
        try:
            telephony = build_telephony(settings)
            if queue is not None:
                telephony.redirect_call(move.call_sid, move.url)
            else:
                telephony.place_agent_call(
                    AgentCall(
                        to=asked.phone,
                        entry_id=asked.entry_id,
                        agent_id=asked.supervisor_id,
                        timeout=settings.desk.offer_timeout_seconds,
                        purpose="warm",
                    )
                )
        except TelephonyError as exc:
            click.echo(f"error: the carrier refused: {exc}", err=True)
            sys.exit(exitcodes.FAILURE)
    if queue is not None:
        click.echo(f"{agent}'s caller is first in {queue}; {agent} is wrapping up")
    else:
        click.echo(f"ringing {supervisor} to take over {agent}'s call")


def _seconds(value: int | None) -> str:
    from desk.figures import minutes_seconds

    return minutes_seconds(value)


@desk_group.command("queue")
@click.option(
    "--hours",
    type=click.IntRange(min=1, max=24 * 31),
    default=24,
    show_default=True,
    help="The figures cover the callers enqueued in the last HOURS hours.",
)
@pass_ctx
def queue_command(obj: CliContext, hours: int) -> None:
    """The live queues (waiting, longest wait, speed of answer, abandonment, service level
    against its target) and the agents by state and shift."""
    from desk.agents import all_agents
    from desk.escalation import queue_open
    from desk.figures import desk_figures

    desk = obj.settings.desk
    now = obj.clock.now()
    with obj.store() as db, db.session(readonly=True) as session:
        figures = desk_figures(session, desk, now=now, since=now - timedelta(hours=hours))
        agents = all_agents(session)
        # Open: in its hours, with an agent for it on shift and at the desk (any language).
        staffed = {
            q.name: any(queue_open(session, desk, q, lang, now) for lang in q.languages)
            for q in desk.queues
        }
    out = Console(highlight=False)
    table = Table(
        title=Text(f"Queues (last {hours} h, {now:%Y-%m-%d %H:%M} UTC)"), title_justify="left"
    )
    table.add_column(Text("queue"), no_wrap=True)
    for column in (
        "open",
        "waiting",
        "longest",
        "answered",
        "ASA",
        "abandoned",
        "left",
        "SL",
        "target",
    ):
        table.add_column(Text(column))
    on_shift = desk.on_shift(now)
    for q in figures.queues:
        level = "-" if q.service_level_percent is None else f"{q.service_level_percent}%"
        if q.meets_target is False:
            level += " (below)"
        table.add_row(
            *(
                plain(cell)
                for cell in (
                    q.queue,
                    "yes" if staffed.get(q.queue) else "no",
                    str(q.waiting),
                    _seconds(q.longest_wait_seconds) if q.waiting else "-",
                    str(q.answered),
                    _seconds(q.average_answer_seconds),
                    "-"
                    if q.abandonment_percent is None
                    else f"{q.abandoned} ({q.abandonment_percent}%)",
                    str(q.left),
                    level,
                    f"{q.target_percent}%/{q.target_seconds}s",
                )
            )
        )
    out.print(table)
    out.print(
        "open: in its hours with an agent for it on shift and at the desk; ASA: average speed "
        "of answer; SL: service level (answered within the target / answered and abandoned)",
        markup=False,
    )
    by_state = ", ".join(
        f"{state.replace('_', ' ')} {count}" for state, count in figures.agents_by_state.items()
    )
    out.print(f"agents: {by_state}", markup=False)
    cb = figures.callbacks
    out.print(
        f"callbacks: {cb.open} open ({cb.due} due now, {cb.missed} missed and to be tried "
        f"again), {cb.done} placed",
        markup=False,
    )
    roster = Table(title=Text("Agents"), title_justify="left")
    for column in ("name", "state", "since (UTC)", "on shift until (UTC)", "languages"):
        roster.add_column(Text(column))
    for agent in agents:
        until = on_shift.get(agent.name)
        roster.add_row(
            *(
                plain(cell)
                for cell in (
                    agent.name,
                    agent.state.replace("_", " "),
                    f"{agent.state_since:%H:%M:%S}",
                    f"{until:%Y-%m-%d %H:%M}" if until else "off shift",
                    agent.languages.replace(",", ", "),
                )
            )
        )
    out.print(roster)


@desk_group.group("token")
def token_group() -> None:
    """Bearer tokens for the JSON API (/api/...)."""


@token_group.command("create")
@click.argument("name")
@click.option("--by", "actor", envvar="USER", default="cli", show_default="$USER")
@pass_ctx
def token_create(obj: CliContext, name: str, actor: str) -> None:
    """Create the API token NAME (say whose it is: "crm", "payments-feed") and print it once.

    Only a hash is stored: copy the token now into the client's secret store; a lost token is
    revoked and replaced, never shown again. Clients send it as
    `Authorization: Bearer <token>`.
    """
    from desk.errors import TokenError
    from desk.tokens import create_token

    with obj.store() as db, db.session() as session:
        try:
            token = create_token(session, name, now=obj.clock.now(), actor=actor)
        except TokenError as exc:
            _fail(str(exc))
    click.echo(token)
    click.echo(f"token {name.strip()} created; it is shown only this once", err=True)


@token_group.command("list")
@pass_ctx
def token_list(obj: CliContext) -> None:
    """Every API token: name, who created it and when, last used, revoked (never the token)."""
    from desk.tokens import all_tokens

    with obj.store() as db, db.session(readonly=True) as session:
        tokens = all_tokens(session)
        table = Table(title=Text(f"API tokens ({len(tokens)})"), title_justify="left")
        for column in ("name", "created (UTC)", "by", "last used (UTC)", "revoked (UTC)"):
            table.add_column(Text(column))
        for token in tokens:
            table.add_row(
                *(
                    plain(cell)
                    for cell in (
                        token.name,
                        f"{token.created_at:%Y-%m-%d %H:%M}",
                        token.created_by,
                        f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never",
                        f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "-",
                    )
                )
            )
    Console(highlight=False).print(table)


@token_group.command("revoke")
@click.argument("name")
@click.option("--by", "actor", envvar="USER", default="cli", show_default="$USER")
@pass_ctx
def token_revoke(obj: CliContext, name: str, actor: str) -> None:
    """Revoke the API token NAME at once: its next request is 401. Recorded in the audit trail."""
    from desk.errors import TokenError
    from desk.tokens import revoke_token

    with obj.store() as db, db.session() as session:
        try:
            revoke_token(session, name, now=obj.clock.now(), actor=actor)
        except TokenError as exc:
            _fail(str(exc))
    click.echo(f"token {name} revoked")
