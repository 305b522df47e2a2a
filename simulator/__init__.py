"""The local carrier: a peer of the app that speaks Twilio's REST API and plays calls over HTTP.

It imports nothing from duecall's packages; it reaches the app only through signed webhooks, and
the app reaches it only through the REST API, exactly as with Twilio.

Public API
----------
Build and run::

    from simulator import create_simulator, WsgiTransport, Persona

    sim = create_simulator(
        account_sid, auth_token,                  # what Basic auth must present; signs webhooks
        personas={"+15005550001": Persona.busy(), "+15005550002": "voicemail"},
        transport=WsgiTransport(flask_app),       # default: HttpTransport() (real sockets)
        threaded=False,                           # True: calls run in threads, in real time
        time_scale=1.0,                           # threaded mode: 0.1 plays 10x faster
        voice_url="https://app/twilio/voice",     # for inbound calls
        sms_url="https://app/twilio/sms",         # for inbound SMS
    )
    sim.wsgi_app                # the REST API: /2010-04-01/Accounts/{Sid}/Calls.json, ...
    sim.run_until_idle()        # synchronous mode: play every queued call and SMS delivery
    sim.calls[sid].transcript   # ["[app] Say(en-US): ...", "[caller] presses 1", ...]
    sim.errors                  # every TwiML / webhook / API problem seen (SimError)
    sim.place_inbound_call("+15005550009", "+14155550100", keys="1,wait 2,1234#")
    sim.send_inbound_sms("+15005550009", "+14155550100", "STOP")
    sim.set_persona("+15005550003", Persona.hangs_up_after(2))
    sim.faults.fail("calls.create", status=429, retry_after=2, times=5)   # fault knobs:
    sim.faults.delay("*", (0.1, 0.3))                                     # see simulator.faults
    sim.faults.drop("calls.create", created=True, times=1)
    sim.faults.callbacks(lose=0.05, duplicate=0.05, delay=(1, 30))
    sim.faults.injected         # every fault injected (InjectedFault)

    # Queues, dials, bridges, conferences (docs/simulator.md lists exactly what is supported):
    call = sim.place_inbound_call("+15005550009", "+14155550100", run=False)  # will wait queued
    sim.run_until(lambda: sim.queue_named("fraud") is not None)   # wait for progress, not time
    sim.run_for(30)             # play what falls due in the next 30 simulated seconds
    sim.send_keys(call, "1")    # the live caller presses 1 at its next <Gather>
    sim.switchboard             # queues, conferences and live bridges
    sim.conference_named("room").hears(call.sid)   # whose voice this participant hears

    from simulator import serve  # standalone, threaded, over HTTP (``duecall simulator``)
    serve("127.0.0.1", 8765, account_sid=..., auth_token=..., personas_file="personas.yaml")

Modules: :mod:`simulator.server` (entry points), :mod:`simulator.engine` (the call engine and
the ``Simulator`` facade), :mod:`simulator.player` (plays TwiML on a live call),
:mod:`simulator.flow` (control flow inside a call), :mod:`simulator.connect` (``<Enqueue>``,
``<Leave>``, ``<Dial>`` with ``<Number>``, ``<Queue>``, ``<Conference>``),
:mod:`simulator.switchboard` (queues, conferences, bridges), :mod:`simulator.messaging` (SMS and
opt-outs),
:mod:`simulator.faults` (fault knobs: REST errors, latency, dropped connections, callbacks),
:mod:`simulator.rest` (REST API), :mod:`simulator.twiml` (the verb table),
:mod:`simulator.personas` (callees and key scripts), :mod:`simulator.transport` (signing and
webhook transports), :mod:`simulator.models` (resources), :mod:`simulator.errors`.
"""

from __future__ import annotations

from simulator.engine import Simulator
from simulator.errors import (
    ApiError,
    ConnectionDroppedError,
    PersonaError,
    SimulatorError,
    TransportError,
    TwimlError,
)
from simulator.faults import CallbackFault, Faults, InjectedFault, RestFault, load_faults
from simulator.models import SimCall, SimError, SimMessage
from simulator.personas import Persona, PersonaBook, load_personas, parse_key_script
from simulator.server import create_simulator, serve
from simulator.transport import (
    HttpTransport,
    Transport,
    WebhookRequest,
    WebhookResponse,
    WsgiTransport,
    build_request,
)

__all__ = [
    "ApiError",
    "CallbackFault",
    "ConnectionDroppedError",
    "Faults",
    "HttpTransport",
    "InjectedFault",
    "Persona",
    "PersonaBook",
    "PersonaError",
    "RestFault",
    "SimCall",
    "SimError",
    "SimMessage",
    "Simulator",
    "SimulatorError",
    "Transport",
    "TransportError",
    "TwimlError",
    "WebhookRequest",
    "WebhookResponse",
    "WsgiTransport",
    "build_request",
    "create_simulator",
    "load_faults",
    "load_personas",
    "parse_key_script",
    "serve",
]
