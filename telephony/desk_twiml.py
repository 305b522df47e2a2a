"""The TwiML of the agent desk, built with Twilio's own builders.

The desk decides what a queued caller or an agent hears (:mod:`desk`); the documents are made
here, beside the adapter, because only telephony/, webhooks/ and ivr/ may import Twilio's SDK.
Every function returns a complete ``<Response>`` that says or does something: Twilio fetches a
``waitUrl`` again each time its TwiML ends, so an empty document would be fetched in a loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from twilio.twiml.voice_response import Dial, Enqueue, Gather, VoiceResponse

#: One text to say: (text, Twilio voice, Twilio language), e.g. ("Hello", "Polly.Joanna", "en-US").
Spoken = tuple[str, str, str]


@dataclass(frozen=True)
class QueueMove:
    """A queued caller to move out of their queue to ``url`` (Queue Members API)."""

    queue_sid: str
    call_sid: str
    url: str


@dataclass(frozen=True)
class HandOver:
    """A warm transfer completed: the agent's leg ``call_sid`` leaves conference
    ``conference_sid`` without ending it, to ``url`` (the key after the call)."""

    conference_sid: str
    call_sid: str
    url: str


@dataclass(frozen=True)
class LegAnswer:
    """An answer to one of the agent leg's requests: the TwiML, and what the web edge must ask
    the carrier once the answer's transaction committed (record, commit, then act)."""

    twiml: str
    move_caller: QueueMove | None = None


def _say(node: Any, lines: Iterable[Spoken]) -> None:
    for text, voice, language in lines:
        node.say(text, voice=voice, language=language)


def enqueue(queue: str, *, wait_url: str, action_url: str, before: Iterable[Spoken]) -> str:
    """Say ``before``, then put the call in ``queue`` with its wait and action URLs (POST)."""
    response = VoiceResponse()
    _say(response, before)
    response.append(
        Enqueue(queue, wait_url=wait_url, wait_url_method="POST", action=action_url, method="POST")
    )
    return str(response)


def wait(
    lines: Iterable[Spoken],
    *,
    hold_audio_url: str | None,
    hold_seconds: int,
    next_url: str,
    offer: Iterable[Spoken] = (),
    offer_url: str | None = None,
) -> str:
    """A waiting caller's next stretch: ``lines`` (position and wait), the callback ``offer``
    inside a one-key ``<Gather>`` posting to ``offer_url`` when given, the hold audio (or
    ``hold_seconds`` of silence), then the next stretch at ``next_url``."""
    response = VoiceResponse()
    _say(response, lines)
    if offer_url is not None:
        gather = Gather(action=offer_url, method="POST", num_digits=1, timeout=3, input="dtmf")
        _say(gather, offer)
        response.append(gather)
    if hold_audio_url:
        response.play(hold_audio_url)
    else:
        response.pause(length=hold_seconds)
    response.redirect(next_url, method="POST")
    return str(response)


def leave() -> str:
    """Take the caller out of the queue; the ``<Enqueue>`` action says what happens next."""
    response = VoiceResponse()
    response.leave()
    return str(response)


def say_then_hang_up(lines: Iterable[Spoken]) -> str:
    response = VoiceResponse()
    _say(response, lines)
    response.hangup()
    return str(response)


def whisper(lines: Iterable[Spoken], *, action_url: str, timeout: int, miss_url: str) -> str:
    """What the agent hears on answering: who is waiting, and a one-key ``<Gather>``; no key in
    ``timeout`` seconds requests ``miss_url``."""
    response = VoiceResponse()
    gather = Gather(action=action_url, method="POST", num_digits=1, timeout=timeout, input="dtmf")
    _say(gather, lines)
    response.append(gather)
    response.redirect(miss_url, method="POST")
    return str(response)


def conference(
    room: str,
    *,
    before: Iterable[Spoken] = (),
    action_url: str | None = None,
    joined_url: str | None = None,
) -> str:
    """Join the conference ``room``; it ends when either party leaves (``endConferenceOnExit``
    on both legs), and ``action_url`` (the agent's leg) is requested when it does;
    ``joined_url`` is told when a participant joins (a warm transfer waits for it)."""
    response = VoiceResponse()
    _say(response, before)
    dial = Dial(action=action_url, method="POST") if action_url else Dial()
    events: dict[str, str] = (
        {
            "status_callback": joined_url,
            "status_callback_event": "join",
            "status_callback_method": "POST",
        }
        if joined_url
        else {}
    )
    dial.conference(
        room,
        start_conference_on_enter=True,
        end_conference_on_exit=True,
        beep=False,
        wait_url="",
        **events,
    )
    response.append(dial)
    if action_url is None:
        response.hangup()
    return str(response)


def listen(room: str) -> str:
    """Join the conference ``room`` muted, without starting or ending it: a supervisor
    listening in for coaching hears both parties and is heard by neither."""
    response = VoiceResponse()
    dial = Dial()
    dial.conference(
        room,
        muted=True,
        start_conference_on_enter=False,
        end_conference_on_exit=False,
        beep=False,
        wait_url="",
    )
    response.append(dial)
    response.hangup()
    return str(response)


def gather_key(lines: Iterable[Spoken], *, action_url: str, timeout: int) -> str:
    """Say ``lines`` inside a one-key ``<Gather>``; with no key, hang up."""
    response = VoiceResponse()
    gather = Gather(action=action_url, method="POST", num_digits=1, timeout=timeout, input="dtmf")
    _say(gather, lines)
    response.append(gather)
    response.hangup()
    return str(response)


def dial_number(
    number: str,
    *,
    caller_id: str,
    action_url: str,
    status_url: str,
    timeout: int,
    before: Iterable[Spoken] = (),
) -> str:
    """Call ``number`` from the agent's leg (an agent-first callback); the number's leg reports
    its statuses to ``status_url`` (the attempt's own callbacks) and ``action_url`` is requested
    when it ends, with ``DialCallStatus``."""
    response = VoiceResponse()
    _say(response, before)
    dial = Dial(action=action_url, method="POST", caller_id=caller_id, timeout=timeout)
    dial.number(
        number,
        status_callback=status_url,
        status_callback_method="POST",
        status_callback_event="initiated ringing answered completed",
    )
    response.append(dial)
    return str(response)
