"""The dialer worker's configuration section (``dialer:`` in config.yaml)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AutoPauseSettings(BaseModel):
    """When a campaign pauses itself (and says why in the log and in ``campaign list``).

    Each is a count of consecutive events, shared by every worker through the store; 0 turns the
    check off. An authentication failure at Twilio (20003) pauses every campaign at once; a
    storm of refused requests pauses every campaign until a probe request gets through.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Calls rejected by Twilio as an invalid or unreachable number (21211, 21214, 21217, 13224)
    #: in a row: the import's numbers are probably broken.
    invalid_numbers_in_a_row: int = Field(default=20, ge=0)
    #: Dial-time policy denials in a row for a reason no clock lifts (no consent, unknown zone,
    #: suppressions...): the segment or the import is probably wrong.
    denials_in_a_row: int = Field(default=50, ge=0)
    #: Placed calls in a row whose end was learnt only by the reconciler, never by a status
    #: callback: Twilio's callbacks are not reaching duecall (403s on a wrong public URL or auth
    #: token, a proxy, DNS).
    missing_callbacks_in_a_row: int = Field(default=10, ge=0)
    #: REST requests in a row that Twilio refused (20429 / 429, 10004, 22005) or left unanswered
    #: (a 5xx, a dropped connection, a timeout), counted across every campaign and worker: Twilio
    #: is having a bad day, so every campaign pauses until a probe request succeeds.
    transient_failures_in_a_row: int = Field(default=20, ge=0)
    #: While paused for that reason, how often each worker sends its probe (a one-call list, a
    #: cheap authenticated GET); never before the ``Retry-After`` Twilio last asked for.
    probe_interval_seconds: float = Field(default=30.0, ge=0.1, le=3600)


class DialerSettings(BaseModel):
    """Pacing, ticks, reconciliation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Outbound calls per second for the whole Twilio account, shared by every worker. Twilio's
    #: default is 1 CPS per account; more is queued by Twilio, so pacing here keeps it empty.
    calls_per_second: float = Field(default=1.0, gt=0, le=100)
    #: SMS per second, shared by every worker (a US long code sends one segment per second).
    sms_per_second: float = Field(default=1.0, gt=0, le=100)
    #: Calls in flight at once (placed and not yet ended), across every worker.
    max_concurrent_calls: int = Field(default=10, ge=1, le=10_000)
    #: REST requests one worker keeps open at once: each create waits for Twilio's answer
    #: (100-300 ms over the internet), so one at a time caps a worker at a few calls per second
    #: whatever ``calls_per_second`` says. Each attempt is still recorded and committed, paced
    #: and policy-checked before its request leaves.
    place_concurrency: int = Field(default=4, ge=1, le=64)
    #: How often the dispatch tick runs, in seconds; one tick places at most a tick's worth of
    #: each budget.
    tick_seconds: float = Field(default=1.0, ge=0.05, le=60)
    #: A launch up to this late (worker busy, restarted) still runs; later it is skipped.
    launch_grace_seconds: int = Field(default=3600, ge=1, le=24 * 3600)
    #: Accounts snapshotted per transaction at launch; None: the engine's default
    #: (:func:`dialer.launch.default_snapshot_chunk`: 1,000 on SQLite, whose writer holds the
    #: only write lock and keeps webhooks waiting, 5,000 on PostgreSQL, where it blocks nobody).
    snapshot_chunk: int | None = Field(default=None, ge=10, le=50_000)
    #: An attempt without a final status after this long is looked up at Twilio and closed.
    reconcile_after_minutes: int = Field(default=15, ge=1, le=24 * 60)
    reconcile_interval_seconds: int = Field(default=60, ge=1, le=3600)
    #: A contact claimed but not dialed for this long (its worker died) is released.
    claim_timeout_seconds: int = Field(default=300, ge=10, le=24 * 3600)
    #: Delay before a contact whose dial failed transiently (Twilio 20429, a 5xx) is tried again.
    transient_retry_seconds: int = Field(default=300, ge=1, le=24 * 3600)
    outbox_interval_seconds: float = Field(default=5.0, ge=0.1, le=3600)
    outbox_batch: int = Field(default=50, ge=1, le=10_000)
    #: Transient failures after which an outbox item is given up (status failed).
    outbox_max_tries: int = Field(default=5, ge=1, le=100)
    #: Threads running scheduler jobs (launches, dispatch, reconcile, outbox).
    worker_threads: int = Field(default=4, ge=2, le=64)
    autopause: AutoPauseSettings = AutoPauseSettings()
