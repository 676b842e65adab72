"""One simulated analyst: the labelling app's service calls in a loop, logged as JSON lines.

Started as a process by `benchmarks/bench_concurrency.py` and by the concurrency test, so several
analysts hit one database exactly as several `labelbench label` apps would: claim the next item,
assemble its view, commit a decision, refresh the progress panel. Each line is written after the
event it reports (a decision only after its commit), so a killed analyst's log never claims more
than the database holds.

    python benchmarks/analyst_worker.py DATABASE_URL ANALYST SECONDS OUT.jsonl \
        [--countries A,B] [--models-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

from labelbench.config import Settings
from labelbench.services.labelling import LabellingService
from labelbench.services.workspace import open_workspace

LOCK_WORDS = ("database is locked", "deadlock", "could not serialize", "lock timeout")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("analyst")
    parser.add_argument("seconds", type=float)
    parser.add_argument("out")
    parser.add_argument("--countries", default="all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models-dir", default="models")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    ws = open_workspace(Settings(database_url=args.database_url, models_dir=args.models_dir))
    svc = LabellingService(ws, args.analyst, countries=args.countries.split(","))
    with open(args.out, "a", buffering=1, encoding="utf-8") as log:  # noqa: PTH123

        def emit(**event: Any) -> None:
            log.write(json.dumps({"analyst": args.analyst, "t": time.time(), **event}) + "\n")

        if _call(emit, lambda: svc.start(build_if_empty=False)) is None:
            return 1
        emit(event="ready")
        deadline = time.monotonic() + args.seconds
        view = _call(emit, svc.next_item)
        while view is not None and time.monotonic() < deadline:
            assert view.item is not None
            emit(event="served", item=view.item.item_id, sample=view.sample_id)
            t0 = time.perf_counter()
            verdict = rng.choice(["positive", "negative", "negative", "unsure"])
            label_id = _call(
                emit,
                lambda v=view, verdict=verdict: svc.decide(
                    v.sample_id, verdict, fingerprint_seen=v.fingerprint, item_id=v.item.item_id
                ),
            )
            if label_id is not None:
                emit(event="decided", item=view.item.item_id, label=label_id, verdict=verdict)
            view = _call(emit, svc.next_item)
            _call(emit, svc.progress)
            emit(event="latency", ms=(time.perf_counter() - t0) * 1000)
        emit(event="finished")
    ws.close()
    return 0


def _call(emit: Any, fn: Any) -> Any:
    """Run one service call; an error is logged (locking errors flagged), never retried here."""
    try:
        return fn()
    except Exception as exc:  # the analyst would see this as an error notification
        text = str(exc).lower()
        emit(event="error", locking=any(w in text for w in LOCK_WORDS), message=str(exc)[:300])
        return None


if __name__ == "__main__":
    raise SystemExit(main())
