"""Tables of the dialer: campaign runs, their contacts, Twilio's callbacks."""

from __future__ import annotations
