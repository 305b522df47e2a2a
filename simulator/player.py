"""The TwiML player: plays the app's documents on a live call, verb by verb.

Once the call engine has connected a call, :meth:`TwimlPlayer.play` fetches (or takes) each
document, parses it strictly (:mod:`simulator.twiml`) and plays ``Say``, ``Play``, ``Pause``,
``Gather``, ``Redirect`` and ``Hangup`` against the callee's key script (and hands ``Enqueue``,
``Leave`` and ``Dial`` to :mod:`simulator.connect`), until the app hangs up or the TwiML runs
out. Anything else fails loudly: the error is recorded on the call (kind ``twiml``) and the
carrier hangs up instead of guessing.

The player keeps no state of its own and no clock: every second of speech, silence or key press
goes through the engine's :meth:`CallLine.elapse`, which is where AMD verdicts, time limits and
REST updates cut in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Protocol

from simulator import connect
from simulator.errors import TwimlError
from simulator.flow import AppError, CallEnds, Fetch, Inline, Next, Redirected, describe
from simulator.models import SimCall
from simulator.personas import HangUp, Keys, Wait
from simulator.switchboard import Switchboard
from simulator.transport import WebhookResponse
from simulator.twiml import VOICE_VERBS, Verb, parse_voice_response
from simulator.twiml import resolve_url as _resolve

MAX_DOCUMENTS_PER_CALL = 500  # a redirect loop guard; Twilio has none, the call's TimeLimit ends it
PLAY_SECONDS = 3.0  # the simulator does not fetch audio; every <Play> lasts this long
KEYPRESS_SECONDS = 0.3

_APP_HANGUP = object()


class CallLine(Protocol):
    """What the player needs from the call engine: its clock, transcript, errors and webhooks,
    and for the verbs that join calls (:mod:`simulator.connect`) the switchboard and the other
    calls."""

    switchboard: Switchboard

    @property
    def lock(self) -> threading.RLock:
        """The simulator's lock, held while the switchboard changes."""
        ...

    def now(self) -> datetime:
        """The simulator's current time."""
        ...

    def place_call(
        self,
        *,
        to: str,
        from_: str,
        twiml: str | None = ...,
        direction: str = ...,
        status_callback: str | None = ...,
        status_callback_method: str = ...,
        status_callback_events: Iterable[str] = ...,
        machine_detection: str | None = ...,
        ring_timeout: float = ...,
        parent_call_sid: str | None = ...,
        leg: object = ...,
    ) -> SimCall:
        """Place a call (a ``<Dial>`` leg)."""
        ...

    def interrupt(self, call: SimCall, control: Exception) -> None:
        """Raise ``control`` in another live call at its next wait or verb."""
        ...

    def nudge(self, call: SimCall) -> None:
        """Wake a held call so it looks again at what changed."""
        ...

    def wait_until(self, call: SimCall, done: Callable[[], bool], seconds: float) -> bool:
        """Hold the call until ``done()`` or ``seconds`` have passed; True when done."""
        ...

    def callback(
        self,
        call: SimCall | None,
        method: str,
        url: str,
        params: Mapping[str, str],
        purpose: str,
        *,
        event: str,
        sid: str,
        to: str,
    ) -> None:
        """Send a status callback through the fault knobs."""
        ...

    def transcribe(self, call: SimCall, line: str) -> None:
        """Append ``line`` to the call's transcript."""
        ...

    def elapse(self, call: SimCall, seconds: float, *, interruptible: bool = False) -> None:
        """Let ``seconds`` of talking time pass; raises CallEnds or Redirected."""
        ...

    def check_control(self, call: SimCall) -> None:
        """Raise the REST update waiting for the call, if any."""
        ...

    def record_error(self, kind: str, message: str, call: SimCall | None = None) -> None:
        """Keep an error seen on the call."""
        ...

    def webhook(
        self,
        call: SimCall | None,
        method: str,
        url: str,
        params: Mapping[str, str],
        purpose: str,
    ) -> WebhookResponse | None:
        """Send one signed webhook; None when it failed (already recorded)."""
        ...


class TwimlPlayer:
    """Plays one connected call's TwiML on the engine's :class:`CallLine`."""

    def __init__(self, line: CallLine) -> None:
        self.line = line

    def play(self, call: SimCall) -> None:
        """Play the call's Url or Twiml, then every document it leads to, until the TwiML runs out.

        Raises :class:`~simulator.flow.CallEnds` when the call ends before that.
        """
        target: Next | None = Fetch(call.url, call.method) if call.url else Inline(call.twiml or "")
        documents = 0
        while target is not None:
            documents += 1
            if documents > MAX_DOCUMENTS_PER_CALL:
                self.line.record_error(
                    "twiml", f"more than {MAX_DOCUMENTS_PER_CALL} documents", call
                )
                raise CallEnds("completed", "[carrier] hangs up: redirect loop")
            try:
                target = self.document(call, target)
            except Redirected as redirect:
                self.line.transcribe(
                    call, f"[carrier] redirected by REST update to {describe(redirect.target)}"
                )
                target = redirect.target
        self.line.transcribe(call, "[carrier] end of TwiML: hangs up")

    def play_leg(self, call: SimCall) -> None:
        """Play the callee leg of a ``<Dial>`` once answered (see :mod:`simulator.connect`)."""
        connect.play_leg(self, call)

    def document(
        self,
        call: SimCall,
        target: Next,
        *,
        allowed: frozenset[str] | None = None,
        where: str = "",
    ) -> Next | None:
        """Fetch (or take) one document and play its verbs; returns what comes next.

        ``allowed`` restricts the top-level verbs (a queue's wait music, a whisper); any other
        verb is an error, as with Twilio. Raises :class:`~simulator.flow.AppError` (already
        recorded) when the document cannot be fetched or played.
        """
        if isinstance(target, Inline):
            text, doc_url = target.twiml, call.url or ""
        else:
            params = call.webhook_params()
            params.update(dict(target.params))
            purpose = f"{where} TwiML fetch" if where else "TwiML fetch"
            response = self.line.webhook(call, target.method, target.url, params, purpose)
            self.line.check_control(call)
            if response is None:
                # Twilio would try the FallbackUrl, then say "an application error has occurred".
                raise AppError("[carrier] application error: hangs up")
            content_type = response.content_type.split(";")[0].strip().lower()
            if content_type not in ("text/xml", "application/xml"):
                self.line.record_error(
                    "twiml", f"{target.url} answered Content-Type {content_type!r} (12300)", call
                )
                raise AppError("[carrier] application error: hangs up")
            text, doc_url = response.body, target.url
        try:
            verbs = parse_voice_response(text)
            for verb in verbs:
                if allowed is not None and verb.name not in allowed:
                    raise TwimlError(
                        f"<{verb.name}> is not allowed in {where} TwiML"
                        f" (allowed: {', '.join(sorted(allowed))})"
                    )
        except TwimlError as exc:
            self.line.record_error("twiml", f"{doc_url or 'inline TwiML'}: {exc}", call)
            raise AppError(f"[carrier] invalid TwiML ({exc}): hangs up") from exc
        for verb in verbs:
            self.line.check_control(call)
            try:
                outcome = VERB_HANDLERS[verb.name](self, call, verb, doc_url)
            except TwimlError as exc:
                self.line.record_error("twiml", f"{doc_url or 'inline TwiML'}: {exc}", call)
                raise AppError(f"[carrier] invalid TwiML ({exc}): hangs up") from exc
            if outcome is _APP_HANGUP:
                raise CallEnds("completed", "[app] Hangup")
            if isinstance(outcome, Fetch | Inline):
                return outcome
        return None

    def _prompt_heard(self, call: SimCall) -> None:
        call.prompts += 1
        limit = call.persona.hangup_after_prompts
        if limit is not None and call.prompts >= limit:
            raise CallEnds("completed", f"[callee] hangs up after {call.prompts} prompt(s)")

    # Verbs -------------------------------------------------------------------------------------

    def _verb_say(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        self._nested_say(call, verb, doc_url)
        self._prompt_heard(call)
        return None

    def _verb_play(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        self._nested_play(call, verb, doc_url)
        self._prompt_heard(call)
        return None

    def _nested_say(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        details = [verb.attrs.get("language", "en-US")]
        if "voice" in verb.attrs:
            details.append(f"voice={verb.attrs['voice']}")
        loop = verb.int_attr("loop", 1)
        if loop != 1:
            details.append(f"loop={loop}")
        self.line.transcribe(call, f"[app] Say({', '.join(details)}): {verb.text}")
        self._speak(call, _speech_seconds(verb.text), loop)
        return None

    def _nested_play(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        loop = verb.int_attr("loop", 1)
        self.line.transcribe(
            call, f"[app] Play{f'(loop={loop})' if loop != 1 else ''}: {verb.text}"
        )
        self._speak(call, PLAY_SECONDS, loop)
        return None

    def _speak(self, call: SimCall, seconds: float, loop: int) -> None:
        # loop="0" repeats until the call ends (the callee's patience or TimeLimit).
        count = 0
        while loop == 0 or count < loop:
            self.line.elapse(call, seconds)
            count += 1

    def _verb_pause(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        length = verb.int_attr("length", 1)
        self.line.transcribe(call, f"[app] Pause {length}s")
        self.line.elapse(call, length)
        return None

    def _verb_redirect(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        target = _resolve(doc_url, verb.text, verb)
        method = verb.method_attr()
        self.line.transcribe(call, f"[app] Redirect {method} {target}")
        return Fetch(target, method)

    def _verb_hangup(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        return _APP_HANGUP

    def _verb_gather(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        num_digits = verb.int_attr("numDigits", 0, minimum=1)
        timeout = verb.int_attr("timeout", 5, minimum=1)
        finish_key = verb.attrs.get("finishOnKey", "#")
        on_empty = verb.bool_attr("actionOnEmptyResult", False)
        action = _resolve(doc_url, verb.attrs.get("action", doc_url), verb)
        method = verb.method_attr()
        shape = [f"timeout={timeout}"]
        if num_digits:
            shape.append(f"numDigits={num_digits}")
        shape.append(f"finishOnKey={finish_key!r}")
        self.line.transcribe(call, f"[app] Gather({', '.join(shape)})")
        for child in verb.children:  # nested prompts count as one prompt: the Gather's
            NESTED_HANDLERS[child.name](self, call, child, doc_url)
        self._prompt_heard(call)
        digits, finished_on = self._collect(call, timeout, num_digits, finish_key)
        if not digits and not on_empty:
            self.line.transcribe(call, f"[caller] no input: Gather times out after {timeout}s")
            return None
        self.line.transcribe(
            call,
            f"[carrier] Gather result Digits={digits!r} FinishedOnKey={finished_on!r}"
            f" -> {method} {action}",
        )
        return Fetch(action, method, (("Digits", digits), ("FinishedOnKey", finished_on)))

    def _collect(
        self, call: SimCall, timeout: int, num_digits: int, finish_key: str
    ) -> tuple[str, str]:
        """Read keys from the callee's script for one Gather (see :mod:`simulator.personas`)."""
        digits = ""
        while True:
            step = call.keypad[0] if call.keypad else None
            if step is None:
                self.line.elapse(call, timeout)
                return digits, ""
            if isinstance(step, HangUp):
                call.keypad.popleft()
                raise CallEnds("completed", "[caller] hangs up")
            if isinstance(step, Wait):
                if step.seconds >= timeout:
                    call.keypad[0] = Wait(step.seconds - timeout)
                    if call.keypad[0] == Wait(0.0):
                        call.keypad.popleft()
                    self.line.transcribe(call, f"[caller] silent for {timeout}s")
                    self.line.elapse(call, timeout)
                    return digits, ""
                call.keypad.popleft()
                self.line.transcribe(call, f"[caller] waits {step.seconds:g}s")
                self.line.elapse(call, step.seconds)
                continue
            assert isinstance(step, Keys)
            call.keypad.popleft()
            pressed = ""
            for index, key in enumerate(step.digits):
                pressed += key
                self.line.elapse(call, KEYPRESS_SECONDS)
                done = key == finish_key or (num_digits and len(digits) + 1 >= num_digits)
                if key != finish_key:
                    digits += key
                if done:
                    rest = step.digits[index + 1 :]
                    if rest:
                        call.keypad.appendleft(Keys(rest))
                    self.line.transcribe(call, f"[caller] presses {pressed}")
                    return digits, key if key == finish_key else ""
            self.line.transcribe(call, f"[caller] presses {pressed}")


VerbHandler = Callable[[TwimlPlayer, SimCall, Verb, str], object]

# One handler per top-level verb in simulator.twiml.VOICE_VERBS.
VERB_HANDLERS: dict[str, VerbHandler] = {
    "Say": TwimlPlayer._verb_say,
    "Play": TwimlPlayer._verb_play,
    "Pause": TwimlPlayer._verb_pause,
    "Gather": TwimlPlayer._verb_gather,
    "Redirect": TwimlPlayer._verb_redirect,
    "Hangup": TwimlPlayer._verb_hangup,
    "Enqueue": connect.verb_enqueue,
    "Leave": connect.verb_leave,
    "Dial": connect.verb_dial,
}
assert set(VERB_HANDLERS) == {name for name, spec in VOICE_VERBS.items() if not spec.noun}

# Verbs a <Gather> may nest (simulator.twiml.VOICE_VERBS["Gather"].children).
NESTED_HANDLERS: dict[str, VerbHandler] = {
    "Say": TwimlPlayer._nested_say,
    "Play": TwimlPlayer._nested_play,
    "Pause": TwimlPlayer._verb_pause,
}


def _speech_seconds(text: str) -> float:
    """Rough speaking time: about 15 Latin characters or 4 CJK characters a second."""
    wide = sum(1 for ch in text if ord(ch) >= 0x2E80)
    return max(0.5, wide / 4 + (len(text) - wide) / 15)
