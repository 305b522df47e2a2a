"""What calls share once they meet: queues and their members, conferences and their participants,
and the two-party bridges ``<Dial>`` makes, with their Twilio JSON shapes.

The calls themselves (:mod:`simulator.connect`) and the REST API (:mod:`simulator.rest`) change
this state, always under the simulator's lock; a change another call must act on reaches it as an
interruption (``Simulator.interrupt``) or a nudge, never by polling.

Twilio's documented defaults kept here: a queue holds at most 1000 callers unless its
``MaxSize`` says otherwise (docs/simulator.md, "Queues"); a conference is ``init`` until a
participant with ``startConferenceOnEnter`` joins, ``in-progress`` then, ``completed`` when the last
participant or one with ``endConferenceOnExit`` leaves, or on a REST ``Status=completed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from simulator.models import API_VERSION, SimCall, new_sid, rfc2822

DEFAULT_MAX_QUEUE_SIZE = 1000
MAX_QUEUE_SIZE = 5000  # Twilio's ceiling for a queue's MaxSize

BridgeState = Literal["dialing", "whisper", "bridged", "over"]


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, round((end - start).total_seconds()))


# Queues -----------------------------------------------------------------------------------------


@dataclass
class QueueMember:
    """A call waiting in a queue (``<Enqueue>``)."""

    call: SimCall
    queue: SimQueue
    date_enqueued: datetime

    def wait_time(self, now: datetime) -> int:
        """Seconds in the queue so far (``wait_time``, ``QueueTime``)."""
        return _seconds(self.date_enqueued, now)

    def to_json(self, now: datetime) -> dict[str, object]:
        """The Queue Member resource as Twilio's REST API returns it."""
        return {
            "call_sid": self.call.sid,
            "date_enqueued": rfc2822(self.date_enqueued),
            "position": self.queue.position(self),
            "uri": f"{self.queue.uri().removesuffix('.json')}/Members/{self.call.sid}.json",
            "wait_time": self.wait_time(now),
            "queue_sid": self.queue.sid,
        }


@dataclass
class SimQueue:
    """A call queue, created by ``<Enqueue>`` on demand or by the REST API."""

    sid: str
    account_sid: str
    friendly_name: str
    max_size: int
    date_created: datetime
    date_updated: datetime
    members: list[QueueMember] = field(default_factory=list)
    #: Seconds each caller who left the queue spent in it (``average_wait_time``).
    waits: list[int] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Callers waiting now (``current_size``, ``CurrentQueueSize``)."""
        return len(self.members)

    def position(self, member: QueueMember) -> int:
        """1-based position (``QueuePosition``); 0 once the member has left."""
        try:
            return self.members.index(member) + 1
        except ValueError:
            return 0

    def member(self, call_sid: str) -> QueueMember | None:
        """The member for ``call_sid``, or the front of the queue for ``Front``."""
        if call_sid == "Front":
            return self.members[0] if self.members else None
        return next((m for m in self.members if m.call.sid == call_sid), None)

    def average_wait(self) -> int:
        """Average seconds callers who left the queue waited (``AvgQueueTime``)."""
        return round(sum(self.waits) / len(self.waits)) if self.waits else 0

    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Queues/{self.sid}.json"

    def to_json(self) -> dict[str, object]:
        """The Queue resource as Twilio's REST API returns it."""
        return {
            "date_updated": rfc2822(self.date_updated),
            "current_size": self.size,
            "friendly_name": self.friendly_name,
            "uri": self.uri(),
            "account_sid": self.account_sid,
            "average_wait_time": self.average_wait(),
            "sid": self.sid,
            "date_created": rfc2822(self.date_created),
            "max_size": self.max_size,
        }


# Bridges ----------------------------------------------------------------------------------------


@dataclass
class Bridge:
    """Two legs joined by ``<Dial>``: ``caller`` ran the Dial, ``callee`` is the ``<Number>``
    leg it placed or the queued call it dequeued (``<Queue>``).

    ``state`` goes ``dialing`` -> (``whisper``) -> ``bridged`` -> ``over``, or straight to
    ``over`` with ``dial_status`` (busy, no-answer, failed, canceled, completed) when the legs
    never talked.
    """

    caller: SimCall
    callee: SimCall | None = None
    state: BridgeState = "dialing"
    dial_status: str | None = None
    started: datetime | None = None
    ended: datetime | None = None

    def other(self, call: SimCall) -> SimCall | None:
        """The leg that is not ``call``."""
        return self.callee if call is self.caller else self.caller

    def talk_seconds(self) -> int:
        """Seconds the legs were bridged (``DialCallDuration``)."""
        if self.started is None or self.ended is None:
            return 0
        return _seconds(self.started, self.ended)


@dataclass
class DialLeg:
    """The callee leg of ``<Dial><Number>``: once answered it plays ``whisper`` (the Number's
    ``url``), then joins ``bridge`` unless the whisper hung up."""

    bridge: Bridge
    whisper: str | None = None
    whisper_method: str = "POST"


# Conferences ------------------------------------------------------------------------------------


@dataclass
class Participant:
    """A call in a conference (``<Dial><Conference>``)."""

    call: SimCall
    conference: Conference
    start_conference_on_enter: bool
    end_conference_on_exit: bool
    muted: bool
    coaching: bool
    call_sid_to_coach: str | None
    date_created: datetime
    date_updated: datetime
    hold: bool = False
    status: str = "connected"
    label: str | None = None

    def to_json(self) -> dict[str, object]:
        """The Participant resource as Twilio's REST API returns it."""
        base = self.conference.uri().removesuffix(".json")
        return {
            "account_sid": self.conference.account_sid,
            "call_sid": self.call.sid,
            "label": self.label,
            "call_sid_to_coach": self.call_sid_to_coach,
            "coaching": self.coaching,
            "conference_sid": self.conference.sid,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "end_conference_on_exit": self.end_conference_on_exit,
            "muted": self.muted,
            "hold": self.hold,
            "start_conference_on_enter": self.start_conference_on_enter,
            "status": self.status,
            "queue_time": "0",
            "uri": f"{base}/Participants/{self.call.sid}.json",
        }


@dataclass
class Conference:
    """A conference room, created when the first participant dials its friendly name."""

    sid: str
    account_sid: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    status: str = "init"
    participants: dict[str, Participant] = field(default_factory=dict)
    #: Everyone who ever joined, by call SID (the REST API still fetches those who left).
    history: dict[str, Participant] = field(default_factory=dict)
    reason_conference_ended: str | None = None
    call_sid_ending_conference: str | None = None
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: frozenset[str] = frozenset()
    sequence: int = 0

    @property
    def is_over(self) -> bool:
        return self.status == "completed"

    def hears(self, listener_sid: str) -> set[str]:
        """Call SIDs whose voice ``listener_sid`` hears: every other connected participant not
        muted and not on hold; a coach is heard only by the participant it coaches."""
        listener = self.participants.get(listener_sid)
        if listener is None or listener.hold:
            return set()
        heard = set()
        for sid, other in self.participants.items():
            if sid == listener_sid or other.muted or other.hold:
                continue
            if other.coaching and other.call_sid_to_coach != listener_sid:
                continue
            heard.add(sid)
        return heard

    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Conferences/{self.sid}.json"

    def to_json(self) -> dict[str, object]:
        """The Conference resource as Twilio's REST API returns it."""
        base = self.uri().removesuffix(".json")
        return {
            "account_sid": self.account_sid,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "api_version": API_VERSION,
            "friendly_name": self.friendly_name,
            "region": "us1",
            "sid": self.sid,
            "status": self.status,
            "uri": self.uri(),
            "subresource_uris": {
                "participants": f"{base}/Participants.json",
                "recordings": f"{base}/Recordings.json",
            },
            "reason_conference_ended": self.reason_conference_ended,
            "call_sid_ending_conference": self.call_sid_ending_conference,
        }


# The switchboard --------------------------------------------------------------------------------


@dataclass
class Switchboard:
    """Every queue and conference of the account, by SID."""

    account_sid: str
    queues: dict[str, SimQueue] = field(default_factory=dict)
    conferences: dict[str, Conference] = field(default_factory=dict)
    #: Live bridges by the SID of each of their two legs.
    bridges: dict[str, Bridge] = field(default_factory=dict)

    def queue_named(self, name: str) -> SimQueue | None:
        """The queue with this friendly name, if any."""
        return next((q for q in self.queues.values() if q.friendly_name == name), None)

    def create_queue(self, name: str, now: datetime, max_size: int | None = None) -> SimQueue:
        """A new queue (the REST create, or ``<Enqueue>`` naming an unknown queue)."""
        queue = SimQueue(
            sid=new_sid("QU"),
            account_sid=self.account_sid,
            friendly_name=name,
            max_size=max_size or DEFAULT_MAX_QUEUE_SIZE,
            date_created=now,
            date_updated=now,
        )
        self.queues[queue.sid] = queue
        return queue

    def member_of(self, call: SimCall) -> QueueMember | None:
        """The queue membership of ``call``, if it is waiting in one."""
        for queue in self.queues.values():
            member = queue.member(call.sid)
            if member is not None:
                return member
        return None

    def conference_named(self, name: str) -> Conference | None:
        """The live (not completed) conference with this friendly name, if any."""
        return next(
            (c for c in self.conferences.values() if c.friendly_name == name and not c.is_over),
            None,
        )

    def conference_of(self, call: SimCall) -> Conference | None:
        """The live conference ``call`` is a participant of, if any."""
        return next(
            (c for c in self.conferences.values() if call.sid in c.participants),
            None,
        )

    def open_conference(self, name: str, now: datetime) -> Conference:
        """The live conference named ``name``, created when there is none."""
        conference = self.conference_named(name)
        if conference is None:
            conference = Conference(
                sid=new_sid("CF"),
                account_sid=self.account_sid,
                friendly_name=name,
                date_created=now,
                date_updated=now,
            )
            self.conferences[conference.sid] = conference
        return conference
