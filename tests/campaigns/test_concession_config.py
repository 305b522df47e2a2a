"""``concessions:`` in config.yaml: every problem named by its key, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from duecall.settings import ConfigError, load_settings


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    return info.value.problems


def offers(body: str) -> str:
    return "concessions:\n  offers:\n" + body


def test_a_misspelt_limit_is_named_by_its_path_with_the_nearest_key(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        offers(
            "    fee:\n      kind: fee_waiver\n      percent: 100\n"
            "      limits: {supervisor: {max_amonut: '10.00'}}\n"
        ),
    )
    assert got == [
        "concessions.offers.fee.limits.supervisor.max_amonut: unknown key; did you mean "
        "`max_amount`?"
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "    fee: {kind: fee_waiver}\n",
            "concessions.offers.fee: a fee_waiver offer takes either amount or percent",
        ),
        (
            "    fee: {kind: fee_waiver, percent: 100, months: 3}\n",
            "concessions.offers.fee: months: not a term of a fee_waiver offer",
        ),
        (
            "    fee: {kind: fee_waiver, percent: 120}\n",
            "concessions.offers.fee.percent: must be a percentage above 0 and at most 100, "
            "to 2 decimals",
        ),
        (
            "    rate: {kind: reduced_rate, apr_bps: 990}\n",
            "concessions.offers.rate: months: a reduced_rate offer needs apr_bps and months",
        ),
        (
            "    s: {kind: settlement, percent: 60}\n",
            "concessions.offers.s: due_within_days: a settlement offer needs percent (of the "
            "balance to pay) and due_within_days",
        ),
        (
            "    rate: {kind: reduced_rate, apr_bps: 990, months: 6, "
            "limits: {supervisor: {max_amount: '5.00'}}}\n",
            "concessions.offers.rate: limits.supervisor.max_amount: not a limit of a "
            "reduced_rate offer (use max_months or min_apr_bps)",
        ),
        (
            "    fee: {kind: fee_waiver, percent: 100, limits: {agent: {}}}\n",
            "concessions.offers.fee: limits.supervisor: required (who approves what an agent "
            "may not)",
        ),
        (
            "    fee: {kind: fee_waiver, percent: 100, limits: {agent: {max_amount: '50.00'}, "
            "supervisor: {max_amount: '20.00'}}}\n",
            "concessions.offers.fee: limits.supervisor: must allow at least what limits.agent "
            "allows, or an agent's request could never be approved",
        ),
        (
            "    fee: {kind: fee_waiver, percent: 100, limits: {manager: {}, supervisor: {}}}\n",
            "concessions.offers.fee.limits.manager.[key]: Input should be 'agent' or 'supervisor'",
        ),
        (
            "    Fee Waiver: {kind: fee_waiver, percent: 100}\n",
            "concessions.offers: 'Fee Waiver': an offer name is lowercase letters, digits, "
            "'-' and '_'",
        ),
        (
            "    fee: {kind: fee_waiver, amount: '1.234'}\n",
            "concessions.offers.fee.amount: must have at most 2 decimals",
        ),
        (
            "    fee: {kind: fee_waiver, percent: 5, eligibility: {statuses: [opened]}}\n",
            "concessions.offers.fee.eligibility.statuses.0: Input should be 'open', 'closed', "
            "'charged_off', 'recalled', 'bankrupt' or 'deceased'",
        ),
    ],
)
def test_a_bad_offer_is_named_with_the_reason(tmp_path: Path, body: str, expected: str) -> None:
    assert problems(tmp_path, offers(body)) == [expected]


def test_an_offer_takes_its_terms_and_limits(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        offers(
            "    settle:\n      kind: settlement\n      percent: 55.5\n      due_within_days: 14\n"
            "      limits: {agent: {max_percent: 40}, supervisor: {max_percent: 60}}\n"
        ),
        encoding="utf-8",
    )
    settle = load_settings(path, {}).concessions.offers["settle"]
    assert str(settle.percent) == "55.5"
    assert settle.limits["agent"].max_percent == 40
    assert settle.eligibility.blocked_by == ("dispute", "cease")
