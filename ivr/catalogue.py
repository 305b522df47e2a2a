"""Prompt catalogues: the words of the call flow, one YAML file per language.

Each file maps the same entry names to templates with ``{placeholders}``. A language is added by
adding a file; :func:`load_catalogues` checks that every file has exactly the entries of the
English one and that the voicemail template names nothing beyond what a limited-content message
may carry (Reg F 12 CFR 1006.2(j)).
"""

from __future__ import annotations

import functools
import string
from collections.abc import Iterable, Mapping
from importlib import resources

import yaml

from ivr.errors import CatalogueError

REFERENCE_LANGUAGE = "en-US"

# The only fields a limited-content voicemail may name: a business name that does not reveal debt
# collection, a natural person's name, and a number to call back (1006.2(j)(1)).
LCM_FIELDS = frozenset({"business_name", "agent_name", "callback_number"})


class Catalogue:
    """The prompts of one language."""

    def __init__(self, language: str, entries: Mapping[str, str]) -> None:
        self.language = language
        self._entries = dict(entries)

    def names(self) -> frozenset[str]:
        return frozenset(self._entries)

    def fields(self, name: str) -> frozenset[str]:
        """The placeholder names of entry ``name``."""
        return frozenset(
            field for _, field, _, _ in string.Formatter().parse(self._entries[name]) if field
        )

    def text(self, name: str, **values: object) -> str:
        """Entry ``name`` with ``values`` filled in; raises KeyError for a missing value."""
        return " ".join(self._entries[name].format(**values).split())


def _read(language: str) -> dict[str, str]:
    source = resources.files("ivr.prompts").joinpath(f"{language}.yaml")
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogueError(f"no prompt catalogue for {language} (ivr/prompts)") from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(f"prompt catalogue {language}: not valid YAML") from exc
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise CatalogueError(f"prompt catalogue {language}: must map names to strings")
    return raw


@functools.cache
def _load(languages: tuple[str, ...]) -> dict[str, Catalogue]:
    reference = _read(REFERENCE_LANGUAGE)
    catalogues: dict[str, Catalogue] = {}
    for language in languages:
        entries = reference if language == REFERENCE_LANGUAGE else _read(language)
        missing = sorted(set(reference) - set(entries))
        extra = sorted(set(entries) - set(reference))
        if missing or extra:
            raise CatalogueError(
                f"prompt catalogue {language}: missing {missing or 'nothing'}, "
                f"unknown {extra or 'nothing'}"
            )
        catalogue = Catalogue(language, entries)
        for name in entries:
            try:
                fields = catalogue.fields(name)
            except ValueError as exc:
                raise CatalogueError(f"prompt catalogue {language}.{name}: {exc}") from exc
            expected = Catalogue(REFERENCE_LANGUAGE, reference).fields(name)
            if fields != expected:
                raise CatalogueError(
                    f"prompt catalogue {language}.{name}: placeholders {sorted(fields)} "
                    f"differ from {REFERENCE_LANGUAGE}'s {sorted(expected)}"
                )
        if not catalogue.fields("voicemail") <= LCM_FIELDS:
            raise CatalogueError(
                f"prompt catalogue {language}.voicemail may name only {sorted(LCM_FIELDS)}"
            )
        catalogues[language] = catalogue
    return catalogues


def load_catalogues(languages: Iterable[str]) -> dict[str, Catalogue]:
    """The catalogues of ``languages``, checked; read once per process and cached.

    Raises :class:`CatalogueError` naming the file and entry at fault.
    """
    return _load(tuple(languages))
