"""`labelbench features build`: recompute samples and features, then write only what changed.

The whole feature table is recomputed in memory (contagion features couple countries, so a
change anywhere can move a neighbour's row) and diffed against the stored samples: new country-days
are inserted, changed rows are updated in place (same sample id, so labels stay attached and a
new fingerprint flags them for re-review), unchanged rows are not touched. Rebuilding unchanged
data therefore writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from labelbench.db import queries
from labelbench.db.base import utcnow
from labelbench.db.models import Sample
from labelbench.domain.constants import FEATURES
from labelbench.ml.features import build_samples
from labelbench.services.workspace import Workspace

Progress = Callable[[str], None]
_COMPARED = (*FEATURES, "evidence_count", "fingerprint", "incident_label")


@dataclass(frozen=True)
class FeatureBuildReport:
    """What a build changed."""

    samples: int
    inserted: int
    updated: int
    unchanged: int
    removed: int
    kept_stale: int
    """Samples that fell below the evidence threshold but keep labels, so are kept."""
    fingerprint_changed: int
    seconds: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def build_features(ws: Workspace, progress: Progress | None = None) -> FeatureBuildReport:
    """Recompute every sample from evidence, incidents and probe metrics; write the diff."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    with ws.transaction() as session:
        say("loading evidence")
        evidence = queries.evidence_frame(session)
        incidents = queries.incidents_frame(session)
        probes = queries.probe_frame(session)
        neighbours = queries.neighbours(session)
        existing = queries.samples_frame(session)
        say(f"computing features for {len(evidence):,} evidence rows")
        fresh = build_samples(
            evidence, incidents, probes, neighbours, min_evidence=ws.settings.min_evidence
        )
        say("writing changes")
        report = _write_diff(session, fresh, existing)
    return FeatureBuildReport(**report, seconds=round(time.perf_counter() - started, 2))


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    out: list[dict[str, object]] = frame.to_dict(orient="records")
    for rec in out:
        for key, value in rec.items():
            if isinstance(value, np.generic):
                rec[key] = value.item()
    return out


def _write_diff(session: Session, fresh: pd.DataFrame, existing: pd.DataFrame) -> dict[str, int]:
    # ``fresh`` has no id column, so after the merge ``id`` is the stored sample's id.
    key = ["country", "day"]
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
        records = _records(new_rows[cols])
        for rec in records:
            rec["built_at"] = now
        queries.bulk_insert(session, Sample.__table__, records)
    if len(changed):
        updates = _records(changed[["id", *_COMPARED]])
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
