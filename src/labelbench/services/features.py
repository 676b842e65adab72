"""`labelbench features build`: recompute samples and features, then write only what changed.

The feature table is recomputed in memory and diffed against the stored samples: all of it for
`features build`, or after an import only the countries the change can reach (the changed ones and
every country that has one of them as a contagion neighbour). New country-days are inserted,
changed rows are updated in place (same sample id, so labels stay attached and a
new fingerprint flags them for re-review), unchanged rows are not touched. Rebuilding unchanged
data therefore writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from labelbench.db import queries
from labelbench.db.base import utcnow
from labelbench.db.models import Sample
from labelbench.db.statistics import refresh_statistics
from labelbench.domain.constants import FEATURES, MIN_CANDIDATE_EVIDENCE
from labelbench.ml.features import (
    OUTPUT_COLUMNS,
    daily_totals,
    day_fingerprints,
    incident_labels,
    samples_from_totals,
)
from labelbench.services.workspace import Workspace

Progress = Callable[[str], None]
#: Evidence rows held in memory at once by a build (about 1.5 KB each while fingerprinting).
EVIDENCE_BATCH_ROWS = 250_000
_COMPARED = (*FEATURES, "evidence_count", "fingerprint", "incident_label", "candidate_only")


@dataclass(frozen=True)
class FeatureBuildReport:
    """What a build changed."""

    samples: int
    """Rows with at least ``min_evidence`` rows (the production sample rule)."""
    inserted: int
    updated: int
    unchanged: int
    removed: int
    kept_stale: int
    """Samples that fell below the evidence threshold but keep labels, so are kept."""
    fingerprint_changed: int
    seconds: float
    countries: int = 0
    """Countries with samples whose rows were recomputed (all of them on a full build)."""
    candidates: int = 0
    """Candidate days below the sample rule (queued, trained only once labelled)."""

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def build_features(
    ws: Workspace, progress: Progress | None = None, countries: Collection[str] | None = None
) -> FeatureBuildReport:
    """Recompute samples from evidence, incidents and probe metrics; write the diff.

    ``countries`` limits the work to what a change in those countries can move (see
    :func:`rebuild`); None rebuilds everything.
    """
    with ws.transaction() as session:
        report = rebuild(
            session,
            ws.settings.min_evidence,
            min_candidate=ws.settings.queue.min_candidate_evidence,
            countries=countries,
            progress=progress,
        )
    refresh_statistics(ws.engine, ["samples"])
    return report


def affected_scope(
    neighbours: Mapping[str, frozenset[str]], changed: Collection[str]
) -> tuple[set[str], set[str]]:
    """The countries whose rows a change can move, and the countries their features read.

    A country's row depends on its own evidence, incidents and probes and on its neighbours'
    evidence and incidents (contagion), so a change in ``c`` moves the rows of ``c`` and of every
    country that lists ``c`` as a neighbour; recomputing those needs their neighbours' data too.
    """
    touched = set(changed)
    dependents = touched | {c for c, nbrs in neighbours.items() if nbrs & touched}
    inputs = set(dependents)
    for c in dependents:
        inputs |= neighbours.get(c, frozenset())
    return dependents, inputs


def rebuild(
    session: Session,
    min_evidence: int,
    *,
    min_candidate: int = MIN_CANDIDATE_EVIDENCE,
    countries: Collection[str] | None = None,
    progress: Progress | None = None,
    batch_rows: int = EVIDENCE_BATCH_ROWS,
) -> FeatureBuildReport:
    """The feature build inside the caller's transaction (imports build in their own).

    Every country-day with at least ``min_candidate`` evidence rows gets a row; those under
    ``min_evidence`` are flagged ``candidate_only`` (see :class:`~labelbench.db.models.Sample`).

    Evidence is read ``batch_rows`` rows at a time (whole country-days), reduced to daily
    totals and day fingerprints, and dropped: memory follows the batch and the number of
    country-days, not the size of the evidence table.

    Samples imported from a team's feature table (``origin = 'import'``) are never recomputed or
    removed: their features are the team's. Only their incident-derived label is refreshed, when
    the imported row had no label of its own.
    """
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    neighbours = queries.neighbours(session)
    if countries is None:
        scope: list[str] | None = None
        inputs: list[str] | None = None
    else:
        dependents, needed = affected_scope(neighbours, countries)
        scope, inputs = sorted(dependents), sorted(needed)
    incidents = queries.incidents_frame(session, inputs)
    probes = queries.probe_frame(session, inputs)
    existing = queries.samples_frame(session, scope) if scope != [] else _no_samples()
    floor = min(min_candidate, min_evidence)
    totals, fingerprints = _read_evidence(session, inputs, scope, floor, batch_rows, say)
    if len(totals):
        say("computing features")
        fresh = samples_from_totals(
            totals,
            fingerprints,
            incidents,
            probes,
            neighbours,
            min_evidence=min_evidence,
            min_candidate=floor,
            countries=scope,
        )
    else:
        fresh = _empty(OUTPUT_COLUMNS)
    imported = existing[existing["origin"] == "import"]
    built = existing[existing["origin"] != "import"]
    if len(imported):
        keys = pd.MultiIndex.from_frame(imported[["country", "day"]])
        fresh = fresh[~pd.MultiIndex.from_frame(fresh[["country", "day"]]).isin(keys)]
        _relabel_imported(session, imported, incidents)
    say("writing changes")
    counts = _write_diff(session, fresh.reset_index(drop=True), built)
    n_countries = len(set(fresh["country"]) | set(built["country"]))
    candidates = int(fresh["candidate_only"].astype(bool).sum()) if len(fresh) else 0
    counts["samples"] -= candidates
    return FeatureBuildReport(
        **counts,
        candidates=candidates,
        seconds=round(time.perf_counter() - started, 2),
        countries=n_countries,
    )


def plan_batches(day_counts: pd.DataFrame, batch_rows: int) -> list[list[queries.DayRange]]:
    """Split (country, day, rows) into batches of whole days, each near ``batch_rows`` rows.

    A batch is a list of per-country day runs; a day with more rows than ``batch_rows`` is a
    batch of its own (a day is never split: its fingerprint hashes all of its rows).
    """
    batches: list[list[queries.DayRange]] = []
    current: list[queries.DayRange] = []
    size = 0
    for country, day, rows in day_counts[["country", "day", "rows"]].itertuples(index=False):
        if current and size + rows > batch_rows:
            batches.append(current)
            current, size = [], 0
        if current and current[-1][0] == country:
            current[-1] = (country, current[-1][1], day)
        else:
            current.append((country, day, day))
        size += int(rows)
    if current:
        batches.append(current)
    return batches


def _read_evidence(
    session: Session,
    inputs: Sequence[str] | None,
    scope: Sequence[str] | None,
    min_evidence: int,
    batch_rows: int,
    say: Progress,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily totals of every input country and fingerprints of the scope's sample days."""
    day_counts = queries.evidence_day_counts(session, inputs)
    batches = plan_batches(day_counts, batch_rows)
    say(f"reading {int(day_counts['rows'].sum()):,} evidence rows in {len(batches)} batch(es)")
    wanted = None if scope is None else set(scope)
    totals: list[pd.DataFrame] = []
    fingerprints: list[pd.DataFrame] = []
    for ranges in batches:
        evidence = queries.evidence_frame(session, ranges=ranges)
        totals.append(daily_totals(evidence))
        if wanted is not None:
            evidence = evidence[evidence["country"].isin(wanted)]
        fingerprints.append(day_fingerprints(evidence, min_evidence))
        del evidence
    if not totals:
        return _empty(["country", "day_number"]), _empty(["country", "day_number", "fingerprint"])
    return pd.concat(totals, ignore_index=True), pd.concat(fingerprints, ignore_index=True)


def _no_samples() -> pd.DataFrame:
    return _empty(queries.SAMPLE_COLUMNS)


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    """No rows, object columns: merges with real frames without dtype clashes."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


def _relabel_imported(session: Session, imported: pd.DataFrame, incidents: pd.DataFrame) -> None:
    """Imported rows without their own label follow the incidents, like built samples do."""
    derived = incident_labels(imported[["country", "day"]], incidents)
    given = pd.to_numeric(imported["given_label"]).astype("Float64")
    target = np.where(given.notna().to_numpy(), given.fillna(0).to_numpy(), derived)
    changed = target.astype(np.int64) != imported["incident_label"].to_numpy().astype(np.int64)
    if changed.any():
        rows = imported.loc[changed, ["id"]].assign(incident_label=target[changed].astype(int))
        queries.update_samples(session, queries.records(rows))


def _write_diff(session: Session, fresh: pd.DataFrame, existing: pd.DataFrame) -> dict[str, int]:
    # ``fresh`` has no id column, so after the merge ``id`` is the stored sample's id.
    key = ["country", "day"]
    existing = existing.drop(columns=["origin", "given_label"], errors="ignore")
    merged = fresh.merge(existing, on=key, how="outer", suffixes=("", "_old"), indicator=True)
    new_rows = merged[merged["_merge"] == "left_only"]
    gone = merged[merged["_merge"] == "right_only"]
    both = merged[merged["_merge"] == "both"]
    changed_mask = np.zeros(len(both), dtype=bool)
    for col in _COMPARED:
        a, b = both[col].to_numpy(), both[f"{col}_old"].to_numpy()
        if col == "fingerprint":
            changed_mask |= a != b
        else:
            changed_mask |= ~np.isclose(a.astype(float), b.astype(float), rtol=0, atol=1e-12)
    changed = both[changed_mask]
    now = utcnow()
    cols = ["country", "day", *_COMPARED]
    if len(new_rows):
        records = queries.records(new_rows[cols])
        for rec in records:
            rec["built_at"] = now
        queries.bulk_insert(session, Sample.__table__, records)
    if len(changed):
        updates = queries.records(changed[["id", *_COMPARED]])
        for rec in updates:
            rec["built_at"] = now
        queries.update_samples(session, updates)
    removed = kept = 0
    if len(gone):
        labelled = queries.labelled_sample_ids(session)
        gone_ids = [int(i) for i in gone["id"]]
        deletable = [i for i in gone_ids if i not in labelled]
        queries.delete_samples(session, deletable)
        removed, kept = len(deletable), len(gone_ids) - len(deletable)
    fp_changed = (
        int((changed["fingerprint"] != changed["fingerprint_old"]).sum()) if len(changed) else 0
    )
    return {
        "samples": len(fresh) + kept,
        "inserted": len(new_rows),
        "updated": len(changed),
        "unchanged": len(both) - len(changed),
        "removed": removed,
        "kept_stale": kept,
        "fingerprint_changed": fp_changed,
    }
