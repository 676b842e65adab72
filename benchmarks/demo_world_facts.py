"""The demo world's published facts and premise, per world seed (no database, a few seconds each).

Per seed: evidence rows, incidents, candidate days, samples (>= 5 rows), their positive share,
KW's samples; per watch-list country: candidate days (pool), samples, incident positives, hidden
positives (true censorship days no incident marks), how many of those are busy days, and the
hidden share of the pool.

    python benchmarks/demo_world_facts.py [SEED ...]
"""

from __future__ import annotations

import sys

import pandas as pd

from labelbench.domain.constants import WATCH_LIST
from labelbench.domain.countries import default_neighbours
from labelbench.ml.features import build_samples
from labelbench.synth.demo import generate_demo_world


def main() -> int:
    seeds = [int(a) for a in sys.argv[1:]] or [0, 1, 2, 3, 4]
    neighbours = default_neighbours()
    for seed in seeds:
        w = generate_demo_world(seed)
        c = build_samples(w.evidence, w.incidents, w.probe_metrics, neighbours, min_evidence=1)
        c = c.merge(w.truth[["country", "day", "is_censorship"]], on=["country", "day"])
        s = c[c["evidence_count"] >= 5]
        print(
            f"seed {seed}: evidence {len(w.evidence):,}, incidents {len(w.incidents):,}, "
            f"candidate days {len(c):,}, samples {len(s):,} ({s['incident_label'].mean():.1%} "
            f"positive, {s['country'].nunique()} countries), KW samples "
            f"{int((s['country'] == 'KW').sum())}"
        )
        rows = []
        for code in WATCH_LIST:
            pool = c[c["country"] == code]
            hidden = pool[pool["is_censorship"] & (pool["incident_label"] == 0)]
            busy = pool[pool["evidence_count"] >= 5]
            rows.append(
                {
                    "country": code,
                    "pool": len(pool),
                    "samples": len(busy),
                    "incident+": int(busy["incident_label"].sum()),
                    "hidden": len(hidden),
                    "hidden busy": int((hidden["evidence_count"] >= 5).sum()),
                    "hidden %": round(100 * len(hidden) / len(pool), 1),
                }
            )
        print(pd.DataFrame(rows).set_index("country").T.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
