"""The carrier probe: lift the pause a storm of refused requests set, once Twilio answers again.

When Twilio refuses or drops ``dialer.autopause.transient_failures_in_a_row`` requests in a row
(:func:`dialer.control.bump_transient`), every campaign pauses with ``paused_for = "carrier"``.
Each worker then sends one cheap authenticated GET every ``probe_interval_seconds`` -- a list of
the calls to the last number dialed since a minute ago -- but never before the ``Retry-After``
Twilio last asked for (the budgets' ``held_until``). The first probe that gets an answer resumes
every campaign, with an audit row; a refused probe leaves the pause in force. An operator's
``campaign resume --all`` lifts it too.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select

from dialer import control
from dialer.config import DialerSettings
from store.clock import Clock
from store.db import Database
from store.models import Attempt
from store.models_dialer import PacingBudget
from telephony.errors import TelephonyError
from telephony.port import Telephony

log = logging.getLogger(__name__)

#: How far back the probe's list looks (it only has to be answered, not to find anything).
PROBE_WINDOW = timedelta(minutes=1)


class CarrierProbe:
    """One :meth:`run` per scheduler firing; probes only while a carrier pause is in force."""

    def __init__(
        self,
        db: Database,
        telephony: Telephony,
        clock: Clock,
        *,
        settings: DialerSettings,
        worker_id: str,
    ) -> None:
        self.db = db
        self.telephony = telephony
        self.clock = clock
        self.settings = settings
        self.worker_id = worker_id
        self._last: datetime | None = None

    def run(self) -> bool | None:
        """Probe if it is time; True when the probe resumed the campaigns, False when Twilio
        still refuses, None when there was nothing to probe (no such pause, too early)."""
        now = self.clock.now()
        interval = timedelta(seconds=self.settings.autopause.probe_interval_seconds)
        if self._last is not None and now - self._last < interval * 0.9:
            return None
        with self.db.session(readonly=True) as session:
            if not control.carrier_paused(session):
                return None
            held_until = session.scalar(select(func.max(PacingBudget.held_until)))
            number = session.scalar(select(Attempt.number).order_by(Attempt.id.desc()).limit(1))
        if held_until is not None and held_until > now:
            return None  # Twilio asked to wait until then.
        if number is None:  # pragma: no cover - a carrier pause follows refused attempts
            return None
        self._last = now
        try:
            self.telephony.list_calls(to=number, started_after=now - PROBE_WINDOW)
        except TelephonyError as exc:
            log.warning("carrier probe refused; campaigns stay paused: %s", exc.message)
            return False
        with self.db.session() as session:
            resumed = control.resume_carrier(
                session, actor="carrier-probe", now=self.clock.now(), probe="calls.list"
            )
        if resumed:
            log.warning("carrier probe answered: every campaign resumed by %s", self.worker_id)
        return resumed
