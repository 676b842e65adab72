"""How fast does the next item appear in `labelbench label`?

Measures, on a real database, the work the app's workers do between a keypress and the next
item on screen: commit the decision, claim the next item (lease), assemble its full view
(features vs country norms, +/-14-day timeline, evidence rows, neighbours, incidents, labels),
the model's probabilities, and the progress panel's refresh. Reports p50/p95/max over N items.
It starts from realistic state: a production model and a label log of 50,000 events
(`--events`, see `benchmarks/realistic.py`).

    python benchmarks/bench_label.py                       # demo world, SQLite (built if missing)
    python benchmarks/bench_label.py --scale 100 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/lb_bench

Targets: p95 < 50 ms on the demo world with SQLite and at scale 100 on PostgreSQL.
The world is built with `labelbench demo` the first time (scale 100 takes several minutes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from labelbench.config import Settings
from labelbench.services.demo import create_demo
from labelbench.services.labelling import LabellingService
from labelbench.services.queue import build_queue
from labelbench.services.retrain import ensure_baseline
from labelbench.services.workspace import open_workspace

sys.path.insert(0, str(Path(__file__).parent))
from realistic import seed_label_log


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="sqlite:///benchmarks/results/bench-label.db")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--no-model", action="store_true", help="skip training the baseline")
    parser.add_argument("--events", type=int, default=50_000, help="label log length to start from")
    args = parser.parse_args()
    Path("benchmarks/results").mkdir(parents=True, exist_ok=True)
    settings = Settings(
        database_url=args.database_url, models_dir=Path("benchmarks/results/models")
    )
    t0 = time.perf_counter()
    report = create_demo(
        settings, scale=args.scale, progress=lambda m: print(f"  {m}", file=sys.stderr)
    )
    print(
        f"world: {report.samples:,} samples, {report.evidence_rows:,} evidence rows "
        f"({'built' if report.created else 'reused'} in {time.perf_counter() - t0:.1f}s)"
    )
    ws = open_workspace(settings)
    if not args.no_model:
        t0 = time.perf_counter()
        ensure_baseline(ws)
        print(f"baseline model ready in {time.perf_counter() - t0:.1f}s")
    print(f"label log: {seed_label_log(ws, args.events):,} events")
    build_queue(ws, actor="bench", size=args.items + 10)
    svc = LabellingService(ws, "bench-analyst")
    svc.start(build_if_empty=False)
    timings: list[float] = []
    view = svc.next_item()
    verdicts = ("negative", "positive", "unsure", "negative", "skip")
    for i in range(args.items):
        if view is None or view.item is None:
            break
        started = time.perf_counter()
        svc.decide(
            view.sample_id,
            verdicts[i % len(verdicts)],
            fingerprint_seen=view.fingerprint,
            item_id=view.item.item_id,
        )
        view = svc.next_item()
        svc.progress()
        timings.append((time.perf_counter() - started) * 1000)
    svc.close()
    ws.close()
    if not timings:
        print("no items were served", file=sys.stderr)
        return 1
    print(f"{settings.safe_database_url}  scale {args.scale}  items {len(timings)}")
    print(
        f"decide + next item + progress: p50 {statistics.median(timings):.1f} ms  "
        f"p95 {percentile(timings, 95):.1f} ms  max {max(timings):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
