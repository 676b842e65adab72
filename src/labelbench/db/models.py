"""Tables. The Alembic migrations in ``migrations/`` own the schema; these classes must match.

Relationships are not declared: queries are explicit ``select()`` statements in :mod:`.queries`, so
nothing lazy-loads behind a caller's back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from labelbench.db.base import Base, BigIntKey, PortableJSON, utcnow
from labelbench.domain.constants import FEATURES, INCIDENT_TYPES, SOURCES, VERDICTS


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Country(Base):
    """Every ISO-3166 country; ``cluster`` is the configured regime cluster, if any."""

    __tablename__ = "countries"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    subregion: Mapped[str | None] = mapped_column(String(60))
    cluster: Mapped[str | None] = mapped_column(String(60))


class CountryNeighbour(Base):
    """Directed neighbour edge: same UN M49 subregion and/or a land border, or an imported one.

    ``custom`` edges come from ``labelbench import countries`` (see :class:`CountryOverride`).
    """

    __tablename__ = "country_neighbours"
    __table_args__ = (
        CheckConstraint("country <> neighbour", name="not_self"),
        CheckConstraint(
            _in("relation", ("subregion", "border", "both", "custom")), name="relation"
        ),
    )

    country: Mapped[str] = mapped_column(ForeignKey("countries.code"), primary_key=True)
    neighbour: Mapped[str] = mapped_column(ForeignKey("countries.code"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(10))


class Evidence(Base):
    """One observation from OONI, Censored Planet, IODA or the team's probes."""

    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("source", "source_ref"),
        CheckConstraint(_in("source", SOURCES), name="source"),
        CheckConstraint(
            "(measurements IS NULL AND anomalous_measurements IS NULL) OR "
            "(measurements >= 1 AND anomalous_measurements >= 0 "
            "AND anomalous_measurements <= measurements)",
            name="measurements",
        ),
        Index("ix_evidence_country_day", "country", "day"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    source_ref: Mapped[str] = mapped_column(String(200))
    source_url: Mapped[str | None] = mapped_column(Text)
    observed_at: Mapped[dt.datetime]
    day: Mapped[dt.date] = mapped_column(Date)
    """UTC date of ``observed_at``, stored for the country-day index."""
    country: Mapped[str] = mapped_column(ForeignKey("countries.code"))
    asn: Mapped[str | None] = mapped_column(String(20))
    signal_type: Mapped[str | None] = mapped_column(String(40))
    signal_value: Mapped[float | None] = mapped_column(Float)
    signal_baseline: Mapped[float | None] = mapped_column(Float)
    signal_level: Mapped[str | None] = mapped_column(String(20))
    domain: Mapped[str | None] = mapped_column(String(255))
    blocking_method: Mapped[str | None] = mapped_column(String(40))
    confidence: Mapped[float | None] = mapped_column(Float)
    anomalous: Mapped[bool] = mapped_column(Boolean)
    measurements: Mapped[int | None] = mapped_column(Integer)
    """Measurements this row stands for (an OONI aggregate row); NULL for one observation."""
    anomalous_measurements: Mapped[int | None] = mapped_column(Integer)
    """Anomalous measurements among ``measurements``; NULL for one observation."""


class Incident(Base):
    """A citable incident; censorship and mixed incidents make covered days positive."""

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(_in("incident_type", INCIDENT_TYPES), name="incident_type"),
        CheckConstraint("last_seen >= first_seen", name="span"),
        Index("ix_incidents_country_first_seen", "country", "first_seen"),
        UniqueConstraint("import_key"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    country: Mapped[str] = mapped_column(ForeignKey("countries.code"))
    first_seen: Mapped[dt.date] = mapped_column(Date)
    last_seen: Mapped[dt.date] = mapped_column(Date)
    incident_type: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(40))
    citation_url: Mapped[str | None] = mapped_column(Text)
    open_ended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Imported without an end ("Ongoing"); ``last_seen`` was set by the documented rule."""
    import_key: Mapped[str | None] = mapped_column(String(64))
    """Hash of (country, start, type, source, link) for imported incidents: re-imports match it."""


class ProbeMetric(Base):
    """The team's probe network summary for one country-day."""

    __tablename__ = "probe_metrics"

    country: Mapped[str] = mapped_column(ForeignKey("countries.code"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    node_count: Mapped[int] = mapped_column(Integer)
    block_rate: Mapped[float] = mapped_column(Float)
    avg_confidence: Mapped[float] = mapped_column(Float)
    agreement: Mapped[float] = mapped_column(Float)


class Sample(Base):
    """One country-day with evidence, its 16 features and its incident-derived label.

    Days with at least ``min_evidence`` rows are the production *samples* (they train with their
    incident label); days with fewer, down to ``queue.min_candidate_evidence``, are *candidate
    days* (``candidate_only``): the queue offers them, and they train only once a human labels
    them. One table keeps one id space, so labels and queue items attach to either kind.
    """

    __tablename__ = "samples"
    __table_args__ = (
        UniqueConstraint("country", "day"),
        Index("ix_samples_candidate_only_country", "candidate_only", "country"),
        CheckConstraint("incident_label IN (0, 1)", name="incident_label"),
        CheckConstraint(_in("origin", ("evidence", "import")), name="origin"),
        CheckConstraint("given_label IN (0, 1)", name="given_label"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    country: Mapped[str] = mapped_column(ForeignKey("countries.code"))
    day: Mapped[dt.date] = mapped_column(Date)
    evidence_count: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    """Hash of the evidence rows behind the sample; labels record the one the analyst saw."""
    incident_label: Mapped[int] = mapped_column(SmallInteger)
    built_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    origin: Mapped[str] = mapped_column(String(10), default="evidence", server_default="evidence")
    """``evidence``: built from evidence rows; ``import``: a team's own feature row (kept as is)."""
    given_label: Mapped[int | None] = mapped_column(SmallInteger)
    """The label column of an imported feature row; NULL means "derive it from incidents"."""
    candidate_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Below the sample rule: queued as a candidate, trains only with a human label."""
    anomaly_rate: Mapped[float] = mapped_column(Float)
    measurement_count: Mapped[float] = mapped_column(Float)
    spike_magnitude: Mapped[float] = mapped_column(Float)
    day_of_week: Mapped[float] = mapped_column(Float)
    month: Mapped[float] = mapped_column(Float)
    is_weekend: Mapped[float] = mapped_column(Float)
    rate_count_interaction: Mapped[float] = mapped_column(Float)
    probe_block_rate: Mapped[float] = mapped_column(Float)
    probe_node_count: Mapped[float] = mapped_column(Float)
    probe_avg_confidence: Mapped[float] = mapped_column(Float)
    probe_agreement: Mapped[float] = mapped_column(Float)
    rate_spike_interaction: Mapped[float] = mapped_column(Float)
    high_evidence: Mapped[float] = mapped_column(Float)
    neighbor_block_rate_7d: Mapped[float] = mapped_column(Float)
    neighbor_incident_count_7d: Mapped[float] = mapped_column(Float)
    neighbor_max_anomaly_7d: Mapped[float] = mapped_column(Float)


assert all(hasattr(Sample, f) for f in FEATURES), "Sample must carry every production feature"


class LabelBatch(Base):
    """A labelling session: one analyst working through one queue batch."""

    __tablename__ = "label_batches"
    __table_args__ = (
        CheckConstraint(_in("status", ("open", "closed", "reverted")), name="status"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    analyst: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]
    countries: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    strategy: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="open")
    reverted_at: Mapped[dt.datetime | None]
    revert_reason: Mapped[str | None] = mapped_column(Text)


class Label(Base):
    """Append-only log of human decisions; the effective label is derived, never stored.

    ``event`` is ``decision`` (an analyst's verdict), ``adjudication`` (a lead settles a
    disagreement) or ``retraction`` (undo of the decision in ``retracts_id``).
    """

    __tablename__ = "labels"
    __table_args__ = (
        CheckConstraint(_in("verdict", VERDICTS), name="verdict"),
        CheckConstraint(_in("event", ("decision", "adjudication", "retraction")), name="event"),
        Index("ix_labels_sample_id_created_at", "sample_id", "created_at"),
        Index("ix_labels_batch_id", "batch_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id"))
    verdict: Mapped[str] = mapped_column(String(10))
    event: Mapped[str] = mapped_column(String(12), default="decision")
    analyst: Mapped[str] = mapped_column(String(80))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("label_batches.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    citation_url: Mapped[str | None] = mapped_column(Text)
    evidence_fingerprint: Mapped[str] = mapped_column(String(64))
    """Fingerprint of the sample's evidence the analyst saw when deciding."""
    seconds_spent: Mapped[float | None] = mapped_column(Float)
    retracts_id: Mapped[int | None] = mapped_column(ForeignKey("labels.id"))


class ModelRun(Base):
    """A registry entry: one trained bundle in ``models/`` and its metrics."""

    __tablename__ = "model_runs"
    __table_args__ = (
        UniqueConstraint("alias"),
        CheckConstraint(
            "alias IS NULL OR " + _in("alias", ("production", "candidate")), name="alias"
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    pipeline: Mapped[str] = mapped_column(String(20))
    engine: Mapped[str] = mapped_column(String(20))
    metrics: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    bundle_path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    alias: Mapped[str | None] = mapped_column(String(20))
    gates_passed: Mapped[bool | None] = mapped_column(Boolean)
    label_batches: Mapped[list[int]] = mapped_column(PortableJSON, default=list)
    data_fingerprint: Mapped[str | None] = mapped_column(String(64))


class ModelEvent(Base):
    """Audit log of alias moves (promote, rollback, forced promotions with their reason)."""

    __tablename__ = "model_events"
    __table_args__ = (
        CheckConstraint(_in("action", ("promote", "rollback", "candidate")), name="action"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(12))
    run_id: Mapped[str] = mapped_column(ForeignKey("model_runs.id"))
    previous_run_id: Mapped[str | None] = mapped_column(ForeignKey("model_runs.id"))
    actor: Mapped[str] = mapped_column(String(80))
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)


class QueueBuild(Base):
    """One run of `labelbench queue build` (or the app's own build): the strategy and its scope."""

    __tablename__ = "queue_builds"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))
    strategy: Mapped[str] = mapped_column(String(40))
    countries: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    size: Mapped[int] = mapped_column(Integer)
    model_run_id: Mapped[str | None] = mapped_column(ForeignKey("model_runs.id"))
    """The model whose predictions ranked the items (None: evidence heuristics, no model yet)."""
    params: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)


class QueueItem(Base):
    """A country-day waiting for (or claimed by, or done by) an analyst, with why it was picked.

    ``purpose`` is ``primary`` or ``second_opinion`` (a deliberate second label for agreement,
    served only to an analyst other than ``exclude_analyst``). A claim is a lease: an item whose
    ``lease_expires_at`` has passed is free again.
    """

    __tablename__ = "queue_items"
    __table_args__ = (
        UniqueConstraint("build_id", "sample_id", "purpose"),
        CheckConstraint(
            _in("status", ("waiting", "pending", "claimed", "done", "withdrawn")), name="status"
        ),
        CheckConstraint(_in("purpose", ("primary", "second_opinion")), name="purpose"),
        Index("ix_queue_items_status_country_rank", "status", "country", "rank"),
        Index("ix_queue_items_claimed_by", "claimed_by"),
        Index("ix_queue_items_sample_id", "sample_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("queue_builds.id"))
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id"))
    country: Mapped[str] = mapped_column(String(2))
    purpose: Mapped[str] = mapped_column(String(16), default="primary")
    strategy: Mapped[str] = mapped_column(String(40))
    scorer: Mapped[str | None] = mapped_column(String(40))
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    country_quota: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    expected_p: Mapped[float | None] = mapped_column(Float)
    """The model's probability when queued: the yield the model expected (weekly report)."""
    status: Mapped[str] = mapped_column(String(10), default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[dt.datetime | None]
    exclude_analyst: Mapped[str | None] = mapped_column(String(80))
    label_id: Mapped[int | None] = mapped_column(ForeignKey("labels.id"))
    done_at: Mapped[dt.datetime | None]


class CountryOverride(Base):
    """A team's own regime cluster or neighbour set for a country (``import countries``).

    Kept apart from :class:`Country` so that re-syncing the ISO reference data never loses it:
    :func:`labelbench.services.reference.sync_countries` applies overrides last.
    """

    __tablename__ = "country_overrides"

    country: Mapped[str] = mapped_column(ForeignKey("countries.code"), primary_key=True)
    cluster_set: Mapped[bool] = mapped_column(Boolean, default=False)
    """True when the override decides the cluster (``cluster`` NULL then means "no cluster")."""
    cluster: Mapped[str | None] = mapped_column(String(60))
    neighbours: Mapped[list[str] | None] = mapped_column(PortableJSON)
    """The country's whole neighbour set; NULL keeps the ISO-derived one."""
    source: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ImportRun(Base):
    """One successful ``labelbench import``: what file, by whom, and what it changed."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    counts: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    """rows, inserted, updated, unchanged, duplicates, rejected and the feature-build summary."""
    options: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
