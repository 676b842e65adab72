"""What would make an own-country labelling batch detectable on the demo world?

Labels every hidden true positive (truth censorship, no incident) of the chosen countries, then
compares within-country F1 with vs without those labels, per country and pooled over the
countries, at 0.5 and at the serving thresholds, for the final probability and for each part of
the recipe (base model; cluster head) so one can see which part carries own-country labels into
predictions. Runs on the ML layer directly (no database), same code as ``retrain``.

Usage::

    python benchmarks/own_country_detectability.py --countries OM
    python benchmarks/own_country_detectability.py --countries OM,LY,YE,KW,AM,TN --pipeline base
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from labelbench.ml.comparison import pooled_delta
from labelbench.ml.estimators import PipelineSpec
from labelbench.ml.metrics import binary_scores, paired_bootstrap_delta_ci, week_blocks
from labelbench.ml.within_country import WithinPlan, within_country_evaluate

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    from bench_loco import load_demo_samples

    from labelbench.synth.demo import generate_demo_world

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--countries", default="OM")
    parser.add_argument("--pipeline", default="stacked")
    parser.add_argument("--engine", default="fast")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    countries = args.countries.split(",")

    X, y0 = load_demo_samples(args.scale)
    truth = generate_demo_world(seed=0, scale=args.scale).truth
    key = pd.MultiIndex.from_frame(truth[["country", "day"]].astype(str))
    is_c = pd.Series(truth["is_censorship"].to_numpy(), index=key)
    sample_key = pd.MultiIndex.from_arrays([X["country"].astype(str), X["day"].astype(str)])
    t = is_c.reindex(sample_key).fillna(False).to_numpy(dtype=bool)
    hidden = X["country"].isin(countries).to_numpy() & t & (y0.to_numpy() == 0)
    y1 = y0.copy()
    y1[hidden] = 1.0
    print(f"hidden positives labelled: {int(hidden.sum())} in {', '.join(countries)}")

    spec = PipelineSpec(pipeline=args.pipeline, engine=args.engine)
    plan = WithinPlan(countries=countries)
    cache: dict[str, object] = {}
    kw = {"n_jobs": args.n_jobs, "n_boot": 1000, "cache": cache}
    without = within_country_evaluate(spec, X, y0, y1, plan, **kw)  # type: ignore[arg-type]
    with_ = within_country_evaluate(spec, X, y1, y1, plan, **kw)  # type: ignore[arg-type]
    fa, fb = without.frame(y1), with_.frame(y1)
    for part in ("proba", "proba_base", "proba_cluster"):
        a, b = fa.copy(), fb.copy()
        a["proba"], b["proba"] = a[part].fillna(0.0), b[part].fillna(0.0)
        print(f"\n{part}:")
        for c in countries:
            ra, rb = a[a["country"] == c], b[b["country"] == c]
            if len(rb) == 0:
                print(f"  {c}: not evaluable ({with_.not_evaluable.get(c, '')})")
                continue
            yc = rb["y"].to_numpy()
            cells = []
            for at in ("0.5", "serving"):
                cut_a = 0.5 if at == "0.5" else ra["threshold_oof"].to_numpy()
                cut_b = 0.5 if at == "0.5" else rb["threshold_oof"].to_numpy()
                pa, pb = ra["proba"].to_numpy() >= cut_a, rb["proba"].to_numpy() >= cut_b
                d = binary_scores(yc, pb)[0] - binary_scores(yc, pa)[0]
                lo, hi = paired_bootstrap_delta_ci(
                    yc, pa, pb, n_boot=1000, seed=0, key=c, blocks=week_blocks(rb["day"])
                )
                cells.append(f"at {at}: {d:+.3f} [{lo:+.3f}, {hi:+.3f}]")
            print(f"  {c} (n={len(yc)}, {int(yc.sum())} positives): " + "; ".join(cells))
        if len(countries) > 1:
            for at in ("0.5", "serving"):
                p = pooled_delta(a, b, countries, at=at, n_boot=1000)  # type: ignore[arg-type]
                if p is not None:
                    print(
                        f"  pooled at {at} ({p.n} days, {p.positives} positives): "
                        f"{p.delta:+.3f} [{p.ci_low:+.3f}, {p.ci_high:+.3f}]"
                    )


if __name__ == "__main__":
    main()
