"""Fault injection: kill the worker at a named point, to prove what a restart recovers.

``DUECALL_FAULT=<point>`` (or ``<point>:<n>`` to fire on the n-th time the point is reached, the
first by default) makes the worker SIGKILL itself there -- no ``finally``, no rollback, no
goodbye, exactly like a host losing power or the OOM killer. The points:

- ``after_claim`` -- contacts are claimed (``dialing``, committed), nothing recorded yet;
- ``after_attempt_commit`` -- the attempt row is committed, the REST request not sent;
- ``after_request_before_sid`` -- Twilio created the call (or SMS), its SID is not stored;
- ``after_sid_stored`` -- the SID is stored; only the callbacks remain;
- ``mid_launch`` -- a launch's snapshot has committed some chunks, not all.

The three points of a dial are reached by calls and texts alike; ``sms_after_attempt_commit``,
``sms_after_request_before_sid`` and ``sms_after_sid_stored`` count and fire on texts only (the
dispatcher's SMS sends), so a mixed campaign can be killed in the middle of a text.

``DUECALL_CLAIM_JITTER_MS=<ms>`` sleeps a random 0..ms before each claim, so in a test one fast
worker cannot take every contact.

Both are read once, when the worker is built (:meth:`Faults.from_env`); unset, :data:`NO_FAULTS`
is used and every :meth:`Faults.hit` returns at once.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
from collections.abc import Mapping

log = logging.getLogger(__name__)

FAULT_ENV = "DUECALL_FAULT"
JITTER_ENV = "DUECALL_CLAIM_JITTER_MS"

POINTS = frozenset(
    {
        "after_claim",
        "after_attempt_commit",
        "after_request_before_sid",
        "after_sid_stored",
        "mid_launch",
        "sms_after_attempt_commit",
        "sms_after_request_before_sid",
        "sms_after_sid_stored",
    }
)


class FaultSpecError(ValueError):
    """Raised by :meth:`Faults.from_env` when ``DUECALL_FAULT`` or the jitter is malformed."""


class Faults:
    """The fault point armed in this process (if any) and the claim jitter."""

    def __init__(self, point: str | None = None, nth: int = 1, claim_jitter_ms: int = 0) -> None:
        if point is not None and point not in POINTS:
            raise FaultSpecError(
                f"{FAULT_ENV}: unknown point {point!r} (known: {', '.join(sorted(POINTS))})"
            )
        if nth < 1:
            raise FaultSpecError(f"{FAULT_ENV}: the count must be 1 or more, got {nth}")
        if claim_jitter_ms < 0:
            raise FaultSpecError(f"{JITTER_ENV} must not be negative, got {claim_jitter_ms}")
        self.point = point
        self.nth = nth
        self.claim_jitter_ms = claim_jitter_ms
        self._seen = 0
        self._lock = threading.Lock()
        self._random = random.Random()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Faults:
        """The faults ``environ`` (default ``os.environ``) asks for; :data:`NO_FAULTS` if none.

        Raises FaultSpecError for an unknown point or a bad number.
        """
        env = os.environ if environ is None else environ
        spec = env.get(FAULT_ENV, "").strip()
        jitter_text = env.get(JITTER_ENV, "").strip()
        if not spec and not jitter_text:
            return NO_FAULTS
        point: str | None = None
        nth = 1
        if spec:
            point, _, count = spec.partition(":")
            try:
                nth = int(count) if count else 1
            except ValueError as exc:
                raise FaultSpecError(f"{FAULT_ENV}: bad count in {spec!r}") from exc
        try:
            jitter = int(jitter_text) if jitter_text else 0
        except ValueError as exc:
            raise FaultSpecError(f"{JITTER_ENV}: not a number: {jitter_text!r}") from exc
        return cls(point or None, nth, jitter)

    def __bool__(self) -> bool:
        return self.point is not None or self.claim_jitter_ms > 0

    def hit(self, point: str, channel: str | None = None) -> None:
        """Reached ``point`` (of a dial on ``channel``): SIGKILL this process if it is the
        armed point's n-th time."""
        if self.point is None:
            return
        if point != self.point and (channel is None or f"{channel}_{point}" != self.point):
            return
        with self._lock:
            self._seen += 1
            fire = self._seen == self.nth
        if fire:
            log.warning("fault injection: SIGKILL at %s (#%d)", self.point, self.nth)
            for handler in logging.getLogger().handlers:
                handler.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    def jitter_seconds(self) -> float:
        """A random delay to wait before a claim (0 unless jitter is configured)."""
        if self.claim_jitter_ms <= 0:
            return 0.0
        return self._random.uniform(0, self.claim_jitter_ms) / 1000


#: Nothing armed: what every worker uses unless the environment says otherwise.
NO_FAULTS = Faults()
