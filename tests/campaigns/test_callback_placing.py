"""A booked callback taken by the desk once, closed when reached, opened again when not."""

from __future__ import annotations

from datetime import timedelta

from campaigns import callbacks
from campaigns.callbacks import CallbackWanted, request_callback
from store.clock import FixedClock
from store.db import Database
from store.models import CallbackRequest


def _book(db: Database, clock: FixedClock, key: str, **fields: object) -> int:
    with db.session() as s:
        values: dict[str, object] = {"priority": 3, **fields}
        wanted = CallbackWanted(
            number="+14155550123",
            reason="agent",
            language="en-US",
            dedupe_key=key,
            **values,  # type: ignore[arg-type]
        )
        assert request_callback(s, wanted, now=clock.now())
        return s.query(CallbackRequest).filter_by(dedupe_key=key).one().id


def test_due_requests_come_most_urgent_first_and_only_when_their_time_has_come(
    db: Database, clock: FixedClock
) -> None:
    later = _book(db, clock, "later", preferred_at=clock.now() + timedelta(hours=2))
    agent = _book(db, clock, "agent")
    fraud = _book(db, clock, "fraud", priority=0)
    with db.session() as s:
        assert [r.id for r in callbacks.due(s, now=clock.now())] == [fraud, agent]
        assert later in [r.id for r in callbacks.due(s, now=clock.now() + timedelta(hours=2))]


def test_a_request_is_taken_once_and_its_tries_are_counted(db: Database, clock: FixedClock) -> None:
    request_id = _book(db, clock, "one")
    at = clock.now() + timedelta(minutes=15)
    with db.session() as s1, db.session() as s2:
        assert callbacks.take(s1, request_id)
        s1.commit()
        assert not callbacks.take(s2, request_id)  # another worker: already taken
    with db.session() as s:
        assert callbacks.retry(s, request_id, at=at, note="not reached: busy")
        assert callbacks.take(s, request_id)
        assert callbacks.close(s, request_id, note="called back by an agent")
        assert not callbacks.retry(s, request_id, at=at, note="late")  # done stays done
        row = s.get(CallbackRequest, request_id)
        assert row is not None
        assert (row.status, row.tries, row.preferred_at) == ("done", 1, at)
