"""Oracle batch: label one country's hidden true positives on the demo world, as one batch.

Hidden positives are the country's samples whose demo truth is censorship but that no incident
marks positive. They are labelled "positive" through the labelling service (one analyst session =
one batch), exactly as an analyst would, so the next ``labelbench retrain`` attributes them.

Usage (on a database built by ``labelbench demo``)::

    python benchmarks/label_hidden_positives.py --database-url sqlite:////tmp/x.db --country OM
    labelbench --database-url sqlite:////tmp/x.db retrain --pipeline stacked --engine fast

``--limit`` labels only the first N (by day); ``--random-from-pool N --seed S`` instead labels N
days drawn at random from the country's incident-negative days with oracle verdicts (the null
batch the acceptance test compares against).
"""

from __future__ import annotations

import argparse

import numpy as np
from sqlalchemy import select

from labelbench.config import Settings
from labelbench.db.models import Sample
from labelbench.db.truth import DemoTruth
from labelbench.services.labelling import LabellingService
from labelbench.services.workspace import open_workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--country", default="OM")
    parser.add_argument("--limit", type=int, default=25)
    parser.add_argument("--analyst", default="oracle")
    parser.add_argument("--random-from-pool", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    ws = open_workspace(Settings(database_url=args.database_url))
    with ws.transaction(readonly=True) as session:
        rows = session.execute(
            select(Sample.id, Sample.fingerprint, Sample.day, DemoTruth.is_censorship)
            .join(DemoTruth, (DemoTruth.country == Sample.country) & (DemoTruth.day == Sample.day))
            .where(Sample.country == args.country, Sample.incident_label == 0)
            .order_by(Sample.day)
        ).all()
    if args.random_from_pool:
        rng = np.random.default_rng(args.seed)
        pick = sorted(
            rng.choice(len(rows), size=min(args.random_from_pool, len(rows)), replace=False)
        )
        chosen = [(r.id, r.fingerprint, "positive" if r.is_censorship else "negative") for r in
                  (rows[i] for i in pick)]  # fmt: skip
    else:
        chosen = [(r.id, r.fingerprint, "positive") for r in rows if r.is_censorship][: args.limit]
    svc = LabellingService(ws, args.analyst, countries=[args.country])
    svc.start(build_if_empty=False)
    for sid, fp, verdict in chosen:
        svc.decide(int(sid), verdict, fingerprint_seen=fp)
    svc.close()
    positives = sum(v == "positive" for _, _, v in chosen)
    print(
        f"batch {svc.batch_id}: {len(chosen)} {args.country} labels ({positives} positive) "
        f"out of {len(rows)} incident-negative {args.country} samples"
    )
    ws.close()


if __name__ == "__main__":
    main()
