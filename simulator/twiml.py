"""TwiML parsing: the voice verbs the simulator plays, checked strictly.

Every verb is described by a :class:`VerbSpec` in :data:`VOICE_VERBS`: its allowed attributes, the
verbs it may nest and whether it has a text body. A document using a verb, attribute or nesting not
in the table raises :class:`~simulator.errors.TwimlError` — Twilio would reject it (errors
12100/12200) or the simulator would otherwise fake behaviour it does not implement.

Adding a verb is one table entry here plus one handler in :data:`simulator.player.VERB_HANDLERS`
(the verbs that join calls — ``Enqueue``, ``Leave``, ``Dial`` and its nouns ``Number``,
``Conference``, ``Queue`` — are played by :mod:`simulator.connect`). Where Twilio allows only some
verbs (a queue's wait music, a whisper), :meth:`simulator.player.TwimlPlayer.document` checks that
too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin

from simulator.errors import TwimlError


@dataclass(frozen=True)
class VerbSpec:
    """What Twilio allows for one verb, restricted to what the simulator implements."""

    attributes: frozenset[str]
    children: frozenset[str] = frozenset()
    text: bool = False
    #: A noun (``Number``, ``Conference``, ``Queue``): only inside its verb, never on its own.
    noun: bool = False


VOICE_VERBS: dict[str, VerbSpec] = {
    "Say": VerbSpec(frozenset({"voice", "language", "loop"}), text=True),
    "Play": VerbSpec(frozenset({"loop"}), text=True),
    "Pause": VerbSpec(frozenset({"length"})),
    "Gather": VerbSpec(
        frozenset(
            {
                "input",
                "numDigits",
                "finishOnKey",
                "timeout",
                "action",
                "method",
                "actionOnEmptyResult",
                "language",
            }
        ),
        children=frozenset({"Say", "Play", "Pause"}),
    ),
    "Redirect": VerbSpec(frozenset({"method"}), text=True),
    "Hangup": VerbSpec(frozenset()),
    "Enqueue": VerbSpec(frozenset({"action", "method", "waitUrl", "waitUrlMethod"}), text=True),
    "Leave": VerbSpec(frozenset()),
    "Dial": VerbSpec(
        frozenset({"action", "method", "timeout", "callerId", "answerOnBridge"}),
        children=frozenset({"Number", "Conference", "Queue"}),
        text=True,
    ),
    "Number": VerbSpec(
        frozenset(
            {
                "url",
                "method",
                "statusCallback",
                "statusCallbackEvent",
                "statusCallbackMethod",
                "machineDetection",
            }
        ),
        text=True,
        noun=True,
    ),
    "Conference": VerbSpec(
        frozenset(
            {
                "startConferenceOnEnter",
                "endConferenceOnExit",
                "muted",
                "beep",
                "coach",
                "waitUrl",
                "waitMethod",
                "statusCallback",
                "statusCallbackEvent",
                "statusCallbackMethod",
            }
        ),
        text=True,
        noun=True,
    ),
    "Queue": VerbSpec(frozenset({"url", "method"}), text=True, noun=True),
}
TOP_LEVEL_VERBS = frozenset(name for name, spec in VOICE_VERBS.items() if not spec.noun)

#: What Twilio allows in a queue's wait TwiML (``<Enqueue waitUrl>``), in the TwiML a
#: ``<Dial><Queue url>`` plays to the dequeued caller, in a ``<Number url>`` whisper, and in a
#: conference's wait music (``<Conference waitUrl>``).
WAIT_VERBS = frozenset({"Play", "Say", "Pause", "Gather", "Hangup", "Redirect", "Leave"})
QUEUE_URL_VERBS = frozenset({"Play", "Say", "Pause", "Redirect"})
WHISPER_VERBS = frozenset({"Play", "Say", "Pause", "Gather", "Hangup", "Redirect"})
CONFERENCE_WAIT_VERBS = frozenset({"Play", "Say", "Pause", "Redirect"})

_NUMBER_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
_CONFERENCE_EVENTS = frozenset(
    {"start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement"}
)

_METHODS = frozenset({"GET", "POST"})
_FINISH_KEYS = re.compile(r"^[0-9*#]?$")


@dataclass(frozen=True)
class Verb:
    """One parsed verb: its name, attributes, text body and nested verbs."""

    name: str
    attrs: Mapping[str, str] = field(default_factory=dict)
    text: str = ""
    children: tuple[Verb, ...] = ()

    def int_attr(self, name: str, default: int, minimum: int = 0) -> int:
        """An integer attribute; raises :class:`TwimlError` when it is not one."""
        raw = self.attrs.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise TwimlError(f"<{self.name} {name}={raw!r}>: not an integer") from None
        if value < minimum:
            raise TwimlError(f"<{self.name} {name}={raw!r}>: must be at least {minimum}")
        return value

    def bool_attr(self, name: str, default: bool) -> bool:
        """A ``true``/``false`` attribute."""
        raw = self.attrs.get(name)
        if raw is None:
            return default
        if raw.lower() not in ("true", "false"):
            raise TwimlError(f"<{self.name} {name}={raw!r}>: expected true or false")
        return raw.lower() == "true"

    def method_attr(self, default: str = "POST") -> str:
        """The ``method`` attribute, GET or POST."""
        raw = self.attrs.get("method", default).upper()
        if raw not in _METHODS:
            raise TwimlError(f"<{self.name} method={raw!r}>: expected GET or POST")
        return raw


def resolve_url(doc_url: str, target: str, verb: Verb) -> str:
    """Twilio resolves relative action/Redirect URLs against the current document's URL."""
    resolved = urljoin(doc_url, target.strip()) if doc_url else target.strip()
    if not resolved.startswith(("http://", "https://")):
        raise TwimlError(f"<{verb.name}>: cannot resolve URL {target!r} (inline TwiML?)")
    return resolved


def events_attr(verb: Verb, name: str, known: frozenset[str]) -> frozenset[str]:
    """A space-separated event list (``statusCallbackEvent``); raises for an unknown event."""
    events = frozenset(verb.attrs.get(name, "").replace(",", " ").split())
    unknown = sorted(events - known)
    if unknown:
        raise TwimlError(f"<{verb.name} {name}>: unknown event(s) {unknown}")
    return events


def _method(verb: Verb, name: str) -> None:
    raw = verb.attrs.get(name, "POST").upper()
    if raw not in _METHODS:
        raise TwimlError(f"<{verb.name} {name}={raw!r}>: expected GET or POST")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _verb(element: ET.Element, allowed: frozenset[str], parent: str) -> Verb:
    name = _local(element.tag)
    if name not in allowed:
        known = "" if name in VOICE_VERBS else " (unknown to the simulator)"
        raise TwimlError(f"<{name}> is not allowed inside <{parent}>{known}")
    spec = VOICE_VERBS[name]
    unknown = sorted(set(element.attrib) - spec.attributes)
    if unknown:
        raise TwimlError(f"<{name}>: unsupported attribute(s) {unknown}")
    text = (element.text or "").strip()
    if text and not spec.text:
        raise TwimlError(f"<{name}> does not take text content")
    children = tuple(_verb(child, spec.children, name) for child in element)
    if any((child.tail or "").strip() for child in element):
        raise TwimlError(f"<{name}>: stray text between nested verbs")
    verb = Verb(name, dict(element.attrib), text, children)
    _check(verb)
    return verb


def _check(verb: Verb) -> None:
    """Attribute values Twilio would refuse."""
    if verb.name in ("Say", "Play"):
        verb.int_attr("loop", 1)
    if verb.name == "Pause":
        verb.int_attr("length", 1)
    if verb.name in ("Gather", "Redirect"):
        verb.method_attr()
    if verb.name == "Gather":
        verb.int_attr("numDigits", 0, minimum=1)
        verb.int_attr("timeout", 5, minimum=1)
        verb.bool_attr("actionOnEmptyResult", False)
        if not _FINISH_KEYS.match(verb.attrs.get("finishOnKey", "#")):
            raise TwimlError(f"<Gather finishOnKey={verb.attrs['finishOnKey']!r}>: one key or ''")
        inputs = set(verb.attrs.get("input", "dtmf").split())
        if inputs != {"dtmf"}:
            raise TwimlError(f"<Gather input={verb.attrs['input']!r}>: only dtmf is simulated")
    if verb.name in ("Play", "Redirect") and not verb.text:
        raise TwimlError(f"<{verb.name}> needs a URL")
    if verb.name in ("Enqueue", "Dial", "Number", "Conference", "Queue"):
        verb.method_attr()
    if verb.name == "Enqueue":
        _method(verb, "waitUrlMethod")
        if not verb.text or len(verb.text) > 64:
            raise TwimlError("<Enqueue> needs a queue name of at most 64 characters")
    if verb.name == "Dial":
        timeout = verb.int_attr("timeout", 30)
        if not 5 <= timeout <= 600:
            raise TwimlError(f"<Dial timeout={timeout}>: must be 5 to 600 seconds")
        verb.bool_attr("answerOnBridge", False)
        if len(verb.children) + (1 if verb.text else 0) != 1:
            raise TwimlError("<Dial>: the simulator dials exactly one number, queue or conference")
    if verb.name in ("Number", "Conference", "Queue") and not verb.text:
        raise TwimlError(f"<{verb.name}> needs a {verb.name.lower()} to dial")
    if verb.name == "Number":
        _method(verb, "statusCallbackMethod")
        events_attr(verb, "statusCallbackEvent", _NUMBER_EVENTS)
        detection = verb.attrs.get("machineDetection")
        if detection not in (None, "Enable", "DetectMessageEnd"):
            raise TwimlError(f"<Number machineDetection={detection!r}>: Enable or DetectMessageEnd")
    if verb.name == "Conference":
        _method(verb, "waitMethod")
        _method(verb, "statusCallbackMethod")
        events_attr(verb, "statusCallbackEvent", _CONFERENCE_EVENTS)
        for name in ("startConferenceOnEnter", "endConferenceOnExit", "muted"):
            verb.bool_attr(name, False)
        beep = verb.attrs.get("beep", "true")
        if beep not in ("true", "false", "onEnter", "onExit"):
            raise TwimlError(f"<Conference beep={beep!r}>: true, false, onEnter or onExit")


def parse_voice_response(document: str) -> tuple[Verb, ...]:
    """Parse a voice TwiML document into its top-level verbs.

    Raises :class:`TwimlError` for malformed XML, a root other than ``<Response>`` or anything
    outside :data:`VOICE_VERBS`.
    """
    try:
        root = ET.fromstring(document.strip())  # noqa: S314 - the app is ours, not an attacker
    except ET.ParseError as exc:
        raise TwimlError(f"malformed TwiML: {exc}") from exc
    if _local(root.tag) != "Response":
        raise TwimlError(f"root element is <{_local(root.tag)}>, expected <Response>")
    if root.attrib:
        raise TwimlError(f"<Response>: unsupported attribute(s) {sorted(root.attrib)}")
    if (root.text or "").strip():
        raise TwimlError("<Response> does not take text content")
    verbs = tuple(_verb(child, TOP_LEVEL_VERBS, "Response") for child in root)
    if any((child.tail or "").strip() for child in root):
        raise TwimlError("<Response>: stray text between verbs")
    return verbs
