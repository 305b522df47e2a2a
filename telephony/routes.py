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
