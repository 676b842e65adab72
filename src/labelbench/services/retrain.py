"""`labelbench retrain`: train a candidate on the current labels and judge it honestly.

1. Load every sample with its effective training label (incident labels overridden by human
   decisions; unsure, skip and disputed samples excluded).
2. Evaluate the candidate recipe and the production recipe (trained on the labels production
   was trained on: the label log up to its watermark) leave-one-country-out on the same folds and
   scored on the same current labels, so the difference is what the new labels did.
3. Compare per country with paired bootstrap intervals, apply the promotion gates.
4. Attribute the change to each labelling batch since production (leave-one-batch-out retrains).
5. Fit the candidate on all labels, save bundle + manifest + OOF predictions + Markdown report +
   metrics JSON under ``models/<run_id>/``, record the run, and promote it if the gates pass (the
   very first model is promoted as the baseline).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from threadpoolctl import threadpool_limits

from labelbench.db import queries
from labelbench.db.models import LabelBatch, ModelRun
from labelbench.domain.constants import FEATURES
from labelbench.domain.labels import LabelEvent, standing_decisions
from labelbench.errors import InputError
from labelbench.ml.attribution import median_f1_delta
from labelbench.ml.bundle import load_bundle, save_bundle
from labelbench.ml.estimators import PipelineSpec, make_model
from labelbench.ml.evaluation import Comparison, LocoResult, compare, loco_evaluate
from labelbench.ml.gates import GatePolicy, GateResult, evaluate_gates, gates_passed
from labelbench.ml.parallel import parallel_backend_for
from labelbench.services.labels import training_frame
from labelbench.services.predict import Predictor
from labelbench.services.reference import effective_clusters
from labelbench.services.registry import run_for_alias, set_alias, verify_bundle
from labelbench.services.workspace import Workspace

#: progress(stage, done, total): one Rich bar per stage in the CLI, one bar in the TUI.
StageProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BatchEffect:
    """What one labelling batch did: the retrain without it vs the candidate."""

    batch_id: int
    analyst: str
    labels: int
    countries: list[str]
    delta_loco_median_f1: float
    ci_low: float
    ci_high: float
    country_deltas: dict[str, dict[str, Any]]


@dataclass
class RetrainReport:
    """Everything `retrain` decided, in the shape of its --json interface."""

    run_id: str
    promoted: bool
    promotion_reason: str
    candidate: LocoResult
    production: LocoResult | None
    production_run_id: str | None
    comparison: Comparison
    gates: list[GateResult]
    batches: list[BatchEffect]
    batches_not_attributed: list[int]
    bundle_dir: Path
    label_batches: list[int]
    n_training: int
    n_excluded: int
    watch_list: list[str] = field(default_factory=list)
    high_impact: list[str] = field(default_factory=list)

    @property
    def gates_passed(self) -> bool:
        return gates_passed(self.gates)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "promoted": self.promoted,
            "promotion_reason": self.promotion_reason,
            "gates_passed": self.gates_passed,
            "candidate": _summary(self.candidate),
            "production": None if self.production is None else _summary(self.production),
            "production_run_id": self.production_run_id,
            "deltas": {c: d.to_dict() for c, d in self.comparison.deltas.items()},
            "gates": [g.to_dict() for g in self.gates],
            "batches": [
                {
                    "batch_id": b.batch_id,
                    "analyst": b.analyst,
                    "labels": b.labels,
                    "countries": b.countries,
                    "delta_loco_median_f1": _num(b.delta_loco_median_f1),
                    "ci_low": _num(b.ci_low),
                    "ci_high": _num(b.ci_high),
                    "country_deltas": b.country_deltas,
                }
                for b in self.batches
            ],
            "batches_not_attributed": self.batches_not_attributed,
            "bundle_dir": str(self.bundle_dir),
            "label_batches": self.label_batches,
            "training_samples": self.n_training,
            "excluded_samples": self.n_excluded,
        }


def _num(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 6)


def _summary(result: LocoResult) -> dict[str, Any]:
    return {
        "loco_median_f1": _num(result.loco_median_f1),
        "loco_mean_f1": _num(result.loco_mean_f1),
        "stratified_f1": _num(result.stratified_f1),
        "stratified_auc": _num(result.stratified_auc),
        "loco_countries": result.loco_countries,
        "skipped": dict(result.skipped),
        "per_country": {c: m.to_dict() for c, m in sorted(result.countries.items())},
        "pipeline": result.spec.pipeline,
        "engine": result.spec.engine,
    }


def candidate_spec(ws: Workspace, pipeline: str | None, engine: str | None) -> PipelineSpec:
    t = ws.settings.training
    with ws.transaction(readonly=True) as session:
        clusters = effective_clusters(session, ws.settings)
    return PipelineSpec(
        pipeline=pipeline or t.pipeline,
        engine=engine or t.engine,
        base_params=dict(t.base_params),
        head_params=dict(t.head_params),
        clusters=clusters,
        n_anchors=t.n_anchors,
        random_state=t.random_state,
    )


def _new_run_id(spec: PipelineSpec) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{spec.pipeline}-{secrets.token_hex(3)}"


def _data_fingerprint(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    for sid, fp, label in zip(frame["id"], frame["fingerprint"], frame["label"], strict=True):
        digest.update(f"{sid}:{fp}:{label}\n".encode())
    return digest.hexdigest()


def _policy(ws: Workspace) -> GatePolicy:
    g = ws.settings.gates
    return GatePolicy(
        min_loco_median_f1=g.loco_median_f1,
        watch_list=tuple(ws.settings.watch_list),
        watch_min_improved=g.watchlist_min_improved,
        watch_min_delta=g.watchlist_min_delta,
        max_regression=g.max_regression,
    )


def retrain(
    ws: Workspace,
    *,
    actor: str,
    pipeline: str | None = None,
    engine: str | None = None,
    jobs: int | None = None,
    dask_scheduler: str | None = None,
    promote: bool = True,
    max_attributed_batches: int = 5,
    progress: StageProgress | None = None,
) -> RetrainReport:
    """Train, evaluate against production, gate, attribute, save and (maybe) promote."""
    settings = ws.settings
    say = progress or (lambda _stage, _done, _total: None)
    spec = candidate_spec(ws, pipeline, engine)
    n_jobs = jobs if jobs is not None else settings.training.jobs
    t = settings.training

    with ws.transaction(readonly=True) as session:
        frame = training_frame(session)
        events = queries.label_events(session)
        production_run = run_for_alias(session, "production")
        if production_run is not None:
            session.expunge(production_run)
        batch_rows = {
            b.id: b
            for b in session.scalars(select(LabelBatch).where(LabelBatch.status != "reverted"))
        }
        for b in batch_rows.values():
            session.expunge(b)
    if frame.empty:
        raise InputError("no samples: run `labelbench features build` (or `labelbench demo`)")
    watermark = max((e.id for e in events), default=0)
    included_batches = sorted(
        {e.batch_id for e in events if e.batch_id is not None and e.batch_id in batch_rows}
    )
    X = frame[[*FEATURES, "country"]].set_index(frame["id"].astype(int))
    y = frame["label"].to_numpy(dtype=float)

    def stage(name: str) -> Callable[[int, int], None]:
        return lambda done, total: say(name, done, total)

    with parallel_backend_for(dask_scheduler):
        candidate = loco_evaluate(
            spec, X, y, y, n_jobs=n_jobs, n_boot=t.n_boot, small_n=t.small_n,
            seed=t.random_state, progress=stage("candidate LOCO"),
        )  # fmt: skip
        production: LocoResult | None = None
        production_batches: set[int] = set()
        if production_run is not None:
            verify_bundle(production_run)
            manifest = load_bundle(Path(production_run.bundle_path)).manifest
            prod_spec = PipelineSpec.from_dict(manifest["pipeline_spec"])
            production_batches = set(manifest.get("label_batches", []))
            with ws.transaction(readonly=True) as session:
                prod_frame = training_frame(
                    session, label_watermark=int(manifest.get("label_watermark", 0))
                )
            y_prod = prod_frame.set_index("id").loc[X.index, "label"].to_numpy(dtype=float)
            production = loco_evaluate(
                prod_spec, X, y_prod, y, n_jobs=n_jobs, n_boot=t.n_boot, small_n=t.small_n,
                seed=t.random_state, progress=stage("production LOCO"),
            )  # fmt: skip
        comparison = compare(production, candidate, n_boot=t.n_boot, seed=t.random_state)
        gates = evaluate_gates(comparison, _policy(ws))

        new_batches = [b for b in included_batches if b not in production_batches]
        attributed = new_batches[-max_attributed_batches:] if max_attributed_batches > 0 else []
        not_attributed = [b for b in new_batches if b not in attributed]
        effects: list[BatchEffect] = []
        for k, batch_id in enumerate(attributed, start=1):
            with ws.transaction(readonly=True) as session:
                without = training_frame(session, exclude_batches={batch_id})
            y_without = without["label"].to_numpy(dtype=float)
            result = loco_evaluate(
                spec, X, y_without, y, n_jobs=n_jobs, n_boot=t.n_boot, small_n=t.small_n,
                seed=t.random_state, progress=stage(f"batch {batch_id} ({k}/{len(attributed)})"),
            )  # fmt: skip
            effects.append(_batch_effect(batch_id, batch_rows[batch_id], events, frame, result,
                                         candidate, t.n_boot, t.random_state))  # fmt: skip

    say("final fit", 0, 1)
    train_rows = ~np.isnan(y)
    # One thread: OpenMP start-up costs more than it saves on a few thousand rows, and on a
    # shared 2-core machine spinning OpenMP threads made this fit 5x slower.
    with threadpool_limits(limits=1):
        model = make_model(spec).fit(X[train_rows], y[train_rows].astype(int))
    say("final fit", 1, 1)

    run_id = _new_run_id(spec)
    bundle_dir = Path(settings.models_dir) / run_id
    passed = gates_passed(gates)
    if production_run is None:
        will_promote, reason = promote, "baseline: there was no production model"
    elif passed:
        will_promote, reason = promote, "all promotion gates passed"
    else:
        failed = ", ".join(g.name for g in gates if g.passed is False)
        will_promote, reason = False, f"gates failed: {failed}"
    if not promote:
        reason = "promotion disabled (--no-promote); " + reason
    report = RetrainReport(
        run_id=run_id,
        promoted=will_promote,
        promotion_reason=reason,
        candidate=candidate,
        production=production,
        production_run_id=production_run.id if production_run else None,
        comparison=comparison,
        gates=gates,
        batches=effects,
        batches_not_attributed=not_attributed,
        bundle_dir=bundle_dir,
        label_batches=included_batches,
        n_training=int(train_rows.sum()),
        n_excluded=int((~train_rows).sum()),
        watch_list=list(settings.watch_list),
        high_impact=list(settings.high_impact),
    )
    manifest = {
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "label_batches": included_batches,
        "label_watermark": watermark,
        "data_fingerprint": _data_fingerprint(frame),
        "training_samples": report.n_training,
        "metrics": _summary(candidate),
        "gates": [g.to_dict() for g in gates],
        "gates_passed": passed,
        "production_run_id": report.production_run_id,
    }
    try:
        info = save_bundle(model, manifest, bundle_dir, thresholds=candidate.thresholds)
        oof = candidate.predictions[["proba"]].copy()
        oof.insert(0, "sample_id", oof.index.astype(int))
        oof.to_parquet(bundle_dir / "oof.parquet", index=False)
        from labelbench.reports.retrain import render_markdown

        (bundle_dir / "report.md").write_text(
            render_markdown(report.to_dict(), settings.watch_list, settings.high_impact),
            encoding="utf-8",
        )
        (bundle_dir / "metrics.json").write_text(
            json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
        with ws.transaction() as session:
            session.add(
                ModelRun(
                    id=run_id,
                    pipeline=spec.pipeline,
                    engine=spec.engine,
                    metrics=_summary_light(candidate),
                    bundle_path=str(info.path.resolve()),
                    sha256=info.sha256,
                    gates_passed=passed,
                    label_batches=included_batches,
                    data_fingerprint=manifest["data_fingerprint"],
                )
            )
            session.flush()
            if will_promote:
                set_alias(session, run_id, "production", actor=actor, reason=reason)
            else:
                set_alias(session, run_id, "candidate", actor=actor, reason=reason)
    except BaseException:
        shutil.rmtree(bundle_dir, ignore_errors=True)  # nothing half-written survives
        raise
    return report


def _summary_light(result: LocoResult) -> dict[str, Any]:
    """Headline metrics for the registry table (the full set lives in the manifest)."""
    full = _summary(result)
    return {k: full[k] for k in ("loco_median_f1", "loco_mean_f1", "stratified_f1",
                                 "stratified_auc", "loco_countries")}  # fmt: skip


def _batch_effect(
    batch_id: int,
    batch: LabelBatch,
    events: list[LabelEvent],
    frame: pd.DataFrame,
    without: LocoResult,
    candidate: LocoResult,
    n_boot: int,
    seed: int,
) -> BatchEffect:
    sample_country = dict(zip(frame["id"].astype(int), frame["country"], strict=True))
    mine = [e for e in standing_decisions(events) if e.batch_id == batch_id]
    countries = sorted({sample_country[e.sample_id] for e in mine if e.sample_id in sample_country})
    md = median_f1_delta(candidate, without, n_boot=n_boot, seed=seed)
    per_country = compare(without, candidate, n_boot=n_boot, seed=seed).deltas
    return BatchEffect(
        batch_id=batch_id,
        analyst=batch.analyst,
        labels=len(mine),
        countries=countries,
        delta_loco_median_f1=md.delta,
        ci_low=md.ci_low,
        ci_high=md.ci_high,
        country_deltas={c: per_country[c].to_dict() for c in countries if c in per_country},
    )


def ensure_baseline(
    ws: Workspace,
    progress: Callable[[int, int, str], None] | None = None,
    *,
    actor: str | None = None,
) -> Predictor | None:
    """The production predictor; trains, evaluates and promotes the baseline if there is none."""
    existing = Predictor.for_production(ws)
    if existing is not None:
        return existing
    from labelbench.services.registry import current_user

    def relay(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(done, total, stage)

    retrain(ws, actor=actor or current_user(), progress=relay, max_attributed_batches=0)
    return Predictor.for_production(ws)
