"""Entry points for the composition root and tools.

* :func:`create_simulator` builds a :class:`~simulator.engine.Simulator` (state, engine and REST
  WSGI app at ``sim.wsgi_app``) for tests or for embedding.
* :func:`serve` runs it standalone on a socket (``duecall simulator``), threaded, with webhooks
  over HTTP, logging each finished call's transcript.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler

from simulator.engine import Simulator
from simulator.faults import Faults, load_faults
from simulator.models import SimCall
from simulator.personas import Persona, PersonaBook, load_personas
from simulator.transport import HttpTransport, Transport

log = logging.getLogger("simulator")


def create_simulator(
    account_sid: str,
    auth_token: str,
    *,
    personas: PersonaBook | Mapping[str, Persona | object] | None = None,
    transport: Transport | None = None,
    threaded: bool = False,
    time_scale: float = 1.0,
    voice_url: str | None = None,
    sms_url: str | None = None,
    start_time: datetime | None = None,
    faults: Faults | Mapping[str, Any] | str | Path | None = None,
) -> Simulator:
    """Build a simulator that accepts ``account_sid``/``auth_token`` and signs with the token.

    ``personas`` maps numbers (or ``"default"``) to :class:`~simulator.personas.Persona` objects,
    preset names or mappings. ``transport`` defaults to :class:`~simulator.transport.HttpTransport`
    (pass a :class:`~simulator.transport.WsgiTransport` to drive an app in process).
    ``threaded=False`` is the deterministic mode (call ``sim.run_until_idle()``); ``threaded=True``
    plays calls in threads with pauses and timeouts lasting ``seconds * time_scale``. ``voice_url``
    and ``sms_url`` are the app's Voice and Messaging URLs used for inbound calls and SMS.
    ``start_time`` sets the virtual clock of the synchronous mode (default: now).
    ``faults`` is a :class:`~simulator.faults.Faults` to use, or a fault plan to load into
    ``sim.faults``: a mapping or a YAML/JSON file (see :mod:`simulator.faults`); a bad plan raises
    ``ValueError`` with the reason.
    """
    knobs = _faults(faults)
    book = (
        personas if isinstance(personas, PersonaBook) else PersonaBook.from_mapping(personas or {})
    )
    return Simulator(
        account_sid,
        auth_token,
        transport=transport or HttpTransport(),
        personas=book,
        threaded=threaded,
        time_scale=time_scale,
        voice_url=voice_url,
        sms_url=sms_url,
        start_time=start_time,
        faults=knobs,
    )


def _faults(faults: Faults | Mapping[str, Any] | str | Path | None) -> Faults:
    if isinstance(faults, Faults):
        return faults
    knobs = Faults()
    if faults is not None:
        knobs.load(faults if isinstance(faults, Mapping) else load_faults(faults))
    return knobs


class _TranscriptLogger(logging.Handler):
    """Logs a finished call's whole transcript once, when its final status line arrives."""

    def __init__(self, sim: Simulator) -> None:
        super().__init__(logging.INFO)
        self.sim = sim

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if not isinstance(args, tuple) or len(args) != 2 or record.msg != "%s %s":
            return
        sid, line = args
        if not (isinstance(line, str) and line.startswith("[carrier] call ")):
            return
        call: SimCall | None = self.sim.calls.get(str(sid))
        if call is not None and call.is_over:
            log.getChild("transcript").info("%s", call.transcript_text())


_ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


class _RequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, whose request lines carry no colour codes unless stderr is a
    terminal (a file or a pipe would show them as ``[35m[1mPOST ...[0m``)."""

    def log(self, type: str, message: str, *args: Any) -> None:
        if not sys.stderr.isatty():
            args = tuple(_ANSI_RE.sub("", a) if isinstance(a, str) else a for a in args)
        super().log(type, message, *args)


def serve(
    host: str,
    port: int,
    *,
    account_sid: str,
    auth_token: str,
    personas_file: str | Path | None = None,
    time_scale: float = 1.0,
    voice_url: str | None = None,
    sms_url: str | None = None,
    faults: Mapping[str, Any] | str | Path | None = None,
) -> None:
    """Run the simulator's REST API on ``host:port`` until interrupted (werkzeug, threaded).

    Calls play in real time times ``time_scale``; webhooks go over HTTP to the URLs the app hands
    over. Request lines are logged to the ``werkzeug`` logger, plain unless stderr is a terminal.
    ``faults`` is a fault plan (a mapping or a YAML/JSON file) in force from the start;
    ``/_simulator/faults`` changes it while running. Raises
    :class:`~simulator.errors.PersonaError` for a bad personas file and ``ValueError`` for a bad
    fault plan, before binding.
    """
    from werkzeug.serving import run_simple

    personas = load_personas(personas_file) if personas_file else PersonaBook()
    sim = create_simulator(
        account_sid,
        auth_token,
        personas=personas,
        threaded=True,
        time_scale=time_scale,
        voice_url=voice_url,
        sms_url=sms_url,
        faults=faults,
    )
    handler = _TranscriptLogger(sim)
    log.addHandler(handler)
    try:
        log.info("simulator listening on http://%s:%s (account %s)", host, port, account_sid)
        run_simple(
            host,
            port,
            sim.wsgi_app,
            threaded=True,
            use_reloader=False,
            request_handler=_RequestHandler,
        )
    finally:
        log.removeHandler(handler)
