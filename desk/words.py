"""What the desk says, in a language: the IVR's prompt catalogues and voices (``desk_*``
entries in ivr/prompts/*.yaml), turned into lines for :mod:`telephony.desk_twiml`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ivr.catalogue import Catalogue
from ivr.config import VoiceSettings
from telephony.desk_twiml import Spoken


@dataclass(frozen=True)
class Words:
    catalogues: Mapping[str, Catalogue]
    voices: Mapping[str, VoiceSettings]
    fallback: str = "en-US"

    def language(self, wanted: str) -> str:
        return wanted if wanted in self.catalogues else self.fallback

    def line(self, language: str, entry: str, /, **values: object) -> Spoken:
        """Catalogue ``entry`` in ``language`` (else the fallback), with its voice."""
        language = self.language(language)
        voice = self.voices[language]
        return (self.catalogues[language].text(entry, **values), voice.voice, voice.language)

    def word(self, language: str, entry: str) -> str:
        return self.catalogues[self.language(language)].text(entry)
