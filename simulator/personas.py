"""Callees: how the person (or machine) at a number behaves when the simulator calls it.

A number with no persona is a human who answers and stays silent, so every ``<Gather>`` times out
and runs are deterministic unless a persona or a weighted mix (the demo) is configured.

Key scripts
-----------
``Persona.keys`` is a list of steps, consumed only by ``<Gather>`` verbs, in order:

* ``"123#"`` — the caller presses these keys, one after the other. A Gather takes keys until its
  ``finishOnKey`` or ``numDigits`` is reached; the keys left over in the step stay buffered and are
  read by the next Gather (a caller typing ahead). A step that ends before either is reached leaves
  the Gather waiting for ``timeout`` seconds, after which it submits what it has, as Twilio does.
* ``"wait 2.5"`` — the caller stays silent for that many seconds of call time. Shorter than the
  Gather's ``timeout``: the Gather keeps listening for the next step. Longer: the Gather times out
  and the rest of the wait carries over to the next Gather.
* ``"hangup"`` — the caller hangs up (the call completes).

When the script runs out the caller is silent. Prompts always play to the end before the caller acts
(no barge-in). Key presses are not consumed by ``<Say>``/``<Play>`` outside a Gather.

While a call is bridged or in a conference the script goes on: ``wait`` is talking time,
``hangup`` hangs up, digits are heard by the other side (``"1,wait 45,hangup"``: an agent who takes
the call at the whisper, talks 45 seconds and hangs up). Tests can add steps to a live call with
``Simulator.send_keys``.

Personas file (YAML or JSON) for ``serve``::

    personas:
      default: {preset: human}            # optional: what a number without a persona does
      "+15005550001": busy
      "+15005550002": {preset: voicemail}
      "+15005550003": {keys: ["1", "wait 2", "1234#"]}
      "+15005550004": {hangup_after_prompts: 2}
      "+15005550005": no-sms

A string is a preset name; a mapping takes ``preset`` plus any :class:`Persona` field overrides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal, get_args

import phonenumbers
import yaml

from simulator.errors import PersonaError

Outcome = Literal["answer", "busy", "no-answer", "failed"]
AnsweredBy = Literal[
    "human",
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
    "unknown",
]
SmsOutcome = Literal["delivered", "undelivered", "failed"]

MACHINE_VERDICTS: frozenset[str] = frozenset(
    {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other"}
)

# Twilio's delivery error codes for an SMS a handset never receives: 30003 "Unreachable destination
# handset" (status undelivered), 30006 "Landline or unreachable carrier" (status failed here).
DEFAULT_SMS_ERROR_CODES: dict[str, int] = {"undelivered": 30003, "failed": 30006}

_KEYS_RE = re.compile(r"^[0-9*#]+$")
_WAIT_RE = re.compile(r"^wait\s+(\d+(?:\.\d+)?)$", re.IGNORECASE)


@dataclass(frozen=True)
class Keys:
    """The caller presses ``digits`` (``0-9``, ``*``, ``#``)."""

    digits: str


@dataclass(frozen=True)
class Wait:
    """The caller stays silent for ``seconds`` of call time."""

    seconds: float


@dataclass(frozen=True)
class HangUp:
    """The caller hangs up."""


KeyStep = Keys | Wait | HangUp


def parse_key_script(steps: str | Iterable[str]) -> tuple[KeyStep, ...]:
    """Parse a key script: a list of steps or one comma-separated string (``"1,wait 2,1234#"``).

    Raises :class:`PersonaError` naming the bad step.
    """
    raw = steps.split(",") if isinstance(steps, str) else list(steps)
    parsed: list[KeyStep] = []
    for item in raw:
        step = str(item).strip()
        if not step:
            continue
        if _KEYS_RE.match(step):
            parsed.append(Keys(step))
        elif match := _WAIT_RE.match(step):
            parsed.append(Wait(float(match.group(1))))
        elif step.lower() == "hangup":
            parsed.append(HangUp())
        else:
            raise PersonaError(
                f"key step {step!r}: expected digits 0-9*#, 'wait SECONDS' or 'hangup'"
            )
    return tuple(parsed)


@dataclass(frozen=True)
class Persona:
    """How a callee behaves. The defaults are the default callee: a silent human.

    - ``outcome``: ``answer``, or the final status of a call that is never answered.
    - ``answered_by``: the AMD verdict for a call with ``MachineDetection``. With
      ``MachineDetection=Enable`` any machine verdict is reported as ``machine_start``.
    - ``amd_seconds``: call time after answer until the AMD verdict is known
      (``MachineDetectionDuration``).
    - ``keys``: the key script (see the module docstring).
    - ``hangup_after_prompts``: hang up right after hearing this many prompts (a top-level
      ``<Say>``/``<Play>`` counts one, a ``<Gather>`` counts one however many prompts it nests).
    - ``max_call_seconds``: hang up once the call has lasted this long (a voicemail box's limit).
    - ``ring_seconds``: ringing time before answer (or before ``no-answer`` at the call's Timeout).
    - ``sms`` / ``sms_error_code``: what happens to an SMS sent to this number.
    """

    outcome: Outcome = "answer"
    answered_by: AnsweredBy = "human"
    amd_seconds: float = 2.0
    keys: tuple[KeyStep, ...] = ()
    hangup_after_prompts: int | None = None
    max_call_seconds: float | None = None
    ring_seconds: float = 5.0
    sms: SmsOutcome = "delivered"
    sms_error_code: int | None = None

    def __post_init__(self) -> None:
        if self.outcome not in get_args(Outcome):
            raise PersonaError(f"outcome {self.outcome!r}: expected one of {get_args(Outcome)}")
        if self.answered_by not in get_args(AnsweredBy):
            raise PersonaError(
                f"answered_by {self.answered_by!r}: expected one of {get_args(AnsweredBy)}"
            )
        if self.sms not in get_args(SmsOutcome):
            raise PersonaError(f"sms {self.sms!r}: expected one of {get_args(SmsOutcome)}")
        if self.hangup_after_prompts is not None and self.hangup_after_prompts < 1:
            raise PersonaError("hangup_after_prompts must be at least 1")
        for name in ("amd_seconds", "ring_seconds"):
            if getattr(self, name) < 0:
                raise PersonaError(f"{name} must not be negative")

    @property
    def is_machine(self) -> bool:
        """True when AMD would classify the answering party as a machine or fax."""
        return self.answered_by in MACHINE_VERDICTS or self.answered_by == "fax"

    def amd_verdict(self, machine_detection: str) -> str:
        """The ``AnsweredBy`` value for this callee under ``MachineDetection`` (Enable or
        DetectMessageEnd)."""
        if machine_detection == "Enable" and self.answered_by in MACHINE_VERDICTS:
            return "machine_start"
        return self.answered_by

    def sms_failure_code(self) -> int | None:
        """The ErrorCode an SMS to this number ends with, or None when it is delivered."""
        if self.sms == "delivered":
            return None
        return self.sms_error_code or DEFAULT_SMS_ERROR_CODES[self.sms]

    # Presets -----------------------------------------------------------------------------------

    @classmethod
    def human(cls, keys: str | Sequence[str] = ()) -> Persona:
        """A person who answers and presses ``keys`` (silent when empty)."""
        return cls(keys=parse_key_script(keys))

    @classmethod
    def silent(cls) -> Persona:
        """A person who answers and never presses a key (the default callee)."""
        return cls()

    @classmethod
    def busy(cls) -> Persona:
        """The line is busy: the call ends ``busy`` without being answered."""
        return cls(outcome="busy", ring_seconds=0.0)

    @classmethod
    def no_answer(cls) -> Persona:
        """Nobody picks up: the call rings until its Timeout and ends ``no-answer``."""
        return cls(outcome="no-answer")

    @classmethod
    def failed(cls) -> Persona:
        """The carrier cannot reach the number: the call ends ``failed``."""
        return cls(outcome="failed", ring_seconds=0.0)

    @classmethod
    def voicemail(cls) -> Persona:
        """An answering machine: AMD says ``machine_end_beep`` after the greeting; then it records
        silently for up to two minutes and hangs up."""
        return cls(answered_by="machine_end_beep", amd_seconds=8.0, max_call_seconds=120.0)

    @classmethod
    def hangs_up_after(cls, prompts: int) -> Persona:
        """A person who hangs up after hearing ``prompts`` prompts."""
        return cls(hangup_after_prompts=prompts)

    @classmethod
    def agent_accepts(cls, talk_seconds: float = 60.0, ring_seconds: float = 3.0) -> Persona:
        """An agent who answers, presses 1 at the whisper's ``<Gather>`` to take the call, talks
        for ``talk_seconds`` once bridged, then hangs up."""
        return cls(
            keys=parse_key_script(["1", f"wait {talk_seconds:g}", "hangup"]),
            ring_seconds=ring_seconds,
        )

    @classmethod
    def agent_declines(cls, key: str = "2", ring_seconds: float = 3.0) -> Persona:
        """An agent who answers and presses ``key`` at the whisper (``""``: presses nothing, so
        the whisper's Gather times out)."""
        return cls(keys=parse_key_script([key] if key else []), ring_seconds=ring_seconds)

    @classmethod
    def no_sms(cls, outcome: SmsOutcome = "undelivered") -> Persona:
        """A number that cannot receive SMS (a landline): messages end ``undelivered`` (or
        ``failed``) with an ErrorCode."""
        return cls(sms=outcome)


PRESETS: dict[str, Persona] = {
    "human": Persona.human(),
    "silent": Persona.silent(),
    "busy": Persona.busy(),
    "no-answer": Persona.no_answer(),
    "failed": Persona.failed(),
    "voicemail": Persona.voicemail(),
    "no-sms": Persona.no_sms(),
}


def normalize_number(number: str) -> str:
    """E.164 form of ``number`` (``+`` and country code required); raises :class:`PersonaError`."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as exc:
        raise PersonaError(f"number {number!r}: {exc}") from exc
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def persona_from_config(value: object, where: str = "persona") -> Persona:
    """Build a persona from a preset name or a mapping ``{preset, <field>: value, ...}``."""
    if isinstance(value, str):
        if value not in PRESETS:
            raise PersonaError(f"{where}: unknown preset {value!r}; known: {sorted(PRESETS)}")
        return PRESETS[value]
    if not isinstance(value, Mapping):
        raise PersonaError(f"{where}: expected a preset name or a mapping")
    data = dict(value)
    base = persona_from_config(data.pop("preset", "human"), where)
    known = {f.name for f in fields(Persona)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise PersonaError(f"{where}: unknown field(s) {unknown}; known: {sorted(known)}")
    if "keys" in data:
        data["keys"] = parse_key_script(data["keys"])
    try:
        return replace(base, **data)
    except TypeError as exc:
        raise PersonaError(f"{where}: {exc}") from exc


@dataclass
class PersonaBook:
    """Personas by E.164 number, with a default for every other number."""

    by_number: dict[str, Persona] = field(default_factory=dict)
    default: Persona = field(default_factory=Persona)

    def for_number(self, number: str) -> Persona:
        """The persona at ``number`` (any form phonenumbers parses), else the default."""
        try:
            key = normalize_number(number)
        except PersonaError:
            key = number
        return self.by_number.get(key, self.default)

    def set(self, number: str, persona: Persona) -> None:
        """Script ``number`` (normalized to E.164) as ``persona``."""
        self.by_number[normalize_number(number)] = persona

    @classmethod
    def from_mapping(cls, personas: Mapping[str, Persona | object]) -> PersonaBook:
        """From ``{number or "default": Persona | preset name | mapping}``."""
        book = cls()
        for number, value in personas.items():
            persona = (
                value
                if isinstance(value, Persona)
                else persona_from_config(value, f"personas[{number!r}]")
            )
            if number == "default":
                book.default = persona
            else:
                book.set(number, persona)
        return book


def load_personas(path: str | Path) -> PersonaBook:
    """Read a personas file (``.json``, else YAML) with a top-level ``personas`` mapping.

    Raises :class:`PersonaError` naming the file and the bad entry.
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
        data = json.loads(text) if source.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise PersonaError(f"{source}: {exc}") from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("personas"), Mapping):
        raise PersonaError(f"{source}: expected a top-level 'personas' mapping")
    try:
        return PersonaBook.from_mapping(data["personas"])
    except PersonaError as exc:
        raise PersonaError(f"{source}: {exc}") from exc
