"""Nothing about an account is said before the caller is verified, whatever keys they press."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.machine import CallFlow
from ivr.session import AccountFacts, Start
from tests.ivr.ivr_support import EN, ZH, Driver, build_flow, context, event_for, spoken

MACHINE = CallFlow(build_flow())


def secrets(facts: AccountFacts) -> set[str]:
    """Every way the account's private facts could be spoken or written, in both languages."""
    found: set[str] = set()
    for amount in (facts.balance, facts.minimum_due):
        found |= {f"{amount:,.2f}", f"{amount:.2f}", f"{amount:,.0f}", f"{int(amount)}"}
    for day in (facts.due_date, facts.birth_date):
        found |= {
            f"{day:%B} {day.day}",
            f"{day:%b} {day.day}",
            f"{day.month}月{day.day}日",
            day.isoformat(),
            f"{day:%Y%m%d}",
            f"{day.month}/{day.day}",
        }
    found.add(str(facts.birth_date.year))
    found |= {facts.last4, " ".join(facts.last4), facts.name, *facts.name.split()}
    if not facts.name.isascii():
        found.add(facts.name[1:])  # a Chinese given name
    return found


def key_steps(facts: AccountFacts) -> st.SearchStrategy[str | None]:
    """Plausible and implausible keys: the right answers often enough to get close."""
    return st.one_of(
        st.sampled_from(
            [
                None,
                "#",
                "1",
                "2",
                "0",
                "9",
                "*",
                facts.last4,
                f"{facts.birth_date:%Y%m%d}",
                f"{facts.account_id}#",
                "19000101",
                "20261205",
            ]
        ),
        st.text("0123456789*#", min_size=1, max_size=10),
    )


def heard_before_verification(facts: AccountFacts, caller_id: bool, keys: list[str | None]) -> str:
    d = Driver(MACHINE, context())
    candidates = (facts.account_id,) if caller_id else ()
    turn = d.start("CA-prop", Start(caller="+15550001111", candidates=candidates))
    heard = list(spoken(turn.twiml or ""))
    for key in keys:
        turn = d.send(event_for(key))
        if turn.session.verified:
            break
        heard += spoken(turn.twiml or "")
    return "\n".join(heard)


@st.composite
def key_sequences(draw: st.DrawFn, facts: AccountFacts, caller_id: bool) -> list[str | None]:
    """Rounds of the verifying path with keys kept, mangled, dropped or padded with noise, then
    noise: random enough to try everything, close enough to the path to get deep into it."""
    language_key = "1" if facts.language == "en-US" else "2"
    path = [] if caller_id else [language_key, f"{facts.account_id}#"]
    path += [facts.last4, f"{facts.birth_date:%Y%m%d}", "1"]
    keys: list[str | None] = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        for token in path:
            action = draw(st.sampled_from(["keep", "keep", "keep", "mangle", "drop", "noise"]))
            if action == "mangle":
                keys.append(draw(st.text("0123456789", min_size=len(token), max_size=len(token))))
            elif action == "noise":
                keys += draw(st.lists(key_steps(facts), max_size=3))
                keys.append(token)
            elif action == "keep":
                keys.append(token)
    keys += draw(st.lists(key_steps(facts), max_size=8))
    return keys


@settings(max_examples=300, deadline=None)
@given(data=st.data(), facts=st.sampled_from([EN, ZH]), caller_id=st.booleans())
def test_it_never_discloses_account_facts_before_verification(
    data: st.DataObject, facts: AccountFacts, caller_id: bool
) -> None:
    keys = data.draw(key_sequences(facts, caller_id))
    heard = heard_before_verification(facts, caller_id, keys)
    leaked = {secret for secret in secrets(facts) if secret in heard}
    assert not leaked, f"{leaked} spoken before verification"


def test_positive_control_a_verified_caller_does_hear_the_balance() -> None:
    for facts, language_key, balance in ((EN, "1", "4,823.17"), (ZH, "2", "18652.43")):
        d = Driver(MACHINE, context())
        d.start("CA-ok", Start(caller="+15550001111"))
        turn = d.keys(
            [language_key, f"{facts.account_id}#", facts.last4, f"{facts.birth_date:%Y%m%d}", "1"]
        )
        heard = " ".join(spoken(turn.twiml or ""))
        assert balance in heard
        assert {secret for secret in secrets(facts) if secret in heard}, "the check would notice"
