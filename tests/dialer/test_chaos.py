"""A campaign of 300 on a bad carrier day, with real workers, one of them killed: nobody dialed
twice, nobody lost, every cap held, and the 429 storm paused the campaigns and a probe resumed
them (:mod:`tests.dialer.chaos_rig`; ``python -m bench chaos`` runs a larger one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dialer.chaos_rig import (
    cap_violations,
    double_dials,
    injected_kinds,
    killed,
    lost_contacts,
    run_chaos,
    storm_violations,
    summary,
)

CONTACTS = 300
SEED = 20261207


@pytest.mark.slow
def test_a_campaign_survives_a_bad_carrier_day(pg_url: str, tmp_path: Path) -> None:
    run = run_chaos(pg_url, tmp_path, contacts=CONTACTS, seed=SEED)
    print("\n".join(summary(run)))

    assert killed(run), run.log_of_doomed[-2000:]
    kinds = injected_kinds(run)
    for kind in (
        "rest:error:429:False",
        "rest:error:503:False",
        "rest:error:502:True",
        "rest:drop::True",
        "rest:drop::False",
        "callback:lose:",
        "callback:duplicate:",
        "callback:delay:",
    ):
        assert kinds[kind] > 0, f"the fault {kind} never happened: {dict(kinds)}"

    assert double_dials(run) == []
    assert lost_contacts(run) == []
    assert {c.state for c in run.contact_rows} == {"done"}
    assert len(run.contact_rows) == CONTACTS
    assert cap_violations(run) == []
    assert storm_violations(run) == []
    # The storm's refusals were retried, not closed, and used none of the campaign's retries:
    # every contact with a refused attempt was reached by a call afterwards.
    refused = {a.contact_id for a in run.attempts if a.outcome == "refused"}
    reached = {a.contact_id for a in run.attempts if a.provider_sid}
    assert refused and refused <= reached
