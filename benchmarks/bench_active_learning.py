"""Acceptance benchmark of the active-learning queue (issue #13): does the default strategy find
the missing positives?

On the default demo world, for several world seeds (each world its own run; the model's
``random_state`` follows the seed), with the 16 watch-list countries as targets, replays the
queue (`labelbench simulate`'s replay: same pipeline, thresholds, batch planning and stopping
rule as `queue build`) at two budgets, and prints per arm the new true positives per 100 labels
(mean over worlds, 95% t-interval), its ratio to pool-uniform random, its share of the oracle's
positives per 100 labels, and the lift of the targets' mean leave-target-group-out F1 per 100
labels. Acceptance: default strategy >= 3x random, >= 50% of the oracle, more F1 lift per label
than random, at both budgets.

    python benchmarks/bench_active_learning.py [--world-seeds 0 1 2 3 4] [--budgets 100 250]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from labelbench.config import Settings
from labelbench.db import migrate
from labelbench.db.engine import make_engine
from labelbench.services.simulate import run_simulation
from labelbench.services.workspace import open_workspace

RESULTS = Path(__file__).resolve().parent / "results"


def _ci(pair: list[float | None], digits: int = 1) -> str:
    lo, hi = pair
    return "-" if lo is None or hi is None else f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--world-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 250])
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--strategy", default="hybrid")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        database_url=f"sqlite:///{RESULTS / 'bench-al.db'}", models_dir=RESULTS / "models"
    )
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)  # reference tables only: the worlds are built in memory
    engine.dispose()
    ws = open_workspace(settings)
    report: dict[str, object] = {"world_seeds": args.world_seeds}
    ok = True
    for budget in args.budgets:
        rounds = max(1, budget // args.batch_size)
        started = time.perf_counter()
        run = run_simulation(
            ws,
            strategies=[args.strategy, "random"],
            rounds=rounds,
            batch_size=args.batch_size,
            world_seeds=args.world_seeds,
            jobs=args.jobs,
            out_dir=RESULTS / f"simulation-{budget}",
        )
        elapsed = time.perf_counter() - started
        data = run.to_dict()
        report[str(budget)] = data
        strategies = data["strategies"]
        print(
            f"\nbudget {rounds * args.batch_size} labels ({rounds} x {args.batch_size}), "
            f"{len(data['targets'])} targets, worlds {args.world_seeds}: "
            f"pool {data['pool_size']:.0f} days, {data['pool_hidden_positives']:.0f} new "
            f"positives to find (mean per world); {elapsed:.0f}s"
        )
        for name, s in strategies.items():
            vs = (
                f"{s['vs_random']:.1f}x {_ci(s['vs_random_ci'])}"
                if s.get("vs_random") is not None
                else "-"
            )
            gain = s["f1_gain_per_100_labels"]
            print(
                f"  {name:8} new positives/100 labels {s['positives_per_100']:5.1f} "
                f"{_ci(s['positives_per_100_ci'])}  vs random {vs}  share of oracle "
                f"{s['share_of_oracle']:.0%} {_ci(s['share_of_oracle_ci'], 2)}  F1 gain/100 labels "
                + ("-" if gain is None else f"{gain:+.4f} {_ci(s['f1_gain_per_100_labels_ci'], 4)}")
            )
        best, rnd = strategies[args.strategy], strategies["random"]
        checks = {
            ">= 3x random": best["vs_random"] >= 3,
            ">= 50% of oracle": best["share_of_oracle"] >= 0.5,
            "more F1 lift per label than random": best["f1_gain_per_100_labels"]
            > rnd["f1_gain_per_100_labels"],
        }
        for what, passed in checks.items():
            print(f"  {'PASS' if passed else 'FAIL'} {args.strategy} {what}")
            ok &= passed
    (RESULTS / "bench_active_learning.json").write_text(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
