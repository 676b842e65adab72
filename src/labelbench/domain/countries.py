"""Every ISO-3166 country with its UN M49 subregion, land borders and neighbour set.

Names and codes come from ``pycountry`` (the ISO 3166 database); subregions and land borders from
``countryinfo``. Borders are made symmetric (a border listed by either side counts for both), and
a short errata list removes borders that ``countryinfo`` lists but that do not exist on the ground.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from labelbench.domain.constants import DEFAULT_CLUSTERS, cluster_of

#: Land borders present in the countryinfo data set that do not exist (Kuwait borders Iraq, not
#: Iran; Iraq's own record lists Kuwait, so the real border survives the symmetric closure).
_BORDER_ERRATA: frozenset[frozenset[str]] = frozenset({frozenset({"KW", "IR"})})


@dataclass(frozen=True, slots=True)
class Country:
    """One ISO-3166 country as labelbench stores it."""

    code: str
    name: str
    subregion: str | None
    borders: tuple[str, ...]
    cluster: str | None


@cache
def all_countries() -> tuple[Country, ...]:
    """Every ISO-3166-1 country, sorted by alpha-2 code (cached; the libraries are slow to load)."""
    import pycountry
    from countryinfo import CountryInfo

    alpha3_to_2 = {c.alpha_3: c.alpha_2 for c in pycountry.countries}
    raw_borders: dict[str, set[str]] = {}
    subregions: dict[str, str | None] = {}
    names: dict[str, str] = {}
    for c in pycountry.countries:
        code = c.alpha_2
        names[code] = getattr(c, "common_name", None) or c.name
        try:
            info = CountryInfo(code)
            subregions[code] = info.subregion() or None
            listed = info.borders() or []
        except (KeyError, ValueError):
            subregions[code] = None
            listed = []
        raw_borders[code] = {alpha3_to_2[a3] for a3 in listed if a3 in alpha3_to_2}
    borders: dict[str, set[str]] = {code: set() for code in raw_borders}
    for code, listed_set in raw_borders.items():
        for other in listed_set:
            if frozenset({code, other}) in _BORDER_ERRATA:
                continue
            borders[code].add(other)
            borders[other].add(code)
    return tuple(
        Country(
            code=code,
            name=names[code],
            subregion=subregions[code],
            borders=tuple(sorted(borders[code])),
            cluster=cluster_of(code, DEFAULT_CLUSTERS),
        )
        for code in sorted(names)
    )


@cache
def country_index() -> dict[str, Country]:
    """Countries keyed by alpha-2 code."""
    return {c.code: c for c in all_countries()}


def neighbours_of(countries: tuple[Country, ...] | list[Country]) -> dict[str, frozenset[str]]:
    """Neighbour sets as production defines them: same UN M49 subregion plus land borders."""
    by_subregion: dict[str, set[str]] = {}
    for c in countries:
        if c.subregion:
            by_subregion.setdefault(c.subregion, set()).add(c.code)
    result: dict[str, frozenset[str]] = {}
    for c in countries:
        same = by_subregion.get(c.subregion, set()) if c.subregion else set()
        result[c.code] = frozenset((same | set(c.borders)) - {c.code})
    return result


@cache
def default_neighbours() -> dict[str, frozenset[str]]:
    """Neighbour sets for every ISO country."""
    return neighbours_of(all_countries())
