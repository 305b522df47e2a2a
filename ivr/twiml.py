"""TwiML written as text: the few verbs the call flow answers with, byte for byte as Twilio's
TwiML builders (``twilio.twiml``) serialise them, without building an ElementTree per request.

The SDK builds an element tree and serialises it with :func:`xml.etree.ElementTree.tostring`
(UTF-8, attributes in sorted order, ``True`` written ``true``, an element without content
written ``<Name />``). Building and serialising that tree was a fifth of an IVR step's CPU; the
documents here are the same strings, made from fragments (``<Say ...>`` opening tags per voice,
whole ``<Say>`` elements of fixed prompts) built once. ``tests/ivr/test_twiml.py`` compares every
document the call flow can produce with the SDK's, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

DOCUMENT_OPEN = '<?xml version="1.0" encoding="UTF-8"?><Response>'
DOCUMENT_CLOSE = "</Response>"
HANGUP = "<Hangup />"
#: The whole document that only hangs up.
HANGUP_DOCUMENT = f"{DOCUMENT_OPEN}{HANGUP}{DOCUMENT_CLOSE}"


def escape_text(text: str) -> str:
    """Character data as ElementTree escapes it (``&``, ``<``, ``>``)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def escape_attribute(value: str) -> str:
    """An attribute value as ElementTree escapes it (also ``"``, and CR, LF, tab as
    character references)."""
    value = escape_text(value)
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#09;")
    return value


def _camel(name: str) -> str:
    """The SDK's attribute naming: ``num_digits`` -> ``numDigits``."""
    if "_" not in name:
        return name
    joined = "".join(part.title() for part in name.split("_"))
    return joined[0].lower() + joined[1:]


def _value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def attributes(attrs: Mapping[str, object]) -> str:
    """`` name="value"`` for each attribute not None, in the SDK's (sorted, camelCase) order."""
    named = {_camel(k): v for k, v in attrs.items() if v is not None}
    return "".join(f' {k}="{escape_attribute(_value(named[k]))}"' for k in sorted(named))


def element(name: str, attrs: Mapping[str, object], inner: str = "") -> str:
    """``<name attrs>inner</name>``; ``<name attrs />`` when ``inner`` is empty. ``inner`` is
    already TwiML (escaped text or elements)."""
    opening = f"<{name}{attributes(attrs)}"
    return f"{opening}>{inner}</{name}>" if inner else f"{opening} />"


def say_open(voice: str, language: str) -> str:
    """The opening tag of a ``<Say>`` in ``voice`` and ``language`` (built once per voice)."""
    return f"<Say{attributes({'voice': voice, 'language': language})}>"


def say(opening: str, text: str) -> str:
    """A ``<Say>`` of ``text`` after its :func:`say_open` tag (the SDK writes an empty text
    as an element without content)."""
    if not text:
        return opening[:-1] + " />"
    return f"{opening}{escape_text(text)}</Say>"


def redirect(url: str, method: str = "POST") -> str:
    """``<Redirect method="POST">url</Redirect>``."""
    return element("Redirect", {"method": method}, escape_text(url))


def pause(length: int) -> str:
    """``<Pause length="N" />``."""
    return element("Pause", {"length": length})
