"""Effective labels and the training table: incident labels overridden by human decisions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from labelbench.db import queries
from labelbench.domain.labels import effective_labels


def training_frame(
    session: Session,
    *,
    countries: list[str] | None = None,
    label_watermark: int | None = None,
    exclude_batches: set[int] | frozenset[int] = frozenset(),
    include_candidates: bool = False,
) -> pd.DataFrame:
    """Every training row with its features, cluster and effective training label.

    The one place that decides what trains: production samples (>= ``min_evidence`` rows) with
    their incident label unless a human overrode it, plus the candidate days (fewer rows) that a
    human has ever labelled, with that label. An unlabelled candidate day is no training row;
    ``include_candidates`` keeps them too (label NaN, ``label_source`` ``candidate``) for the
    queue and the simulation, which rank them. Which candidate rows appear is decided on the
    whole log, so the filtered views (``label_watermark``, ``exclude_batches``) keep the same
    rows as the unfiltered one (a row labelled only later has label NaN there).

    Columns added to the stored sample columns: ``cluster``, ``human_verdict`` (effective verdict
    or empty), ``decided_by``, ``labelled_fingerprint`` (what the deciding analyst saw),
    ``rereview`` (a human label was made on evidence that has since changed), ``label_source``
    (human | incident | excluded | candidate) and ``label`` (1.0/0.0, NaN when not training).
    ``label_watermark`` limits the log to events with id <= watermark: the label set a past model
    was trained on; ``exclude_batches`` drops whole labelling batches (leave-one-batch-out).
    """
    samples = queries.samples_frame(session, countries)
    events = queries.label_events(session)
    candidate = samples["candidate_only"].astype(bool).to_numpy()
    if not include_candidates:
        ever = {e.sample_id for e in events}
        keep = ~candidate | samples["id"].isin(ever).to_numpy()
        samples = samples[keep].reset_index(drop=True)
        candidate = candidate[keep]
    if label_watermark is not None:
        events = [e for e in events if e.id <= label_watermark]
    if exclude_batches:
        events = [e for e in events if e.batch_id not in exclude_batches]
    effective = effective_labels(events)
    clusters = queries.country_clusters(session)
    samples["cluster"] = samples["country"].map(clusters)
    verdict, decided_by, seen = [], [], []
    for sid in samples["id"]:
        eff = effective.get(int(sid))
        verdict.append(eff.verdict if eff else None)
        decided_by.append(",".join(eff.decided_by) if eff else None)
        seen.append(eff.evidence_fingerprint if eff else None)
    samples["human_verdict"] = verdict
    samples["decided_by"] = decided_by
    samples["labelled_fingerprint"] = seen
    has_human = samples["human_verdict"].notna()
    samples["rereview"] = has_human & (samples["labelled_fingerprint"] != samples["fingerprint"])
    human_label = samples["human_verdict"].map({"positive": 1.0, "negative": 0.0})
    incident = np.where(candidate, np.nan, samples["incident_label"].astype(float))
    samples["label"] = np.where(has_human, human_label, incident)
    samples["label_source"] = np.where(
        ~has_human,
        np.where(candidate, "candidate", "incident"),
        np.where(human_label.notna(), "human", "excluded"),
    )
    return samples
