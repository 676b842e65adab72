"""Reference data: the ISO country table, M49 subregions, borders and configured clusters.

A team's imported overrides (``labelbench import countries``) are applied last, every time, so a
re-sync (``db upgrade``, ``demo``) never undoes them.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from labelbench.config import Settings
from labelbench.db.models import Country, CountryNeighbour, CountryOverride
from labelbench.domain.countries import all_countries, neighbours_of


def cluster_map(settings: Settings) -> dict[str, str]:
    """alpha-2 -> configured regime cluster."""
    return {code: name for name, codes in settings.clusters.items() for code in codes}


def effective_clusters(session: Session, settings: Settings) -> dict[str, tuple[str, ...]]:
    """Cluster name -> members: the configured clusters with imported overrides applied."""
    clusters = cluster_map(settings)
    for o in session.scalars(select(CountryOverride)):
        if o.cluster_set:
            clusters = _without(clusters, o.country)
            if o.cluster:
                clusters[o.country] = o.cluster
    members: dict[str, list[str]] = {}
    for code, name in sorted(clusters.items()):
        members.setdefault(name, []).append(code)
    return {name: tuple(codes) for name, codes in members.items()}


def sync_countries(session: Session, settings: Settings) -> int:
    """Insert/refresh every ISO country and neighbour edge (idempotent); returns the count."""
    effective = effective_clusters(session, settings)
    clusters = {code: name for name, codes in effective.items() for code in codes}
    countries = all_countries()
    existing = {c.code: c for c in session.scalars(select(Country))}
    overrides = {o.country: o for o in session.scalars(select(CountryOverride))}
    for c in countries:
        row = existing.get(c.code)
        if row is None:
            session.add(
                Country(
                    code=c.code, name=c.name, subregion=c.subregion, cluster=clusters.get(c.code)
                )
            )
        else:
            row.name, row.subregion, row.cluster = c.name, c.subregion, clusters.get(c.code)
    session.flush()
    subregion = {c.code: c.subregion for c in countries}
    neighbour_sets = dict(neighbours_of(countries))
    for code, o in overrides.items():
        if o.neighbours is not None:
            neighbour_sets[code] = frozenset(o.neighbours) - {code}
    edges: list[dict[str, str]] = []
    for c in countries:
        for other in sorted(neighbour_sets[c.code]):
            same = c.subregion is not None and subregion.get(other) == c.subregion
            border = other in c.borders
            relation = "both" if same and border else ("border" if border else "subregion")
            if not (same or border):
                relation = "custom"
            edges.append({"country": c.code, "neighbour": other, "relation": relation})
    session.execute(delete(CountryNeighbour))
    if edges:
        session.execute(insert(CountryNeighbour), edges)
    return len(countries)


def _without(mapping: dict[str, str], key: str) -> dict[str, str]:
    return {k: v for k, v in mapping.items() if k != key}
