"""The ivr's commands on the `duecall` CLI: ``duecall ivr call``."""

from __future__ import annotations

import logging
import sys
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from duecall import exitcodes
from duecall.cli_context import CliContext, pass_ctx

if TYPE_CHECKING:
    from duecall.settings import Settings
    from simulator import SimCall

# Throwaway credentials for a call that never leaves this process: the simulator accepts them
# and signs its webhooks with the token, and the app checks the signatures against it.
LOCAL_ACCOUNT_SID = "AC" + "0" * 32
LOCAL_AUTH_TOKEN = "duecall-local-ivr-call"  # noqa: S105 - not a secret: in-process only
LOCAL_SECRET_KEY = "duecall-local-ivr-call"  # noqa: S105
DEFAULT_FROM = "+15005550009"


def register(cli: click.Group) -> None:
    """Add the ivr's commands to `cli`."""
    cli.add_command(ivr_group)


@click.group("ivr")
def ivr_group() -> None:
    """The hotline's call flow."""


@ivr_group.command("call")
@click.option(
    "--from",
    "from_",
    default=DEFAULT_FROM,
    show_default=True,
    help="The caller's number (E.164). A cardholder's number skips the account number.",
)
@click.option(
    "--keys",
    default=None,
    help=(
        "Scripted keypresses, comma-separated steps: digits 0-9*#, 'wait SECONDS' or "
        "'hangup' (e.g. '1,40000062#,4771,19500715,1'). Without it, keys are read from "
        "the terminal at each prompt (an empty line is silence; end of input hangs up)."
    ),
)
@pass_ctx
def call(obj: CliContext, from_: str, keys: str | None) -> None:
    """Call the hotline through the local simulator, in this terminal.

    Uses the configured database (DUECALL_DATABASE_URL; run `duecall demo` first for the
    example portfolio) and migrates it if needed. Prompts are printed as spoken, with the
    TwiML language. TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and DUECALL_SECRET_KEY are
    taken from the environment when set, otherwise throwaway local values are used:
    nothing leaves this machine.
    """
    sys.exit(place_call(obj.settings, from_, keys, obj.database))


def local_settings(settings: Settings) -> Settings:
    """``settings`` with throwaway values for whichever of the three secrets is unset."""
    from pydantic import SecretStr

    from duecall.settings import Secrets

    secrets = settings.secrets
    return settings.model_copy(
        update={
            "secrets": Secrets(
                twilio_account_sid=secrets.twilio_account_sid or SecretStr(LOCAL_ACCOUNT_SID),
                twilio_auth_token=secrets.twilio_auth_token or SecretStr(LOCAL_AUTH_TOKEN),
                secret_key=secrets.secret_key or SecretStr(LOCAL_SECRET_KEY),
            )
        }
    )


def place_call(
    settings: Settings,
    from_: str,
    keys: str | None,
    database: Callable[[], Any],
    *,
    read: Callable[[str], str] | None = None,
) -> int:
    """Play one inbound call through the simulator; returns the exit code."""
    # The transcript is the output; the services' own INFO lines would bury it.
    for name in ("alembic", "simulator", "ivr", "webhooks"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from duecall.app import create_app
    from simulator import Persona, PersonaError, WsgiTransport, create_simulator, parse_key_script
    from store.migrate import upgrade

    local = local_settings(settings)
    try:
        script = parse_key_script(keys) if keys is not None else None
    except PersonaError as exc:
        click.echo(f"--keys: {exc}", err=True)
        return exitcodes.USAGE
    db = database()
    try:
        upgrade(db)
        app = create_app(local, db=db)
        voice_url = f"{local.server.public_url}/twilio/voice"
        sim = create_simulator(
            local.secret("TWILIO_ACCOUNT_SID"),
            local.secret("TWILIO_AUTH_TOKEN"),
            transport=WsgiTransport(app),
            voice_url=voice_url,
        )
        call = sim.place_call(
            to=local.twilio.caller_id,
            from_=from_,
            url=voice_url,
            direction="inbound",
            persona=Persona(outcome="answer", ring_seconds=0.0, keys=script or ()),
        )
        printer = _Printer(call)
        if script is None:
            call.keypad = _TerminalKeypad(printer, read or _read_line)
        sim.run_until_idle()
        printer.flush()
        for error in sim.errors:
            click.echo(f"simulator: {error}", err=True)
        return 1 if sim.errors else 0
    finally:
        db.dispose()


class _Printer:
    """Prints the call's transcript as it grows: prompts with their language, keys, hang-ups."""

    def __init__(self, call: SimCall) -> None:
        self.call = call
        self.shown = 0

    def flush(self) -> None:
        lines = self.call.transcript[self.shown :]
        self.shown = len(self.call.transcript)
        for line in lines:
            shown = _render(line)
            if shown is not None:
                click.echo(shown)


def _render(line: str) -> str | None:
    if line.startswith("[app] Say("):
        head, _, text = line.partition("): ")
        language = head.removeprefix("[app] Say(").split(",")[0]
        return f"[{language}] {text}"
    if line.startswith("[caller] presses "):
        return f"  > {line.removeprefix('[caller] presses ')}"
    if line.startswith("[caller] no input"):
        return "  > (no input)"
    if line.startswith(("[caller] hangs up", "[app] Hangup")):
        return "  (hang up)"
    return None


def _read_line(prompt: str) -> str:
    return input(prompt)


class _TerminalKeypad(deque[Any]):
    """The caller's keypad, read from the terminal when the IVR waits for keys.

    The simulator reads a callee's key script from ``call.keypad`` whenever a Gather listens;
    when the script is empty, this asks the person at the terminal for the next keys instead.
    """

    def __init__(self, printer: _Printer, read: Callable[[str], str]) -> None:
        super().__init__()
        self._printer = printer
        self._read = read
        self._ended = False

    def __len__(self) -> int:
        if super().__len__() == 0 and not self._ended:
            from simulator import PersonaError, parse_key_script
            from simulator.personas import HangUp

            self._printer.flush()
            try:
                line = self._read("keys> ")
            except (EOFError, KeyboardInterrupt):
                line, self._ended = "hangup", True
            try:
                self.extend(parse_key_script(line))
            except PersonaError as exc:
                click.echo(f"  ({exc})")
            if any(isinstance(step, HangUp) for step in self):
                self._ended = True
        return super().__len__()
