"""Launching runs: once per slot whoever asks, a missed slot after a restart, the DST fall-back,
and snapshots written in chunks that resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from campaigns.config import CampaignSettings
from dialer.launch import Launcher, latest_fire_time, launch, slot_key
from dialer.messages import Sender
from dialer.worker import DialerWorker
from store.clock import FixedClock
from store.db import Database
from store.models import Promise
from store.models_dialer import CampaignRun, Contact
from tests.dialer.dialer_rig import add_account, settings_for, voice_campaign


class NoTelephony:
    """Launching never talks to the carrier; any call here fails the test."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"launch used the carrier ({name})")


def worker(
    db: Database, clock: FixedClock, campaign: dict[str, object], **dialer: object
) -> DialerWorker:
    settings = settings_for([campaign], dialer)
    return DialerWorker(
        db,
        NoTelephony(),  # type: ignore[arg-type]
        clock,
        settings=settings.dialer,
        campaigns=settings.campaigns,
        policy=settings.policy.built,
        sender=Sender("Northwind", "+18005550100", "+18005550100", settings.sms.opt_out_notice),
        worker_id=f"w-{id(settings)}",
        wait=lambda _s: True,
    )


def runs(db: Database) -> list[tuple[str, str, str]]:
    with db.session(readonly=True) as s:
        return [
            (r.campaign, r.slot_key, r.status)
            for r in s.scalars(select(CampaignRun).order_by(CampaignRun.id))
        ]


def contact_count(db: Database) -> int:
    with db.session(readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(Contact)) or 0)


def test_two_workers_launching_the_same_slot_make_one_run(db: Database, clock: FixedClock) -> None:
    for i in range(5):
        add_account(db, clock, f"A{i}", f"+1212555010{i}")
    first, second = worker(db, clock, voice_campaign()), worker(db, clock, voice_campaign())
    a = first.launch_scheduled("voice-mid")
    b = second.launch_scheduled("voice-mid")
    assert a is not None and a.created and a.contacts == 5
    assert b is not None and not b.created and b.run_id == a.run_id
    assert runs(db) == [("voice-mid", "2026-11-29T09:00 America/New_York", "active")]
    assert contact_count(db) == 5


def test_a_launcher_on_the_store_alone_shares_the_workers_slots(
    db: Database, clock: FixedClock
) -> None:
    # What `campaign run` builds: no carrier, no worker; the same slots as the worker's.
    add_account(db, clock, "A1", "+12125550101")
    settings = settings_for([voice_campaign()])
    launcher = Launcher(
        db, clock, settings=settings.dialer, campaigns=settings.campaigns, actor="cli:ops"
    )
    scheduled = launcher.launch_scheduled("voice-mid")
    assert scheduled is not None and scheduled.created and scheduled.contacts == 1
    again = worker(db, clock, voice_campaign()).launch_scheduled("voice-mid")
    assert again is not None and not again.created and again.run_id == scheduled.run_id
    manual = launcher.launch_now("voice-mid", "cli:ops")
    assert manual.created and manual.run_id != scheduled.run_id
    assert [(r[1].split(" ")[0], r[2]) for r in runs(db)] == [
        ("2026-11-29T09:00", "superseded"),
        ("manual", "active"),
    ]


def test_a_restarted_worker_launches_the_slot_it_missed_within_the_grace_period(
    db: Database, clock: FixedClock
) -> None:
    add_account(db, clock, "A1", "+12125550101")
    # The worker was down at 09:00 New York (14:00 UTC) and comes back at 09:40.
    clock.set(datetime(2026, 11, 29, 14, 40, tzinfo=UTC))
    restarted = worker(db, clock, voice_campaign(), launch_grace_seconds=3600)
    assert [r.created for r in restarted.catch_up()] == [True]
    assert restarted.catch_up() == [], "a second restart launches nothing more"
    assert runs(db) == [("voice-mid", "2026-11-29T09:00 America/New_York", "active")]
    # Back only at 10:30: the slot is past the grace period and is skipped.
    clock.set(datetime(2026, 11, 30, 15, 30, tzinfo=UTC))
    assert worker(db, clock, voice_campaign(), launch_grace_seconds=3600).catch_up() == []
    assert len(runs(db)) == 1


def test_the_dst_fall_back_repeat_of_0130_makes_one_run(db: Database, clock: FixedClock) -> None:
    add_account(db, clock, "A1", "+12125550101")
    campaign = voice_campaign(schedule={"cron": "30 1 * * *", "timezone": "America/New_York"})
    w = worker(db, clock, campaign, launch_grace_seconds=600)
    settings = CampaignSettings.model_validate(campaign)
    # 2026-11-01: 01:30 EDT is 05:30 UTC; after the fall-back 01:30 EST is 06:30 UTC. The
    # trigger fires at both.
    first_fire = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    second_fire = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    trigger = settings.schedule.trigger()
    # (Compared in UTC: an aware time inside the fold never equals one of another zone.)
    repeat = trigger.get_next_fire_time(None, first_fire + timedelta(seconds=1))
    assert repeat.astimezone(UTC) == second_fire
    latest = latest_fire_time(settings, second_fire, timedelta(minutes=10))
    assert latest is not None and latest.astimezone(UTC) == second_fire
    assert slot_key(first_fire, settings.schedule.zone()) == slot_key(
        second_fire, settings.schedule.zone()
    )
    for fire in (first_fire, second_fire):
        clock.set(fire + timedelta(seconds=2))
        w.launch_scheduled("voice-mid")
    assert runs(db) == [("voice-mid", "2026-11-01T01:30 America/New_York", "active")]
    # The next day's 01:30 is a run of its own.
    clock.set(datetime(2026, 11, 2, 6, 30, 5, tzinfo=UTC))
    w.launch_scheduled("voice-mid")
    assert [r[1] for r in runs(db)] == [
        "2026-11-01T01:30 America/New_York",
        "2026-11-02T01:30 America/New_York",
    ]
    assert runs(db)[0][2] == "superseded"


def test_the_snapshot_takes_the_segment_in_chunks_and_resumes_an_abandoned_one(
    db: Database, clock: FixedClock
) -> None:
    for i in range(25):
        add_account(db, clock, f"A{i:02d}", f"+121255502{i:02d}")
    add_account(db, clock, "LOW-DPD", "+12125550300", dpd=5)
    add_account(db, clock, "CLOSED", "+12125550301", status="closed")
    add_account(db, clock, "ZH", "+12125550302", language="zh-CN")
    add_account(db, clock, "PROMISED", "+12125550303")
    with db.session() as s:
        s.add(
            Promise(
                account_id="PROMISED",
                customer_id="PROMISED",
                promised_date=clock.now().date() + timedelta(days=3),
                amount="50.00",
                currency="USD",
                status="open",
                source="ivr",
                created_at=clock.now(),
                created_by="ivr",
            )
        )
    campaign = CampaignSettings.model_validate(
        voice_campaign(segment={"dpd_min": 30, "dpd_max": 89, "languages": ["en-US"]})
    )
    result = launch(
        db,
        campaign,
        slot_at=clock.now(),
        key="k1",
        trigger="schedule",
        clock=clock,
        actor="t",
        chunk=10,
    )
    assert result.contacts == 25
    with db.session(readonly=True) as s:
        taken = set(s.scalars(select(Contact.account_id)))
    assert taken == {f"A{i:02d}" for i in range(25)}

    # A launch that died after its first chunk: the next launcher of the slot finishes it.
    with db.session() as s:
        s.execute(Contact.__table__.delete().where(Contact.account_id > "A09"))
        s.execute(
            update(CampaignRun).values(
                status="snapshotting", snapshot_cursor="A09", contacts_total=10
            )
        )
    again = launch(
        db,
        campaign,
        slot_at=clock.now(),
        key="k1",
        trigger="schedule",
        clock=clock,
        actor="t2",
        chunk=10,
    )
    assert not again.created and not again.resumed, "a live snapshot is left to its worker"
    clock.advance(timedelta(minutes=6))
    again = launch(
        db,
        campaign,
        slot_at=clock.now(),
        key="k1",
        trigger="schedule",
        clock=clock,
        actor="t2",
        chunk=10,
    )
    assert again.resumed and again.contacts == 25
    assert contact_count(db) == 25


def test_the_snapshot_chunk_defaults_to_the_engines_and_the_setting_wins(
    db: Database, clock: FixedClock
) -> None:
    # SQLite's writer holds the only write lock (webhooks wait for a chunk); PostgreSQL's chunk
    # locks its run row and its own rows, so it may be larger (README "The numbers").
    settings = settings_for([voice_campaign()])
    launcher = Launcher(
        db, clock, settings=settings.dialer, campaigns=settings.campaigns, actor="t"
    )
    assert settings.dialer.snapshot_chunk is None
    assert launcher.chunk == (1_000 if db.is_sqlite else 5_000)
    chosen = settings_for([voice_campaign()], {"snapshot_chunk": 250})
    assert (
        Launcher(db, clock, settings=chosen.dialer, campaigns=chosen.campaigns, actor="t").chunk
        == 250
    )
