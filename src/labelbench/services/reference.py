"""Reference data: the ISO country table, M49 subregions, borders and configured clusters."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from labelbench.config import Settings
from labelbench.db.models import Country, CountryNeighbour
from labelbench.domain.countries import all_countries, neighbours_of


def cluster_map(settings: Settings) -> dict[str, str]:
    """alpha-2 -> configured regime cluster."""
    return {code: name for name, codes in settings.clusters.items() for code in codes}


def sync_countries(session: Session, settings: Settings) -> int:
    """Insert/refresh every ISO country and neighbour edge (idempotent); returns the count."""
    clusters = cluster_map(settings)
    countries = all_countries()
    existing = {c.code: c for c in session.scalars(select(Country))}
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
    neighbour_sets = neighbours_of(countries)
    edges: list[dict[str, str]] = []
    for c in countries:
        for other in sorted(neighbour_sets[c.code]):
            same = c.subregion is not None and subregion[other] == c.subregion
            border = other in c.borders
            relation = "both" if same and border else ("border" if border else "subregion")
            edges.append({"country": c.code, "neighbour": other, "relation": relation})
    session.execute(delete(CountryNeighbour))
    if edges:
        session.execute(insert(CountryNeighbour), edges)
    return len(countries)
