"""Resolve country cells (ISO codes or English names, in any case and accent) to alpha-2 codes.

Mapping is exact after normalisation, never silently fuzzy: a near miss is rejected with a
"did you mean" hint, because a guess ("Nigr": Niger or Nigeria?) can attach labels to the wrong
country. Names that could mean two countries ("Congo", "Korea") are rejected with both codes.

The name index is built once per process from pycountry (codes, names, official and common
names), countryinfo (names and alternative spellings) and :data:`ALIASES` below.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

#: Common English names that neither pycountry nor countryinfo knows. Checked against both: Iran,
#: Russia, Syria, Laos, Ivory Coast, Cote d'Ivoire, North/South Korea, Vietnam, Turkey, Türkiye,
#: UAE, USA, US, UK, DR Congo, DRC, Republic of the Congo, Congo-Brazzaville, Palestine, Czech
#: Republic, Swaziland, Moldova, Tanzania, Bolivia, Venezuela, Taiwan, Hong Kong, Macau, Brunei,
#: Cape Verde, East Timor and The Gambia already resolve through the libraries.
ALIASES: Final[dict[str, str]] = {
    "Burma": "MM",
    "Britain": "GB",
    "Congo Republic": "CG",
    "Democratic Republic of Congo": "CD",
    "Gaza": "PS",
    "Gaza Strip": "PS",
    "West Bank": "PS",
    "Palestinian Territories": "PS",
    "Macedonia": "MK",
    "Vatican": "VA",
    "Vatican City": "VA",
    "Micronesia": "FM",
    "St Lucia": "LC",
    "St Kitts and Nevis": "KN",
    "St Vincent": "VC",
}

#: Names that mean more than one country: rejected with a hint listing the candidates.
AMBIGUOUS: Final[dict[str, tuple[str, ...]]] = {
    "Congo": ("CD", "CG"),
    "Korea": ("KP", "KR"),
}

_PUNCTUATION: Final[re.Pattern[str]] = re.compile(r"[\W_]+")
#: Dropped without a space, so "Cote d'Ivoire" and "Cote dIvoire", "U.A.E." and "UAE" agree.
_JOINERS: Final[re.Pattern[str]] = re.compile(r"['`´‘’ʼ.]")
_SPACES: Final[re.Pattern[str]] = re.compile(r"\s+")
#: Suggestions come from names only: two- and three-letter codes are too close to each other.
_SUGGEST_MIN_LENGTH: Final[int] = 4
_SUGGEST_CUTOFF: Final[float] = 0.8


def normalise_country(text: str) -> str:
    """Comparable form: casefolded, accents and punctuation dropped, no leading "the "."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = _JOINERS.sub("", plain)
    plain = _SPACES.sub(" ", _PUNCTUATION.sub(" ", plain)).strip()
    return plain.removeprefix("the ")


@dataclass(frozen=True)
class CountryIndex:
    """Normalised name or code -> alpha-2, plus what is needed to explain a miss."""

    codes: dict[str, str]
    ambiguous: dict[str, tuple[str, ...]]
    display: dict[str, str]  # normalised key -> a readable spelling, for "did you mean"
    names: dict[str, str]  # alpha-2 -> readable country name

    def suggest(self, key: str) -> str | None:
        """A readable name close to ``key``, if any."""
        if len(key) < _SUGGEST_MIN_LENGTH:
            return None
        candidates = [k for k in self.display if len(k) >= _SUGGEST_MIN_LENGTH]
        close = difflib.get_close_matches(key, candidates, n=1, cutoff=_SUGGEST_CUTOFF)
        return self.display[close[0]] if close else None


def _library_spellings() -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(spelling, alpha-2) pairs from pycountry and countryinfo, and a display name per code."""
    import pycountry

    pairs: list[tuple[str, str]] = []
    names: dict[str, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from countryinfo import CountryInfo

        for country in pycountry.countries:
            code = country.alpha_2
            common = getattr(country, "common_name", None)
            pairs.append((code, code))
            pairs.append((country.alpha_3, code))
            for attribute in ("name", "official_name", "common_name"):
                value = getattr(country, attribute, None)
                if value:
                    pairs.append((value, code))
            names[code] = common or country.name
            try:
                info = CountryInfo(code).info()
            except (KeyError, ValueError, AttributeError, TypeError):
                continue
            if not common and isinstance(info.get("name"), str):
                names[code] = info["name"]  # "Republic of the Congo" beats pycountry's "Congo"
            spellings = [info.get("name"), *(info.get("altSpellings") or [])]
            pairs.extend((s, code) for s in spellings if isinstance(s, str) and s)
    return pairs, names


def _variants(spelling: str) -> list[str]:
    """The spelling and, for "Korea, Republic of" forms, the natural "Republic of Korea"."""
    out = [spelling]
    if ", " in spelling:
        head, _, tail = spelling.partition(", ")
        out.append(f"{tail} {head}")
    return out


@cache
def country_index() -> CountryIndex:
    """The process-wide name index (built once: countryinfo takes a moment to load)."""
    pairs, names = _library_spellings()
    found: dict[str, set[str]] = {}
    display: dict[str, str] = {}
    for spelling, code in pairs:
        for variant in _variants(spelling):
            key = normalise_country(variant)
            if key:
                found.setdefault(key, set()).add(code)
                display.setdefault(key, variant)
    codes = {key: next(iter(c)) for key, c in found.items() if len(c) == 1}
    ambiguous = {key: tuple(sorted(c)) for key, c in found.items() if len(c) > 1}
    for alias, code in ALIASES.items():
        key = normalise_country(alias)
        codes[key] = code
        ambiguous.pop(key, None)
        display.setdefault(key, alias)
    for name, candidates in AMBIGUOUS.items():
        key = normalise_country(name)
        codes.pop(key, None)
        ambiguous[key] = candidates
    for key in ambiguous:
        display.pop(key, None)
    return CountryIndex(codes=codes, ambiguous=ambiguous, display=display, names=names)


class CountryResolver:
    """Resolves cells against the index, user overrides and the countries the database holds."""

    def __init__(self, known: Collection[str], overrides: Mapping[str, str] | None = None) -> None:
        self.known = frozenset(code.upper() for code in known)
        self.index = country_index()
        self.overrides = {
            normalise_country(name): code.strip().upper()
            for name, code in (overrides or {}).items()
        }

    def lookup(self, text: str, what: str = "country") -> tuple[str | None, str | None]:
        """(alpha-2, None) for a resolvable cell, else (None, the error message about ``what``)."""
        key = normalise_country(text)
        code = self.overrides.get(key) or self.index.codes.get(key)
        if code is None and len(key) == 2 and key.upper() in self.known:
            code = key.upper()  # a code the database knows but ISO does not (e.g. XK)
        if code is not None:
            if code not in self.known:
                shown = f"'{code}'" if text.strip().upper() == code else f"'{text}' ({code})"
                return None, f"{what} {shown} is not in the countries table"
            return code, None
        candidates = self.index.ambiguous.get(key)
        if candidates:
            options = " or ".join(f"{c} ({self.index.names.get(c, c)})" for c in candidates)
            return None, f"unknown {what} '{text}' (it could be {options}: use the ISO code)"
        suggestion = self.index.suggest(key)
        if suggestion is not None:
            return None, f"unknown {what} '{text}' (did you mean {suggestion}?)"
        return None, f"unknown {what} '{text}'"

    def resolve(self, cells: pd.Series) -> tuple[pd.Series, npt.NDArray[np.bool_], dict[str, str]]:
        """Alpha-2 codes (None where missing or bad), the bad mask, and bad value -> message."""
        raw = cells.to_numpy(dtype=object, na_value=None)
        codes, uniques = pd.factorize(raw)
        codes = np.asarray(codes, dtype=np.intp)
        resolved = np.empty(len(uniques) + 1, dtype=object)  # last slot: missing
        failed = np.zeros(len(uniques) + 1, dtype=np.bool_)
        messages: dict[str, str] = {}
        for i, value in enumerate(uniques):
            text = str(value)
            if not text.strip():
                continue
            code, message = self.lookup(text)
            resolved[i] = code
            if message is not None:
                failed[i] = True
                messages[text] = message
        values = resolved[codes]  # code -1 picks the missing slot
        bad = failed[codes]
        return pd.Series(values, index=cells.index, dtype=object), bad, messages
