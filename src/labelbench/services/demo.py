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
from labelbench.db.models import Evidence, Incident, ProbeMetric
from labelbench.db.truth import DemoTruth
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


def create_demo(
    settings: Settings,
    *,
    seed: int = 0,
    scale: int = 1,
    reset: bool = False,
    progress: Progress | None = None,
) -> DemoReport:
    """Migrate, then fill an empty database with the demo world (or rebuild it with ``reset``)."""
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
