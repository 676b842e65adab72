"""Benchmark: labelbench LOCO (exact and fast engines) against a naive serial reference.

The naive reference is what a straightforward script does: for every held-out country, fit the
full stacked pipeline (plain GradientBoostingClassifier, its own inner GroupKFold, every model
refitted) one fold after another. It is timed on ``--naive-folds`` folds (all by default) and
extrapolated to every fold when fewer are timed; the output says so.

Usage::

    python benchmarks/bench_loco.py --scales 1            # demo world
    python benchmarks/bench_loco.py --synthetic --scales 1 --naive-folds 10
    python benchmarks/bench_loco.py --retrain --scales 1 10   # the whole `retrain` command
    python benchmarks/bench_loco.py --retrain --compare-uncached --scales 1

``--retrain`` times what an ML engineer runs: on a fresh demo database (SQLite, temp dir) a
baseline ``retrain``, then one oracle batch (OM's hidden true positives, through the labelling
service: ``label_hidden_positives.py``), then ``retrain --pipeline stacked --engine fast``
with within-country evaluation (candidate and production) and attribution of that batch
(LOCO + within-country + the null). The baseline keeps its fits beside its bundle, as every
retrain does, so production's side of the timed retrain is mostly reused (the output says how
many fits); ``--compare-uncached`` also times the same retrain with that file deleted and checks
that both report the same numbers. Wall and CPU seconds (the process tree, as reaped) and the
load average before and after, since the machine may be shared.

Writes nothing except a JSON copy of the table under benchmarks/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labelbench.domain.constants import DEFAULT_CLUSTERS, FEATURES
from labelbench.ml.estimators import PipelineSpec, make_model
from labelbench.ml.evaluation import loco_evaluate

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def load_demo_samples(scale: int) -> tuple[pd.DataFrame, pd.Series]:
    """Samples and labels of the demo world (features built exactly as for production)."""
    from labelbench.domain.countries import default_neighbours
    from labelbench.ml.features import build_samples
    from labelbench.synth.demo import generate_demo_world

    world = generate_demo_world(seed=0, scale=scale)
    samples = build_samples(
        world.evidence, world.incidents, world.probe_metrics, default_neighbours(), min_evidence=5
    )
    samples = samples.reset_index(drop=True)
    return samples, samples["incident_label"].astype(float)


def synthetic_samples(scale: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Stand-in shaped like the demo world: ~4,200 x scale rows, 130 heavy-tailed countries."""
    from sklearn.datasets import make_classification

    rng = np.random.default_rng(seed)
    members = sorted({c for cs in DEFAULT_CLUSTERS.values() for c in cs})
    codes = members + [f"Q{i:02d}" for i in range(130 - len(members))]
    sizes = rng.lognormal(mean=0.0, sigma=0.9, size=len(codes))
    sizes = np.maximum(3, np.round(sizes / sizes.sum() * 4200 * scale)).astype(int)
    n = int(sizes.sum())
    X, y = make_classification(
        n_samples=n, n_features=16, n_informative=6, weights=[0.74], flip_y=0.05, random_state=seed
    )
    country = np.repeat(codes, sizes)
    shift = rng.normal(0, 0.5, size=(len(codes), 16))
    X = X + np.repeat(shift, sizes, axis=0)
    frame = pd.DataFrame(X, columns=list(FEATURES))
    frame.insert(0, "country", country)
    return frame, pd.Series(y.astype(float))


def naive_reference(
    X: pd.DataFrame, y: pd.Series, max_folds: int | None
) -> tuple[float, float, int, int, float]:
    """Serial stacked LOCO, exact engine, all refit: (wall s, CPU s, timed, total, median F1)."""
    from sklearn.metrics import f1_score

    spec = PipelineSpec(pipeline="stacked", engine="exact")
    countries = X["country"].to_numpy()
    yv = y.to_numpy()
    held = [
        c for c in sorted(set(countries)) if 0 < yv[countries == c].sum() < (countries == c).sum()
    ]
    timed = (
        held if max_folds is None else list(np.random.default_rng(0).permutation(held)[:max_folds])
    )
    f1s = []
    start = time.perf_counter()
    cpu = time.process_time()
    for c in timed:
        test = countries == c
        model = make_model(spec).fit(X[~test], yv[~test].astype(int))
        f1s.append(f1_score(yv[test], model.predict_proba(X[test])[:, 1] >= 0.5, zero_division=0))
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    return seconds, cpu, len(timed), len(held), float(np.median(f1s))


def table_cells(r: dict[str, Any], suffix: str = "_s") -> list[str]:
    """One markdown table row of the results (wall seconds, or CPU with ``suffix="_cpu_s"``)."""

    def num(key: str, fmt: str = "{:.1f}") -> str:
        return fmt.format(r[key]) if key in r else "-"

    def ratio(engine: str) -> str:
        if f"naive{suffix}" in r and f"{engine}{suffix}" in r:
            return f"{r[f'naive{suffix}'] / r[f'{engine}{suffix}']:.1f}x"
        return "-"

    naive = num(f"naive{suffix}") + ("*" if r.get("naive_extrapolated") else "")
    return [
        str(r["scale"]),
        str(r["samples"]),
        naive,
        num(f"exact{suffix}"),
        num(f"fast{suffix}"),
        ratio("exact"),
        ratio("fast"),
        num("naive_median_f1_timed", "{:.4f}"),
        num("exact_median_f1", "{:.4f}"),
        num("fast_median_f1", "{:.4f}"),
    ]


def _run(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds (this process's reaped children) of one command, and its stdout."""
    import resource
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


#: Keys of ``retrain --json`` that name or describe the run rather than measure the models.
RUN_KEYS = ("run_id", "bundle_dir", "kept_fits", "promotion_reason", "promoted")


def _numbers(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in RUN_KEYS}


def bench_retrain(scale: int, compare_uncached: bool = False) -> dict[str, Any]:
    """Baseline retrain, one OM oracle batch, then the timed stacked/fast retrain.

    The baseline keeps its fits beside its bundle (``folds.npz``) as every retrain does, so the
    timed retrain re-evaluates production mostly from them. ``compare_uncached`` also times the
    same retrain from a copy of the same state with that file deleted, and checks that both
    report the same numbers.
    """
    import shutil
    import sys
    import tempfile

    bin_dir = Path(sys.executable).parent
    cli = str(bin_dir / "labelbench")
    fast = ["retrain", "--pipeline", "stacked", "--engine", "fast", "--json"]
    with tempfile.TemporaryDirectory(prefix="bench_retrain_") as tmp:
        work = Path(tmp) / "kept"
        work.mkdir()
        url = f"sqlite:///{work / 'x.db'}"
        base = [cli, "--database-url", url]
        _run([*base, "demo", "--scale", str(scale)], work)
        b_wall, b_cpu, _ = _run([*base, *fast, "--batches", "0"], work)
        script = str(Path(__file__).resolve().parent / "label_hidden_positives.py")
        _, _, labelled = _run(
            [sys.executable, script, "--database-url", url, "--country", "OM"], work
        )
        bare = Path(tmp) / "bare"
        if compare_uncached:
            shutil.copytree(work, bare)
        load_before = os.getloadavg()
        wall, cpu, out = _run([*base, *fast, "--batches", "1"], work)
        load_after = os.getloadavg()
        uncached: dict[str, Any] = {}
        if compare_uncached:
            for kept in (bare / "models").glob("*/folds.npz"):
                kept.unlink()
            bare_url = f"sqlite:///{bare / 'x.db'}"
            u_load = os.getloadavg()
            u_wall, u_cpu, u_out = _run(
                [cli, "--database-url", bare_url, *fast, "--batches", "1"], bare
            )
            u_data = json.loads(u_out)
            uncached = {
                "wall_s": u_wall,
                "cpu_s": u_cpu,
                "load_before": u_load,
                "kept_fits": u_data.get("kept_fits"),
                "same_numbers": _numbers(u_data) == _numbers(json.loads(out)),
            }
    data = json.loads(out)
    om = (data["batches"][0]["own_countries"] if data["batches"] else {}).get("OM", {})
    row = {
        "scale": scale,
        "baseline_wall_s": b_wall,
        "baseline_cpu_s": b_cpu,
        "retrain_wall_s": wall,
        "retrain_cpu_s": cpu,
        "load_before": load_before,
        "load_after": load_after,
        "kept_fits": data.get("kept_fits"),
        "labelled": labelled.strip(),
        "om": om,
        "transfer": data["batches"][0]["transfer"] if data["batches"] else None,
        "without_kept_fits": uncached or None,
    }
    kept = data.get("kept_fits") or {}
    print(
        f"scale {scale}: baseline retrain {b_wall:.1f}s wall / {b_cpu:.1f}s CPU; "
        f"{labelled.strip()}; retrain with within-country + attribution of that batch "
        f"{wall:.1f}s wall / {cpu:.1f}s CPU "
        f"(load avg {load_before[0]:.1f} before, {load_after[0]:.1f} after; production's kept "
        f"fits: {kept.get('status')}, {kept.get('reused')} of {kept.get('loaded')} reused)",
        flush=True,
    )
    if uncached:
        print(
            f"  same retrain without kept fits: {uncached['wall_s']:.1f}s wall / "
            f"{uncached['cpu_s']:.1f}s CPU (load avg {uncached['load_before'][0]:.1f} before); "
            f"same numbers: {uncached['same_numbers']}",
            flush=True,
        )
    print(f"  OM own-country effect: {om}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", type=int, nargs="+", default=[1])
    parser.add_argument("--synthetic", action="store_true", help="use the synthetic stand-in data")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--naive-folds",
        type=int,
        default=None,
        help="time the naive reference on this many folds and extrapolate",
    )
    parser.add_argument("--skip-exact", action="store_true")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument(
        "--retrain", action="store_true", help="time the whole `retrain` command instead"
    )
    parser.add_argument(
        "--compare-uncached",
        action="store_true",
        help="with --retrain: also time it without production's kept fits, and compare numbers",
    )
    args = parser.parse_args()
    if args.retrain:
        rows_r = [bench_retrain(scale, args.compare_uncached) for scale in args.scales]
        RESULTS_DIR.mkdir(exist_ok=True)
        out = RESULTS_DIR / f"bench_retrain_{time.strftime('%Y%m%d_%H%M%S')}.json"
        out.write_text(json.dumps({"cpus": os.cpu_count(), "rows": rows_r}, indent=2))
        print(f"\nwrote {out}")
        return

    rows = []
    for scale in args.scales:
        t0 = time.perf_counter()
        X, y = synthetic_samples(scale) if args.synthetic else load_demo_samples(scale)
        load_s = time.perf_counter() - t0
        n_c = X["country"].nunique()
        print(
            f"scale {scale}: {len(X)} samples, {int(y.sum())} positive, {n_c} countries "
            f"({'synthetic' if args.synthetic else 'demo world'}, loaded in {load_s:.1f}s)",
            flush=True,
        )
        row: dict[str, Any] = {"scale": scale, "samples": len(X), "countries": n_c}
        for engine in ("fast", "exact"):
            if engine == "exact" and args.skip_exact:
                continue
            spec = PipelineSpec(pipeline="stacked", engine=engine)
            res = loco_evaluate(spec, X, y, y, n_jobs=args.n_jobs, n_boot=args.n_boot)
            row[f"{engine}_s"] = res.elapsed_seconds
            row[f"{engine}_cpu_s"] = res.cpu_seconds
            row[f"{engine}_median_f1"] = res.loco_median_f1
            row[f"{engine}_mean_f1"] = res.loco_mean_f1
            row[f"{engine}_strat_auc"] = res.stratified_auc
            print(
                f"  labelbench {engine:5s}: {res.elapsed_seconds:8.1f}s wall, "
                f"{res.cpu_seconds:7.1f}s CPU  LOCO median F1 "
                f"{res.loco_median_f1:.4f}  mean {res.loco_mean_f1:.4f}  "
                f"strat F1 {res.stratified_f1:.4f} AUC {res.stratified_auc:.4f}  "
                f"({res.loco_countries} countries)",
                flush=True,
            )
        if not args.skip_naive:
            secs, cpu, timed, total, med = naive_reference(X, y, args.naive_folds)
            est = secs * total / timed
            row["naive_cpu_s"] = cpu * total / timed
            row.update(
                naive_s=est,
                naive_timed_folds=timed,
                naive_total_folds=total,
                naive_median_f1_timed=med,
                naive_extrapolated=timed < total,
            )
            note = (
                f"measured {secs:.1f}s on {timed}/{total} folds, extrapolated"
                if timed < total
                else "measured"
            )
            print(
                f"  naive serial   : {est:8.1f}s wall, {row['naive_cpu_s']:7.1f}s CPU  "
                f"({note}; median F1 over timed folds {med:.4f})",
                flush=True,
            )
        rows.append(row)

    header = "scale | samples | naive s | exact s | fast s | naive/exact | naive/fast"
    print(f"\n| {header} | median F1 naive | median F1 exact | median F1 fast |")
    print("|---" * 10 + "|")
    for r in rows:
        print("| " + " | ".join(table_cells(r)) + " |")
    print("\nSame table in CPU seconds (independent of other load on the machine):")
    print(f"| {header} | median F1 naive | median F1 exact | median F1 fast |")
    print("|---" * 10 + "|")
    for r in rows:
        print("| " + " | ".join(table_cells(r, suffix="_cpu_s")) + " |")
    if any(r.get("naive_extrapolated") for r in rows):
        print("* naive time extrapolated from a subset of folds (see above)")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"bench_loco_{time.strftime('%Y%m%d_%H%M%S')}.json"
    meta = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "synthetic": args.synthetic,
    }
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
