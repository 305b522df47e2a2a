"""The `duecall` command line: the root group, its own commands, and every feature's commands.

Its commands, options, outputs and exit codes are a fixed public interface. Exit codes: 0 success;
1 an unexpected failure; 2 a usage or configuration problem (each printed as ``key.path:
message``); 3 an import where some rows were rejected (the good rows landed).
"""

from __future__ import annotations

import importlib.metadata
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from campaigns.import_rows import ACCOUNT_COLUMNS, ACCOUNT_OPTIONAL_COLUMNS, PAYMENT_COLUMNS
from campaigns.legal import LegalProfiles
from duecall import (
    cli_audit,
    cli_concessions,
    cli_desk,
    cli_dialer,
    cli_ivr,
    cli_plans,
    cli_reports,
    cli_sms,
    exitcodes,
)
from duecall.cli_context import CliContext, fail_config, pass_ctx
from duecall.settings import COMMAND_SECRETS, SECRET_ENV, ConfigError, Settings
from store.models import SUPPRESSION_KINDS


def package_version() -> str:
    """The installed distribution's version, or ``unknown`` when running from an uninstalled
    checkout (``--version`` must still answer)."""
    try:
        return importlib.metadata.version("duecall")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
# The version is looked up as the module loads: click's own lookup has no fallback for an
# uninstalled checkout.
@click.version_option(package_version(), prog_name="duecall", message="%(prog)s %(version)s")
@click.option(
    "--config",
    "config_path",
    envvar="DUECALL_CONFIG",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (default ./config.yaml; env DUECALL_CONFIG).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """duecall: reminder dialer, IVR and agent desk for card collections, on Twilio."""
    ctx.obj = CliContext(config_path=config_path)


@cli.command("check-config")
@click.option(
    "--for",
    "command",
    type=click.Choice(sorted(COMMAND_SECRETS)),
    default=None,
    help="Also require the secrets this command needs.",
)
@click.option(
    "--live",
    is_flag=True,
    help="Production: what would fail against the real Twilio is an error, not a warning.",
)
@pass_ctx
def check_config(obj: CliContext, command: str | None, live: bool) -> None:
    """Validate the configuration; print every problem as `key.path: message`, exit 2 on any.

    Names the file read and the variables that set values. What would fail in production (test
    numbers, the simulator's URL, credentials of the wrong shape) is listed as warnings,
    which leave the exit code alone, or with --live as problems.
    """
    from duecall.config_checks import production_notes, production_problems

    settings = obj.settings
    out = Console(highlight=False)
    out.print(
        f"read: {settings.source or 'built-in defaults, no file'}", markup=False, soft_wrap=True
    )
    overrides = [f"{k} from {v}" for k, v in settings.origins.items() if k not in SECRET_ENV]
    if overrides:
        out.print(f"environment: {', '.join(overrides)}", markup=False, soft_wrap=True)
    secrets = [
        name if settings.origins[name] == name else f"{name} from {settings.origins[name]}"
        for name in SECRET_ENV
        if name in settings.origins
    ]
    if secrets:
        out.print(f"secrets set: {', '.join(secrets)}", markup=False, soft_wrap=True)
    problems: list[str] = []
    if command is not None:
        try:
            settings.require(*COMMAND_SECRETS[command], command=command)
        except ConfigError as exc:
            problems.extend(exc.problems)
    production = production_problems(settings)
    if live:
        problems.extend(production)
    if problems:
        fail_config(problems)
    out.print("configuration OK" + (" for production" if live else ""))
    for name, secret_field in SECRET_ENV.items():
        if getattr(settings.secrets, secret_field) is None:
            needed = [c for c, names in COMMAND_SECRETS.items() if name in names]
            if needed:
                commands = ", ".join(f"`duecall {c}`" for c in needed)
                out.print(f"note: {name} is not set; needed by {commands}", soft_wrap=True)
    if production and not live:
        out.print(f"warnings: {len(production)} (errors with --live; not counted in the exit code)")
        for warning in production:
            out.print(f"  {warning}", markup=False, soft_wrap=True)
    for note in production_notes(settings):
        out.print(f"note: {note}", markup=False, soft_wrap=True)
    legal = settings.policy.built.legal(settings.business.kind)
    for line in legal.describe():
        out.print(f"policy: {line}", markup=False, soft_wrap=True)
    out.print(f"policy: accounts by profile: {_accounts_by_profile(settings, legal)}")


def _accounts_by_profile(settings: Settings, legal: LegalProfiles) -> str:
    """How many accounts each profile covers (by the primary number), when a store is there;
    never creates one and never fails the check."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from duecall.wiring import build_database
    from store.db import sqlite_file
    from store.models import Phone

    path = sqlite_file(settings.database.url)
    if path is not None and not path.exists():
        return "no store to count (none at the configured URL)"
    counts: dict[str, int] = dict.fromkeys(sorted(legal.profiles), 0)
    chosen: dict[str, str] = {}
    try:
        db = build_database(settings, create=False)
        try:
            with db.session(readonly=True) as session:
                numbers = session.scalars(
                    select(Phone.number)
                    .where(Phone.kind == "primary")
                    .execution_options(yield_per=5000)
                )
                for number in numbers:
                    # Numbers sharing a prefix share a country: ask libphonenumber once each.
                    prefix = number[:7]
                    if prefix not in chosen:
                        chosen[prefix] = legal.name_for(number)
                    counts[chosen[prefix]] += 1
        finally:
            db.dispose()
    except SQLAlchemyError as exc:
        return f"not counted ({type(exc).__name__})"
    return ", ".join(f"{name} {count}" for name, count in counts.items())


@cli.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@pass_ctx
def db_upgrade(obj: CliContext, revision: str) -> None:
    """Create or migrate the schema (SQLite by default, PostgreSQL via DUECALL_DATABASE_URL)."""
    from store.migrate import current_revisions, upgrade

    db = obj.database()
    try:
        upgrade(db, revision)
        click.echo(f"database at revision {', '.join(sorted(current_revisions(db)))}")
    finally:
        db.dispose()


def _import_command(kind: str) -> Callable[..., None]:
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @pass_ctx
    def command(obj: CliContext, file: Path) -> None:
        from duecall.imports import run_import

        code = run_import(obj.settings, obj.database(), obj.clock, kind, file)
        sys.exit(code)

    command.__doc__ = IMPORT_HELP[kind]
    return command


def _column_list(title: str, columns: Sequence[str]) -> str:
    """``title`` and the column names under it, wrapped and indented; click keeps the lines
    of a paragraph that starts with ``\\b`` as they are."""
    names = textwrap.fill(", ".join(columns), width=74, initial_indent="  ", subsequent_indent="  ")
    return f"\b\n{title}\n{names}"


_IMPORT_OUTCOME = (
    "A bad row is printed as `line N: column: reason` on stderr and written, with its fields, "
    "to FILE.rejects.csv; every good row lands (exit 3 when some rows were rejected). An unknown "
    "or missing column stops the file before anything is written (exit 2)."
)

IMPORT_HELP = {
    "accounts": "\n\n".join(
        [
            "Import or update accounts from a UTF-8 CSV with a header row, upserted by "
            "account_id (a re-import updates, never duplicates).",
            _column_list("Required columns (every one in the header):", ACCOUNT_COLUMNS),
            _column_list("Optional columns:", ACCOUNT_OPTIONAL_COLUMNS),
            "phone is stored E.164 (a number without + is read in import.default_region); "
            "language en-US or zh-CN; timezone an IANA name such as America/New_York (may be "
            "empty); money non-negative, at most two decimals; dates YYYY-MM-DD; an empty "
            "sms_consent or voice_consent takes the configured default for the primary phone.",
            _IMPORT_OUTCOME,
            "Example: duecall accounts import examples/accounts.csv",
        ]
    ),
    "payments": "\n\n".join(
        [
            "Import payments from a UTF-8 CSV with a header row; idempotent by payment_id.",
            _column_list("Columns (all required):", PAYMENT_COLUMNS),
            "paid_at is an ISO date or datetime (UTC without an offset). The same payment_id "
            "with other content, or an unknown account_id, is a reject, never an overwrite. "
            "Import the accounts first.",
            _IMPORT_OUTCOME,
            "Example: duecall payments import examples/payments.csv",
        ]
    ),
}


@cli.group("accounts")
def accounts_group() -> None:
    """Accounts."""


@cli.group("payments")
def payments_group() -> None:
    """Payments."""


accounts_group.command("import")(_import_command("accounts"))
payments_group.command("import")(_import_command("payments"))


@cli.group("suppress")
def suppress_group() -> None:
    """Opt-outs, DNC, cease-and-desist and disputes: the flags the contact policy checks."""


def _suppress_options(func: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(
        [
            click.option("--number", help="A phone number (any format; stored E.164)."),
            click.option("--account", "account_id", help="An account number."),
            click.option("--kind", required=True, type=click.Choice(SUPPRESSION_KINDS)),
            click.option("--reason", required=True, help="Why: kept in the audit log."),
            click.option(
                "--by",
                "actor",
                envvar="USER",
                default="cli",
                show_default="$USER",
                help="Who is making the change.",
            ),
        ]
    ):
        func = option(func)
    return func


def _suppression_change(
    obj: CliContext,
    action: str,
    number: str | None,
    account_id: str | None,
    kind: str,
    reason: str,
    actor: str,
) -> None:
    from campaigns.suppressions import SuppressionError, add_suppression, remove_suppression
    from store.privacy import mask_phone
    from telephony.numbers import InvalidNumberError, to_e164

    settings = obj.settings
    try:
        if number is not None:
            number = to_e164(number, settings.import_.default_region)
        with obj.store() as db, db.session() as session:
            now = obj.clock.now()
            target = f"number {mask_phone(number)}" if number else f"account {account_id}"
            if action == "add":
                _, created = add_suppression(
                    session,
                    kind=kind,
                    number=number,
                    account_id=account_id,
                    reason=reason,
                    actor=actor,
                    source="cli",
                    now=now,
                )
                click.echo(f"{kind} {'added to' if created else 'already in force on'} {target}")
            else:
                lifted = remove_suppression(
                    session,
                    kind=kind,
                    number=number,
                    account_id=account_id,
                    reason=reason,
                    actor=actor,
                    now=now,
                )
                click.echo(
                    f"{kind} lifted on {target}" if lifted else f"no active {kind} on {target}"
                )
    except (SuppressionError, InvalidNumberError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exitcodes.USAGE)


@suppress_group.command("add")
@_suppress_options
@pass_ctx
def suppress_add(
    obj: CliContext, number: str | None, account_id: str | None, kind: str, reason: str, actor: str
) -> None:
    """Stop contacts: e.g. `--number +14155550123 --kind dnc --reason "asked on the phone"`."""
    _suppression_change(obj, "add", number, account_id, kind, reason, actor)


@suppress_group.command("remove")
@_suppress_options
@pass_ctx
def suppress_remove(
    obj: CliContext, number: str | None, account_id: str | None, kind: str, reason: str, actor: str
) -> None:
    """Lift a suppression (the record stays, stamped with who lifted it and why)."""
    _suppression_change(obj, "remove", number, account_id, kind, reason, actor)


@cli.command("simulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option(
    "--personas",
    "personas_file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="YAML or JSON file: how the callee at each number behaves (format above).",
)
@click.option(
    "--time-scale",
    default=1.0,
    show_default=True,
    type=float,
    help=(
        "Multiply every wait of a call (ringing, answering-machine detection, Gather "
        "timeouts, Pause) by this: 0.1 plays calls ten times faster."
    ),
)
@click.option(
    "--faults",
    "faults_file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="YAML or JSON fault plan (REST errors, latency, dropped or lost callbacks) in force "
    "from the start; see simulator/faults.py.",
)
@pass_ctx
def simulator_command(
    obj: CliContext,
    host: str,
    port: int,
    personas_file: str | None,
    time_scale: float,
    faults_file: str | None,
) -> None:
    """Run the local carrier: Twilio's REST subset and simulated callees, over HTTP.

    Point the app at it with DUECALL_TWILIO_API_URL=http://HOST:PORT (the dialer, and `serve`
    for answered reminder calls). No Twilio account is needed.

    \b
    Reads from the environment:
      TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
          the credentials it accepts (any values, e.g. AC + 32 zeros and
          `local-token`); it signs its webhooks with the token, so the app
          must be given the same two
      DUECALL_PUBLIC_URL
          the app's base URL (default http://127.0.0.1:5000, i.e. `serve`):
          inbound calls go to /twilio/voice and texts to /twilio/sms there

    \b
    --personas FILE is YAML (or .json) mapping numbers to how they answer:
      personas:
        default: {preset: human}
        "+12125550111": busy
        "+12125550112": {keys: ["1", "wait 2", "1234#"]}
    Presets: human, silent, busy, no-answer, failed, voicemail, no-sms; see
    simulator/personas.py for every field.

    \b
    Inbound calls and texts (Basic auth with the SID and token above; form
    fields, URL-encoded: a bare + in a form body is a space):
      POST /_simulator/inbound/calls     From, To, optional Keys ("1,wait 2,1234#")
      POST /_simulator/inbound/messages  From, To, Body
      GET  /_simulator/calls/SID/transcript
      POST|PUT|DELETE|GET /_simulator/faults   a fault plan as JSON (--faults)
    """
    from simulator import serve

    settings = obj.require("simulator")
    public = settings.server.public_url
    serve(
        host,
        port,
        account_sid=settings.secret("TWILIO_ACCOUNT_SID"),
        auth_token=settings.secret("TWILIO_AUTH_TOKEN"),
        personas_file=personas_file,
        time_scale=time_scale,
        voice_url=f"{public}/twilio/voice",
        sms_url=f"{public}/twilio/sms",
        faults=faults_file,
    )


@cli.command("serve")
@click.option("--host", default=None, help="Default: server.host (127.0.0.1).")
@click.option("--port", default=None, type=int, help="Default: server.port (5000).")
@click.option(
    "--bind",
    "binds",
    multiple=True,
    metavar="ADDRESS",
    help="HOST:PORT or unix:PATH, repeatable (default: the host and port above).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: DUECALL_WEB_WORKERS, else 2 x cores + 1, at most 8).",
)
@click.option("--dev", is_flag=True, help="Flask's development server instead, for trying things.")
@pass_ctx
def serve(
    obj: CliContext,
    host: str | None,
    port: int | None,
    binds: tuple[str, ...],
    workers: int | None,
    dev: bool,
) -> None:
    """Run the web process: Twilio webhooks, under gunicorn.

    Run `duecall db upgrade` first. GET /healthz answers {"status": "ok"}.

    gunicorn with duecall's server settings (sync workers, a 20 s timeout, an access log
    without query strings: duecall/gunicorn_config.py, which deploy/gunicorn.conf.py uses
    too); each worker builds its own app. --dev runs Flask's own server instead, one process,
    for trying things.

    \b
    Reads from the environment:
      TWILIO_AUTH_TOKEN    required: every /twilio/... request must carry a
                           valid X-Twilio-Signature made with it (else 403)
      DUECALL_SECRET_KEY   required: the agents' console's sessions and CSRF
                           tokens (/desk/); shared by every web worker
      DUECALL_PUBLIC_URL   the base URL Twilio (or the simulator) reaches;
                           signatures are checked against it (default
                           http://127.0.0.1:5000)
      DUECALL_DATABASE_URL the store (default sqlite:///var/duecall.db)
      TWILIO_ACCOUNT_SID, DUECALL_TWILIO_API_URL
                           to redirect an answered reminder call on its
                           answering-machine verdict (the simulator's URL
                           when trying things locally)
      DUECALL_WEB_WORKERS, FORWARDED_ALLOW_IPS
                           as in deploy/gunicorn.conf.py
    """
    import os

    from duecall.app import create_app

    settings = obj.require("serve")
    address = host or settings.server.host
    listen = port or settings.server.port
    if dev:
        create_app(settings).run(host=address, port=listen, threaded=True, use_reloader=False)
        return
    from duecall import web_server
    from duecall.gunicorn_config import server_settings

    try:
        options = server_settings(os.environ)
    except ValueError as exc:
        fail_config([str(exc)])
    options["bind"] = list(binds) or [f"{address}:{listen}"]
    if workers is not None:
        options["workers"] = workers
    # Each worker builds its own app after the fork: no connection crosses a fork.
    web_server.run(lambda: create_app(settings), options)


@cli.command("demo")
@click.option("--keep-running", is_flag=True, help="Leave the services up after the demo.")
@click.option(
    "--database",
    default="sqlite:///var/demo.db",
    show_default=True,
    help="Where the demo keeps its data (recreated on every run when it is SQLite).",
)
@pass_ctx
def demo(obj: CliContext, keep_running: bool, database: str) -> None:
    """Run the whole job end to end on SQLite and the local simulator, no Twilio account."""
    from duecall.demo import run_demo

    sys.exit(run_demo(obj.settings, database, keep_running=keep_running))


def _register_features() -> None:
    # Every feature module adds its own commands the same way: one register(cli) per module.
    for feature in (
        cli_ivr,
        cli_dialer,
        cli_sms,
        cli_reports,
        cli_audit,
        cli_concessions,
        cli_plans,
        cli_desk,
    ):
        feature.register(cli)


_register_features()


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="duecall")
