"""Small, hand-shaped worlds for tests (the full demo world is too big for a fast suite)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

TINY_COUNTRIES = ("OM", "KW", "AE", "SA", "IR", "RU", "KZ", "DE")
START = dt.date(2026, 6, 1)


def tiny_world(seed: int = 7, days: int = 60) -> dict[str, pd.DataFrame]:
    """8 countries x 60 days; censorship episodes raise anomaly shares; a few incidents each.

    Deterministic for a seed. Each country-day gets 0-12 evidence rows, so some days fall under
    the 5-row sample threshold.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    incidents: list[dict[str, Any]] = []
    truth: list[dict[str, Any]] = []
    ref = 0
    for ci, country in enumerate(TINY_COUNTRIES):
        episode_days: set[int] = set()
        for k in range(3):
            start = int(rng.integers(0, days - 5))
            length = int(rng.integers(2, 5))
            episode_days.update(range(start, start + length))
            if k < 2 or ci % 2 == 0:  # not every episode has an incident
                incidents.append(
                    {
                        "country": country,
                        "first_seen": START + dt.timedelta(days=start),
                        "last_seen": START + dt.timedelta(days=start + length - 1),
                        "incident_type": "censorship" if k != 1 else "mixed",
                        "source": "ooni",
                        "citation_url": f"https://example.org/{country}/{k}",
                    }
                )
        dstart = int(rng.integers(0, days - 3))
        incidents.append(
            {
                "country": country,
                "first_seen": START + dt.timedelta(days=dstart),
                "last_seen": START + dt.timedelta(days=dstart + 1),
                "incident_type": "disruption",
                "source": "ioda",
                "citation_url": None,
            }
        )
        for d in range(days):
            day = START + dt.timedelta(days=d)
            censored = d in episode_days
            truth.append({"country": country, "day": day, "is_censorship": censored})
            n = int(rng.integers(0, 13))
            p_anom = 0.7 if censored else 0.12
            for _ in range(n):
                ref += 1
                source = ("ooni", "censoredplanet", "ioda")[int(rng.integers(0, 3))]
                rows.append(
                    {
                        "source": source,
                        "kind": "web_connectivity" if source == "ooni" else "hyperquack",
                        "source_ref": f"{source}-{ref:06d}",
                        "source_url": f"https://example.org/{source}/{ref}",
                        "observed_at": pd.Timestamp(day, tz="UTC")
                        + pd.Timedelta(minutes=int(rng.integers(0, 1440))),
                        "country": country,
                        "asn": f"AS{1000 + ci}",
                        "signal_type": "http",
                        "signal_value": float(rng.random()),
                        "signal_baseline": 0.5,
                        "signal_level": "high" if censored else "low",
                        "domain": "example.com",
                        "blocking_method": "dns" if censored else None,
                        "confidence": float(rng.random()),
                        "anomalous": bool(rng.random() < p_anom),
                    }
                )
    evidence = pd.DataFrame(rows)
    evidence["observed_at"] = pd.to_datetime(evidence["observed_at"], utc=True)
    probes = pd.DataFrame(
        [
            {
                "country": "OM",
                "day": START + dt.timedelta(days=10),
                "node_count": 3,
                "block_rate": 0.5,
                "avg_confidence": 0.8,
                "agreement": 1.0,
            }
        ]
    )
    return {
        "evidence": evidence,
        "incidents": pd.DataFrame(incidents),
        "probe_metrics": probes,
        "truth": pd.DataFrame(truth),
    }


def load_world(ws: Any, world: dict[str, pd.DataFrame]) -> None:
    """Insert a world's evidence, incidents and probe metrics through the db layer."""
    from labelbench.db import queries
    from labelbench.db.models import Evidence, Incident, ProbeMetric

    with ws.transaction() as session:
        evidence = world["evidence"].copy()
        evidence["day"] = evidence["observed_at"].dt.date
        queries.insert_frame(session, Evidence.__table__, evidence)
        queries.insert_frame(session, Incident.__table__, world["incidents"])
        queries.insert_frame(session, ProbeMetric.__table__, world["probe_metrics"])


def label_first_days(
    ws: Any, country: str, k: int, verdict: str = "positive", analyst: str = "ana"
) -> int:
    """One analyst's batch: ``verdict`` on the first ``k`` incident-negative days of ``country``
    (through the labelling service, as the app records them); returns the batch id."""
    from sqlalchemy import select

    from labelbench.db.models import Sample
    from labelbench.services.labelling import LabellingService

    svc = LabellingService(ws, analyst, countries=[country])
    svc.start(build_if_empty=False)
    with ws.transaction() as session:
        rows = session.execute(
            select(Sample.id, Sample.fingerprint)
            .where(Sample.country == country, Sample.incident_label == 0)
            .order_by(Sample.day)
            .limit(k)
        ).all()
    for sid, fp in rows:
        svc.decide(sid, verdict, fingerprint_seen=fp)
    svc.close()
    assert svc.batch_id is not None
    return svc.batch_id
