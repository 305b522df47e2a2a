"""How a cardholder is named to them: on the phone and in texts, one rule.

The name on file is what the bank's system holds: sometimes with a title ("Dr. John Smith",
"Mrs Jane Doe"), sometimes surname first in capitals ("SMITH, JOHN"). People are addressed by
their name alone, as they would write it: the title is dropped, "SURNAME, GIVEN" is turned round,
a name in capitals is written in ordinary case (a voice reads "SMITH" letter by letter at best).

A Chinese name (any CJK character in it) is kept exactly as it is: surname first, no spaces, and
no case to change. For a Chinese-speaking cardholder the whole name is the addressed name, as a
stranger would address them; in English it is the given name (the first word).
"""

from __future__ import annotations

import re

# Titles said before a name. Matched without the full stop, case-insensitive.
TITLES = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "professor",
        "rev",
        "sir",
        "dame",
        "madam",
        "mme",
        "mlle",
    }
)
# Letters after a name that are not part of it (degrees, "esquire").
POST_NOMINALS = frozenset({"phd", "md", "esq", "dds", "cpa"})
# Generational suffixes are part of the name; in "SMITH, JOHN JR" they follow the surname.
GENERATIONAL = frozenset({"jr", "sr", "ii", "iii", "iv"})

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _bare(word: str) -> str:
    return word.rstrip(".,").casefold()


def is_cjk_name(name: str) -> bool:
    """True when ``name`` is written in Chinese characters."""
    return bool(_CJK.search(name))


def _proper_case(words: list[str]) -> list[str]:
    # Only a name written wholly in capitals is re-cased: "McDonald" and "van der Berg" stay.
    if not any(ch.isalpha() for word in words for ch in word):
        return words
    if " ".join(words) != " ".join(words).upper():
        return words
    cased = []
    for word in words:
        if _bare(word) in {"ii", "iii", "iv"}:
            cased.append(word)
        else:
            cased.append(word.title())
    return cased


def _without_titles(words: list[str]) -> list[str]:
    while len(words) > 1 and _bare(words[0]) in TITLES:
        words = words[1:]
    while len(words) > 1 and _bare(words[-1]) in POST_NOMINALS:
        words = words[:-1]
    return words


def plain_name(full_name: str) -> str:
    """The name as the person would write it: ``"Dr. John Smith"`` -> ``"John Smith"``,
    ``"Mrs Jane Doe"`` -> ``"Jane Doe"``, ``"SMITH, JOHN"`` -> ``"John Smith"``; a Chinese name
    (``"王小明"``) unchanged. A name that is only a title is returned as given."""
    name = " ".join(full_name.split())
    if not name or is_cjk_name(name):
        return name
    if name.count(",") == 1:
        surname, given = (part.split() for part in name.split(","))
        suffix = [w for w in given if _bare(w) in GENERATIONAL]
        given = [w for w in given if _bare(w) not in GENERATIONAL]
        if surname and given:
            words = _without_titles(given) + _without_titles(surname) + suffix
        else:  # "John Smith, Jr." or "Smith,": no surname-first order to turn round
            words = name.replace(",", " ").split()
    else:
        words = name.split()
    return " ".join(_proper_case(_without_titles(words)))


def addressed_name(full_name: str, language: str) -> str:
    """The name a call or a text addresses the cardholder by (``{first_name}`` in templates):
    the given name in English (``"Dr. John Smith"`` -> ``"John"``); in Chinese, or for a name in
    Chinese characters, the whole name (surname first)."""
    name = plain_name(full_name)
    if language.startswith("zh") or is_cjk_name(name) or not name:
        return name
    return name.split()[0]
