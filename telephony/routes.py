"""The paths of duecall's Twilio webhooks, in one place (the README's "Fixed public interfaces").

The adapter hands them to Twilio with every call and text, the IVR writes them into its TwiML and
the web edge registers its views on them. Calls queued at Twilio carry them across a deploy, so
they never change without a migration note.
"""

from __future__ import annotations

#: The hotline: the Voice URL of the number, and every step of an inbound call.
VOICE_INBOUND = "/twilio/voice"
#: An answered reminder call (``?attempt=<id>``) and every step of it.
VOICE_OUTBOUND = "/twilio/voice/outbound"
#: Twilio's asynchronous answering-machine verdict for a reminder call.
VOICE_AMD = "/twilio/voice/amd"
#: Call status callbacks.
VOICE_STATUS = "/twilio/voice/status"
#: Inbound texts: the Messaging URL of the number.
SMS_INBOUND = "/twilio/sms"
#: SMS status callbacks.
SMS_STATUS = "/twilio/sms/status"

# The agent desk (``?entry=<queue record id>`` on each, ``&agent=<id>`` on the agent's leg).
#: The ``waitUrl`` of a queued caller: position, expected wait, hold audio, the callback offer.
DESK_WAIT = "/twilio/desk/wait"
#: The ``<Enqueue>`` action: the caller left the queue (for a callback, hung up, or bridged).
DESK_DEQUEUED = "/twilio/desk/dequeued"
#: Where a queued caller is moved (Queue Members API) to join the agent's conference.
DESK_JOIN = "/twilio/desk/join"
#: The agent's leg: the whisper and its key, the conference, the key after the call.
DESK_AGENT = "/twilio/desk/agent"
#: Status callbacks and the answering-machine verdict of the agent's leg.
DESK_AGENT_STATUS = "/twilio/desk/agent/status"
DESK_AGENT_AMD = "/twilio/desk/agent/amd"
#: Where a caller transferred cold by their agent is redirected: back into a queue, in front.
DESK_REQUEUE = "/twilio/desk/requeue"
