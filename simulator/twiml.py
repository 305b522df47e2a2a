"""TwiML parsing: the voice verbs the simulator plays, checked strictly.

Every verb is described by a :class:`VerbSpec` in :data:`VOICE_VERBS`: its allowed attributes, the
verbs it may nest and whether it has a text body. A document using a verb, attribute or nesting not
in the table raises :class:`~simulator.errors.TwimlError` — Twilio would reject it (errors
12100/12200) or the simulator would otherwise fake behaviour it does not implement.

Adding a verb (``Enqueue``, ``Dial``/``Queue``, ``Leave``) is one table entry here plus one handler
in :data:`simulator.player.VERB_HANDLERS`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

from simulator.errors import TwimlError


@dataclass(frozen=True)
class VerbSpec:
    """What Twilio allows for one verb, restricted to what the simulator implements."""

    attributes: frozenset[str]
    children: frozenset[str] = frozenset()
    text: bool = False


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
}

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
    verbs = tuple(_verb(child, frozenset(VOICE_VERBS), "Response") for child in root)
    if any((child.tail or "").strip() for child in root):
        raise TwimlError("<Response>: stray text between verbs")
    return verbs
