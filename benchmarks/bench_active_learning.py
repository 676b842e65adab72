"""Acceptance benchmark of the active-learning queue (issue #4): does hybrid beat random?

Replays labelling on the demo world with the hidden truth as the oracle (`labelbench simulate`
defaults: 5 rounds of 50 labels, 5 seeds, the 16 watch-list countries) and prints, per strategy,
new true positives per 100 labels and the lift of the targets' mean LOCO F1 per 100 labels, with
95% intervals across seeds, beside what random sampling expects and what a perfect oracle could
reach in the same number of labels.

    python benchmarks/bench_active_learning.py [--rounds 5 --batch-size 50 --seeds 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from labelbench.config import Settings
from labelbench.services.demo import create_demo
from labelbench.services.simulate import run_simulation
from labelbench.services.workspace import open_workspace

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--strategies", default="hybrid,random")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        database_url=f"sqlite:///{RESULTS / 'bench-al.db'}", models_dir=RESULTS / "models"
    )
    create_demo(settings)
    ws = open_workspace(settings)
    started = time.perf_counter()
    run = run_simulation(
        ws,
        strategies=args.strategies.split(","),
        rounds=args.rounds,
        batch_size=args.batch_size,
        seeds=args.seeds,
        out_dir=RESULTS / "simulation",
    )
    elapsed = time.perf_counter() - started
    data = run.to_dict()
    (RESULTS / "bench_active_learning.json").write_text(json.dumps(data, indent=2))
    print(f"oracle: {data['mode']}; targets: {', '.join(data['targets'])}")
    print(
        f"pool: {data['pool_size']} days, {data['pool_hidden_positives']} hidden positives; "
        f"{args.rounds} rounds x {args.batch_size} labels x {args.seeds} seeds in {elapsed:.0f}s"
    )
    strategies = data["strategies"]
    for name, s in strategies.items():
        lo, hi = s["positives_per_100_ci"]
        glo, ghi = s["f1_gain_per_100_labels_ci"]
        print(
            f"{name:10} positives/100 labels {s['positives_per_100']:6.1f} [{lo}, {hi}]  "
            f"target F1 {s['target_loco_f1_start']:.3f} -> {s['target_loco_f1_end']:.3f}  "
            f"gain/100 labels {s['f1_gain_per_100_labels']:+.4f} [{glo}, {ghi}]"
        )
    if "random" in strategies and len(strategies) > 1:
        base = strategies["random"]
        for name, s in strategies.items():
            if name == "random":
                continue
            ratio = s["positives_per_100"] / base["positives_per_100"]
            print(
                f"{name} / random: {ratio:.2f}x positives per label (goal 3x); "
                f"random expectation {s['random_expectation_per_100']:.1f}, "
                f"perfect-oracle ceiling {s['ceiling_per_100']:.1f} per 100 labels "
                f"(max possible {s['ceiling_per_100'] / s['random_expectation_per_100']:.2f}x)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
