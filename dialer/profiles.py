"""The contact policy's profiles in force, one chosen per contact (a legal profile per cardholder).

``policy.profile`` is the default; ``policy.by_country`` maps a number's country to another
profile (``{CN: cn_cba}``); ``policy.overrides`` tunes the default profile and
``policy.profiles.<name>`` any profile. The choice itself is :class:`campaigns.legal.LegalProfiles`,
shared with the IVR and the texts; every decision stores the profile it was made under.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from campaigns.legal import BusinessKind, LegalProfile, LegalProfiles, disclosure_for
from dialer.policy import PolicyProfile, history_since


@dataclass(frozen=True)
class PolicyBook:
    """The default profile and the profiles chosen by the number's country."""

    default: PolicyProfile
    by_country: Mapping[str, PolicyProfile] = field(default_factory=dict)

    @classmethod
    def single(cls, profile: PolicyProfile) -> PolicyBook:
        """One profile for every contact."""
        return cls(profile)

    @property
    def profiles(self) -> dict[str, PolicyProfile]:
        """Every profile in force, by name."""
        found = {self.default.name: self.default}
        found.update({p.name: p for p in self.by_country.values()})
        return found

    def legal(self, kind: BusinessKind = "first_party") -> LegalProfiles:
        """The choice and what a conversation needs of each profile, for ``kind`` of business."""
        return LegalProfiles(
            default=self.default.name,
            profiles={
                name: LegalProfile(
                    name=name,
                    window_start=profile.window_start,
                    window_close=profile.window_close,
                    disclosure=disclosure_for(name, kind),
                )
                for name, profile in self.profiles.items()
            },
            by_country={country: p.name for country, p in self.by_country.items()},
        )

    def for_number(self, number: str) -> PolicyProfile:
        """The profile a contact at ``number`` is decided under."""
        return self.profiles[self.legal().name_for(number)]

    def history_since(self, now: datetime) -> datetime:
        """The oldest instant any profile's rules may look back to."""
        return min(history_since(now, profile) for profile in self.profiles.values())
