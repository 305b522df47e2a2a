"""The dialer's commands on the `duecall` CLI: `dialer` and `campaign list|run|pause|resume`."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from duecall import exitcodes
from duecall.cli_context import CliContext, pass_ctx
from duecall.settings import Settings

if TYPE_CHECKING:
    from dialer.worker import DialerWorker


def register(cli: click.Group) -> None:
    """Add the dialer's commands to `cli`."""
    cli.add_command(dialer_command)
    cli.add_command(campaign_group)


def _campaign(settings: Settings, name: str) -> None:
    if name not in {c.name for c in settings.campaigns}:
        known = ", ".join(c.name for c in settings.campaigns) or "none configured"
        click.echo(f"error: no campaign named {name!r} (known: {known})", err=True)
        sys.exit(exitcodes.USAGE)


def build_worker(obj: CliContext, settings: Settings, worker_id: str | None = None) -> DialerWorker:
    """The worker from the settings (needs the Twilio secrets: it places calls).

    ``DUECALL_FAULT`` and ``DUECALL_CLAIM_JITTER_MS`` (see dialer.faults) are read here, once;
    a malformed value exits 2.
    """
    from dialer.faults import Faults, FaultSpecError
    from duecall import wiring

    try:
        faults = Faults.from_env()
    except FaultSpecError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exitcodes.USAGE)
    if faults:
        click.echo(
            f"warning: fault injection armed ({faults.point or 'claim jitter only'})", err=True
        )
    return wiring.build_worker(
        settings,
        wiring.build_database(settings),
        wiring.build_telephony(settings),
        obj.clock,
        worker_id=worker_id or f"{socket.gethostname()}:{os.getpid()}",
        faults=faults,
    )


@click.command("dialer")
@click.option("--worker-id", default=None, help="Name in claims and logs (default host:pid).")
@pass_ctx
def dialer_command(obj: CliContext, worker_id: str | None) -> None:
    """Run the dialer worker: launches, dispatch, reconciliation, outbox. SIGTERM stops it.

    Several may share a PostgreSQL store; on SQLite a second one exits 2, saying why.
    """
    from dialer.worker import SingleWorkerError

    settings = obj.require("dialer")
    worker = build_worker(obj, settings, worker_id)
    try:
        worker.register()
    except SingleWorkerError as exc:
        worker.db.dispose()
        click.echo(f"error: {exc}", err=True)
        sys.exit(exitcodes.USAGE)
    done = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        click.echo(f"{signal.Signals(signum).name}: stopping after the call in progress", err=True)
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    worker.start()
    try:
        while not done.wait(0.5):
            if worker.failed.is_set():
                break
    finally:
        worker.stop()
        worker.db.dispose()
    if worker.failed.is_set():
        click.echo("error: the worker lost its lease and stopped; see the log", err=True)
        sys.exit(exitcodes.FAILURE)


@click.group("campaign")
def campaign_group() -> None:
    """Campaigns: list them, launch one now, pause and resume dispatch."""


@campaign_group.command("list")
@pass_ctx
def campaign_list(obj: CliContext) -> None:
    """Each campaign with its channel, schedule, next launch (in its zone) and state."""
    from dialer import control
    from dialer.worker import live_workers

    settings = obj.settings
    now = obj.clock.now()
    with obj.store() as db, db.session(readonly=True) as session:
        paused = control.pauses(session)
        workers = [
            (w.worker_id, (now - w.heartbeat_at).total_seconds(), w.claimed, w.placed)
            for w in live_workers(
                session, now, timedelta(seconds=settings.dialer.claim_timeout_seconds)
            )
        ]
    table = Table(show_header=True, header_style="bold")
    for column in ("campaign", "channel", "schedule", "next launch", "state"):
        table.add_column(column)
    for campaign in settings.campaigns:
        upcoming = campaign.next_launch(now) if campaign.active else None
        if "*" in paused:
            state = f"paused (all: {paused['*']})"
        elif campaign.name in paused:
            state = f"paused ({paused[campaign.name]})"
        else:
            state = "active" if campaign.active else "inactive"
        table.add_row(
            campaign.name,
            campaign.channel,
            f"{campaign.schedule.cron} {campaign.schedule.timezone}",
            upcoming.astimezone(campaign.schedule.zone()).strftime("%Y-%m-%d %H:%M %Z")
            if upcoming
            else "-",
            state,
        )
    if not settings.campaigns:
        click.echo("no campaigns configured")
    else:
        Console(width=200, highlight=False).print(table)
    click.echo(_workers_line(workers))


def age_text(seconds: float) -> str:
    """How long ago, in whole seconds: ``"0s ago"`` for an instant a little in the future (a
    worker's clock a few milliseconds ahead of this one's), never ``"-0s ago"``."""
    return f"{max(0, round(seconds))}s ago"


def _workers_line(workers: list[tuple[str, float, int, int]]) -> str:
    if not workers:
        return "dialer workers: none running"
    described = ", ".join(
        f"{worker_id} (heartbeat {age_text(age)}, claimed {claimed}, placed {placed})"
        for worker_id, age, claimed, placed in workers
    )
    return f"dialer workers: {len(workers)} running: {described}"


@campaign_group.command("run")
@click.argument("name")
@click.option("--now", "now_", is_flag=True, help="Launch a run at once (its own slot).")
@pass_ctx
def campaign_run(obj: CliContext, name: str, now_: bool) -> None:
    """Launch NAME: with --now a run of its own; without, its latest scheduled slot if missed."""
    from dialer.launch import Launcher, LaunchResult

    settings = obj.settings
    _campaign(settings, name)
    campaign = next(c for c in settings.campaigns if c.name == name)
    if not campaign.active:
        click.echo(f"error: campaign {name} is inactive (active: false)", err=True)
        sys.exit(exitcodes.USAGE)
    actor = f"cli:{os.environ.get('USER', 'unknown')}"
    with obj.store() as db:
        # The worker's own launch code, on the store alone: no telephony, no Twilio secrets.
        # With no `gone`, it takes an abandoned snapshot over only once its heartbeat is stale.
        launcher = Launcher(
            db, obj.clock, settings=settings.dialer, campaigns=settings.campaigns, actor=actor
        )
        result: LaunchResult | None
        if now_:
            result = launcher.launch_now(name, actor)
        else:
            result = launcher.launch_scheduled(name)
            if result is None:
                click.echo(f"{name}: no scheduled slot within the grace period; use --now")
                sys.exit(exitcodes.USAGE)
    if result.created or result.resumed:
        click.echo(f"{name}: run {result.run_id} launched with {result.contacts} contacts")
    else:
        click.echo(f"{name}: that slot was already launched (run {result.run_id})")


def _pause_targets(settings: Settings, name: str | None, all_: bool) -> list[str]:
    if all_ == (name is not None):
        click.echo("error: give a campaign NAME or --all", err=True)
        sys.exit(exitcodes.USAGE)
    if all_:
        return ["*", *(c.name for c in settings.campaigns)]
    assert name is not None
    _campaign(settings, name)
    return [name]


@campaign_group.command("pause")
@click.argument("name", required=False)
@click.option("--all", "all_", is_flag=True, help="Every campaign.")
@click.option("--reason", default="paused by an operator", show_default=True)
@pass_ctx
def campaign_pause(obj: CliContext, name: str | None, all_: bool, reason: str) -> None:
    """Stop dispatch of NAME (or --all) at once; running workers read it before every call."""
    from dialer import control

    targets = _pause_targets(obj.settings, name, all_)
    actor = f"cli:{os.environ.get('USER', 'unknown')}"
    with obj.store() as db, db.session() as session:
        for target in targets:
            control.pause(session, target, reason=reason, actor=actor, now=obj.clock.now())
    click.echo(f"paused: {'all campaigns' if all_ else name}")


@campaign_group.command("resume")
@click.argument("name", required=False)
@click.option("--all", "all_", is_flag=True, help="Every campaign (automatic pauses included).")
@pass_ctx
def campaign_resume(obj: CliContext, name: str | None, all_: bool) -> None:
    """Restart dispatch of NAME (or --all), clearing automatic pauses and their streaks."""
    from dialer import control

    targets = _pause_targets(obj.settings, name, all_)
    actor = f"cli:{os.environ.get('USER', 'unknown')}"
    with obj.store() as db, db.session() as session:
        for target in targets:
            control.resume(session, target, actor=actor, now=obj.clock.now())
        still = control.paused_reason(session, name) if name else None
    click.echo(f"resumed: {'all campaigns' if all_ else name}")
    if still:
        click.echo(f"note: still paused by {still}")
