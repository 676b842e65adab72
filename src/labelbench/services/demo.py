"""`labelbench demo`: a deterministic synthetic evidence database that looks like production.

The generator only makes evidence, incidents and probe metrics (plus the hidden truth, kept in
its own table for the simulation oracle); samples and features come from the real feature builder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from labelbench.config import Settings
from labelbench.db import migrate, queries
from labelbench.db.engine import check_connection, make_engine
from labelbench.db.models import Evidence, Incident, Label, ProbeMetric, Sample
from labelbench.db.statistics import known_tables, refresh_statistics
from labelbench.db.truth import DemoTruth
from labelbench.errors import ConflictError
from labelbench.services.features import build_features
from labelbench.services.reference import sync_countries
from labelbench.services.workspace import Workspace
from labelbench.synth.demo import generate_demo_world

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoReport:
    """What `labelbench demo` did."""

    created: bool
    """False when the database already held evidence and was kept."""
    seed: int
    scale: int
    evidence_rows: int
    incidents: int
    probe_metrics: int
    samples: int
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class DatabaseContents:
    """What a database holds, as far as `demo` must know before it writes or drops anything."""

    migrated: bool
    demo: bool
    """The demo made it (its hidden truth is there)."""
    rows: int
    """Evidence, incidents, samples and labels together."""
    labels: int


def inspect_database(settings: Settings) -> DatabaseContents:
    """Read-only look at the database `demo` would fill or reset."""
    engine = make_engine(settings.database_url)
    check_connection(engine)
    try:
        if migrate.current_revision(engine) is None:
            return DatabaseContents(False, False, 0, 0)
        with Workspace(settings, engine).transaction(readonly=True) as session:
            labels = queries.count(session, Label)
            rows = labels + sum(queries.count(session, t) for t in (Evidence, Incident, Sample))
            return DatabaseContents(True, queries.count(session, DemoTruth) > 0, rows, labels)
    finally:
        engine.dispose()


def create_demo(
    settings: Settings,
    *,
    seed: int = 0,
    scale: int = 1,
    reset: bool = False,
    progress: Progress | None = None,
) -> DemoReport:
    """Migrate, then fill an empty database with the demo world (or rebuild it with ``reset``).

    Refuses (ConflictError) a database holding data the demo did not make: the demo must never
    mix synthetic evidence and hidden truth into a team's data, nor drop it. Confirming a reset
    is the caller's job.
    """
    contents = inspect_database(settings)
    if contents.rows and not contents.demo:
        raise ConflictError(
            f"{settings.safe_database_url} holds data that `labelbench demo` did not make "
            f"({contents.rows:,} rows); the demo only fills an empty database or its own "
            "(point --database-url at another one)"
        )
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    engine = make_engine(settings.database_url)
    check_connection(engine)
    ws = Workspace(settings, engine)
    try:
        if reset and migrate.current_revision(engine) is not None:
            say("dropping the existing schema")
            migrate.downgrade(engine, "base")
        say("migrating the schema")
        migrate.upgrade(engine)
        with ws.transaction() as session:
            existing = queries.count(session, Evidence)
            if existing:
                samples = queries.count_samples(session)
                return DemoReport(
                    False,
                    seed,
                    scale,
                    existing,
                    queries.count(session, Incident),
                    queries.count(session, ProbeMetric),
                    samples,
                    round(time.perf_counter() - started, 2),
                )
        say(f"generating the demo world (seed {seed}, scale {scale})")
        world = generate_demo_world(seed=seed, scale=scale)
        with ws.transaction() as session:
            say("loading countries")
            sync_countries(session, settings)
            evidence = world.evidence.copy()
            evidence["day"] = evidence["observed_at"].dt.date
            say(f"inserting {len(evidence):,} evidence rows")
            n_evidence = queries.insert_frame(
                session, Evidence.__table__, evidence[[*queries.EVIDENCE_COLUMNS[:-2], "day"]]
            )
            cols = ["country", "first_seen", "last_seen", "incident_type", "source", "citation_url"]
            n_incidents = queries.insert_frame(session, Incident.__table__, world.incidents[cols])
            probe_cols = [
                "country",
                "day",
                "node_count",
                "block_rate",
                "avg_confidence",
                "agreement",
            ]
            n_probes = queries.insert_frame(
                session, ProbeMetric.__table__, world.probe_metrics[probe_cols]
            )
            queries.insert_frame(
                session, DemoTruth.__table__, world.truth[["country", "day", "is_censorship"]]
            )
        report = build_features(ws, progress=say)
        say("refreshing planner statistics")
        refresh_statistics(engine, known_tables())
        return DemoReport(
            True,
            seed,
            scale,
            n_evidence,
            n_incidents,
            n_probes,
            report.samples,
            round(time.perf_counter() - started, 2),
        )
    finally:
        engine.dispose()
