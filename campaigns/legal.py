"""Which law a cardholder is contacted under: a legal profile per cardholder, not per deployment.

A book with US and Chinese cardholders needs Regulation F (``us_reg_f``) for one and the China
Banking Association's guideline (``cn_cba``) for the other, in the same run. The profile is
chosen per contact from the country of the number being contacted (``policy.by_country``, e.g.
``{CN: cn_cba}``), else the configured default (``policy.profile``). The contact policy's numbers
for each profile live in :mod:`dialer.policy`; what a conversation needs of it -- the calling
window a callback must fall in, the disclosure said after verification -- is here, so the IVR
and the texts read the same choice.

The disclosures (what must be said once the right party is verified):

* ``us_reg_f`` and a third-party debt collector (``business.kind: third_party_collector``): every
  call and every text says it is a communication from a debt collector (Reg F 12 CFR
  1006.18(e)); the voicemail stays a limited-content message (1006.2(j)), which may not say it.
  A first-party creditor collecting its own debts is not a "debt collector" under the FDCPA.
* ``cn_cba``: the institution's name and the purpose of the call (CBA 2026 guideline: identify
  the institution and the collection purpose to the debtor, and to no one else).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Literal

import phonenumbers

BusinessKind = Literal["first_party", "third_party_collector"]

#: Catalogue entries (ivr/prompts) of the disclosures.
DEBT_COLLECTOR = "disclosure_debt_collector"
INSTITUTION = "disclosure_institution"


@dataclass(frozen=True)
class LegalProfile:
    """What a conversation needs of a legal profile: its name, the local hours a contact may
    start in (``window_start`` to ``window_close``, the margin before the end already taken
    off), and the disclosure to say after verification (a catalogue entry, or None)."""

    name: str
    window_start: time
    window_close: time
    disclosure: str | None = None

    @property
    def texts_need_collector_notice(self) -> bool:
        """Whether every text under this profile must say it is from a debt collector."""
        return self.disclosure == DEBT_COLLECTOR


@dataclass(frozen=True)
class LegalProfiles:
    """The profiles in force and how one is chosen for a number."""

    default: str
    profiles: Mapping[str, LegalProfile]
    by_country: Mapping[str, str] = field(default_factory=dict)

    def name_for(self, number: str | None) -> str:
        """The profile for a contact at ``number``: by its country, else the default."""
        country = country_of(number)
        if country is not None and country in self.by_country:
            return self.by_country[country]
        return self.default

    def for_number(self, number: str | None) -> LegalProfile:
        return self.profiles[self.name_for(number)]

    def describe(self) -> list[str]:
        """One line per profile saying which numbers it covers (``check-config``)."""
        lines = []
        for name in sorted(self.profiles):
            countries = sorted(c for c, chosen in self.by_country.items() if chosen == name)
            parts = [f"numbers in {', '.join(countries)}"] if countries else []
            if name == self.default:
                others = sorted(c for c, chosen in self.by_country.items() if chosen != name)
                parts.append(
                    f"every other number (not {', '.join(others)})" if others else "every number"
                )
            lines.append(f"{name}: {'; '.join(parts) or 'no number'}")
        return lines


def country_of(number: str | None) -> str | None:
    """The ISO 3166-1 alpha-2 country of an E.164 number, or None when it cannot be told."""
    if not number:
        return None
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return None
    return str(region) if region and region != "ZZ" else None


def disclosure_for(profile_name: str, kind: BusinessKind) -> str | None:
    """The disclosure a profile requires of this business after verification (see above)."""
    if profile_name == "us_reg_f":
        return DEBT_COLLECTOR if kind == "third_party_collector" else None
    if profile_name == "cn_cba":
        return INSTITUTION
    return None
