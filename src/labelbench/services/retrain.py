"""`labelbench retrain`: train a candidate on the current labels and judge it honestly.

1. Load every sample with its effective training label (incident labels overridden by human
   decisions; unsure, skip and disputed samples excluded).
2. Evaluate the candidate recipe and the production recipe (trained on the labels production
   was trained on: the label log up to its watermark) leave-one-country-out on the same folds and
   scored on the same current labels, so the difference is what the new labels did; in the same
   pool, within-country (blocked over time, the country's other days in training) for the watch
   list, the priority targets and every country a batch since production labelled.
3. Compare per country with paired week-bootstrap intervals, apply the promotion gates.
4. Attribute the change to each labelling batch since production (leave-one-batch-out retrains):
   within-country for the batch's own countries, LOCO median F1 for transfer to the others.
5. Fit the candidate on all labels, save bundle + manifest + OOF predictions + Markdown report +
   metrics JSON + kept fits under ``models/<run_id>/``, record the run, and promote it if the
   gates pass (the very first model is promoted as the baseline).

Production's side of step 2 is mostly free: the fits production's own retrain made are kept
beside its bundle and reused wherever their inputs are identical (:mod:`labelbench.ml.foldcache`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from threadpoolctl import threadpool_limits

from labelbench.db import queries
from labelbench.db.models import LabelBatch, ModelRun
from labelbench.domain.constants import FEATURES, PRIORITY_TARGETS
from labelbench.domain.digest import sha256_file
from labelbench.domain.labels import LabelEvent, standing_decisions
from labelbench.errors import InputError
from labelbench.ml import foldcache
from labelbench.ml.attribution import (
    OwnCountryEffect,
    median_f1_delta,
    null_noise,
    own_country_effects,
)
from labelbench.ml.comparison import Comparison, compare
from labelbench.ml.estimators import PipelineSpec, make_model
from labelbench.ml.gates import GatePolicy, GateResult, evaluate_gates, gates_passed
from labelbench.ml.loco import LocoResult, loco_evaluate
from labelbench.ml.parallel import parallel_backend_for
from labelbench.ml.within_country import WithinMetrics, WithinPlan
from labelbench.services.labels import training_frame
from labelbench.services.model_store import MANIFEST_KEY, ModelStore, VerifiedRun, save_run
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
    own_countries: dict[str, OwnCountryEffect] = field(default_factory=dict)
    transfer: dict[str, Any] = field(default_factory=dict)


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
    #: Within-country scores on the current labels; production's also on the labels it had.
    within_candidate: dict[str, WithinMetrics] = field(default_factory=dict)
    within_production: dict[str, WithinMetrics] = field(default_factory=dict)
    within_production_own_labels: dict[str, WithinMetrics] = field(default_factory=dict)
    same_data_as_production: bool = False
    #: Fits reused from production's run folder (see ml.foldcache): how many, or why none.
    kept_fits: dict[str, Any] = field(default_factory=dict)

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
                    "own_countries": {c: e.to_dict() for c, e in b.own_countries.items()},
                    "transfer": b.transfer,
                }
                for b in self.batches
            ],
            "within_country": {
                "candidate": _within(self.within_candidate),
                "production": _within(self.within_production) if self.production else None,
                "production_at_its_labels": (
                    _within(self.within_production_own_labels) if self.production else None
                ),
            },
            "same_data_as_production": self.same_data_as_production,
            "kept_fits": self.kept_fits,
            "batches_not_attributed": self.batches_not_attributed,
            "bundle_dir": str(self.bundle_dir),
            "label_batches": self.label_batches,
            "training_samples": self.n_training,
            "excluded_samples": self.n_excluded,
        }


def _num(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 6)


def _within(scores: dict[str, WithinMetrics]) -> dict[str, Any]:
    return {c: m.to_dict() for c, m in sorted(scores.items())}


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
    # Sorted by name, as a saved manifest (written with sorted keys) gives them back: cluster
    # order seeds the heads' anchors, so production re-evaluated from its manifest and a fresh
    # candidate on the same labels are then the same recipe (and share their fits).
    clusters = dict(sorted(clusters.items()))
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
    within_countries: list[str] | None = None,
    progress: StageProgress | None = None,
    mlflow_tracking_uri: str | None = None,
) -> RetrainReport:
    """Train, evaluate against production, gate, attribute, save and (maybe) promote.

    ``within_countries``: countries to evaluate within-country besides the default scope (watch
    list, priority targets, countries labelled since production); ``["all"]`` evaluates every
    country with enough labels of both classes.
    """
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
    X = frame[[*FEATURES, "country", "day"]].set_index(frame["id"].astype(int))
    y = frame["label"].to_numpy(dtype=float)
    y_series = pd.Series(y, index=X.index)

    def stage(name: str) -> Callable[[int, int], None]:
        return lambda done, total: say(name, done, total)

    production_batches: set[int] = set()
    prod_manifest: dict[str, Any] = {}
    # Candidate, production, leave-one-batch-out and null refits differ in a few labels: fits
    # whose inputs did not change are computed once (ml.cv.run_folds), and production's own
    # evaluation, kept beside its bundle, seeds the cache (ml.foldcache).
    cache: dict[str, Any] = {}
    kept: dict[str, Any] = {"source_run": None, "loaded": 0, "reused": 0, "status": "none"}
    if production_run is not None:
        verified = verify_bundle(ws, production_run)
        prod_manifest = verified.manifest
        production_batches = set(prod_manifest.get("label_batches", []))
        kept["source_run"] = production_run.id
        kept["status"] = _load_kept_fits(production_run, verified, cache)
        kept["loaded"] = len(cache)
    new_batches = [b for b in included_batches if b not in production_batches]
    sample_country = dict(zip(frame["id"].astype(int), frame["country"], strict=True))
    batch_countries = _batch_countries(events, new_batches, sample_country)
    plan = WithinPlan(
        countries=_within_scope(settings.watch_list, batch_countries, within_countries),
        shrinkage_k=float(t.small_n),
        small_n=t.small_n,
    )

    loaded_keys = set(cache)
    # The pair models' country groups are balanced by each country's samples, which labelling
    # does not change (a labelled candidate day joins the training rows, not the samples): the
    # groups, and with them most fits, stay the same from one retrain to the next.
    samples_only = ~frame["candidate_only"].astype(bool).to_numpy()
    group_sizes = {
        str(c): int(n) for c, n in frame.loc[samples_only, "country"].value_counts().items()
    }
    candidate_fits: set[str] = set()
    production_fits: set[str] = set()
    train_rows = ~np.isnan(y)
    # The model to serve is fitted in a thread meanwhile: the main process mostly waits for the
    # fold workers, so the fit fills the gaps instead of adding its seconds at the end. One
    # BLAS/OpenMP thread for all in-process work, set once here (limits are process-wide, so
    # the thread never changes them): OpenMP start-up costs more than it saves on a few
    # thousand rows, spinning threads made the fit 5x slower on a shared 2-core machine, and a
    # fixed thread count keeps in-process results (the stackers) independent of timing.
    limits = threadpool_limits(limits=1)
    final_fit = ThreadPoolExecutor(max_workers=1, thread_name_prefix="labelbench-final-fit")
    model_future = final_fit.submit(
        lambda: make_model(spec).fit(X[train_rows], y[train_rows].astype(int))
    )
    final_fit.shutdown(wait=False)
    with limits, parallel_backend_for(dask_scheduler):
        candidate = loco_evaluate(
            spec, X, y, y, n_jobs=n_jobs, n_boot=t.n_boot, small_n=t.small_n,
            seed=t.random_state, progress=stage("candidate LOCO"), within=plan, cache=cache,
            used=candidate_fits, group_sizes=group_sizes,
        )  # fmt: skip
        production: LocoResult | None = None
        y_prod_series = y_series
        if production_run is not None:
            prod_spec = PipelineSpec.from_dict(prod_manifest["pipeline_spec"])
            with ws.transaction(readonly=True) as session:
                prod_frame = training_frame(
                    session, label_watermark=int(prod_manifest.get("label_watermark", 0))
                )
            y_prod = prod_frame.set_index("id").loc[X.index, "label"].to_numpy(dtype=float)
            y_prod_series = pd.Series(y_prod, index=X.index)
            production = loco_evaluate(
                prod_spec, X, y_prod, y, n_jobs=n_jobs, n_boot=t.n_boot, small_n=t.small_n,
                seed=t.random_state, progress=stage("production LOCO"), within=plan,
                cache=cache, used=production_fits, group_sizes=group_sizes,
            )  # fmt: skip
        kept["reused"] = len(loaded_keys & (production_fits | candidate_fits))
        comparison = compare(production, candidate, n_boot=t.n_boot, seed=t.random_state)
        within_frames = None
        if production is not None and production.within and candidate.within:
            within_frames = (production.within.frame(y_series), candidate.within.frame(y_series))
        gates = evaluate_gates(
            comparison, _policy(ws), within_frames=within_frames, n_boot=t.n_boot,
            seed=t.random_state,
        )  # fmt: skip

        attributed = new_batches[-max_attributed_batches:] if max_attributed_batches > 0 else []
        not_attributed = [b for b in new_batches if b not in attributed]
        effects: list[BatchEffect] = []
        for k, batch_id in enumerate(attributed, start=1):
            with ws.transaction(readonly=True) as session:
                without = training_frame(session, exclude_batches={batch_id})
            y_without = without["label"].to_numpy(dtype=float)
            own = batch_countries.get(batch_id, [])
            result = loco_evaluate(
                spec, X, y_without, y, n_jobs=n_jobs, n_boot=t.n_boot, small_n=t.small_n,
                seed=t.random_state, progress=stage(f"batch {batch_id} ({k}/{len(attributed)})"),
                stratified_folds=0, within=replace(plan, countries=own), cache=cache,
                group_sizes=group_sizes,
            )  # fmt: skip
            noise = {
                c: null_noise(spec, X, y_series, c, n_c, plan=plan, reference=candidate.within,
                              seed=t.random_state, n_jobs=n_jobs, cache=cache,
                              group_sizes=group_sizes)
                for c, n_c in _labels_per_country(events, batch_id, sample_country).items()
            }  # fmt: skip
            effects.append(
                _batch_effect(batch_id, batch_rows[batch_id], events, frame, result, candidate,
                              y_series, pd.Series(y_without, index=X.index), t.n_boot,
                              t.random_state, noise)
            )  # fmt: skip

        say("final fit", 0, 1)
        model = model_future.result()
        say("final fit", 1, 1)

    run_id = _new_run_id(spec)
    store = ModelStore.for_settings(settings)
    bundle_dir = store.run_dir(run_id)
    passed = gates_passed(gates)
    fingerprint = _data_fingerprint(frame)
    same_data = production_run is not None and production_run.data_fingerprint == fingerprint
    if production_run is None:
        will_promote, reason = (
            promote,
            (
                "baseline: there was no production model, so the first model is promoted "
                "regardless of the gates"
            ),
        )
    elif passed:
        will_promote, reason = promote, "all promotion gates passed"
    else:
        failed = ", ".join(g.name for g in gates if g.passed is False and not g.advisory)
        will_promote, reason = (
            False,
            (
                f"gates failed: {failed}; to promote anyway: labelbench models promote {run_id} "
                "--force --reason '...'"
            ),
        )
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
        within_candidate=candidate.within.countries if candidate.within else {},
        within_production=production.within.countries if production and production.within else {},
        within_production_own_labels=(
            production.within.score(y_prod_series) if production and production.within else {}
        ),
        same_data_as_production=same_data,
        kept_fits=kept,
    )
    manifest = {
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "label_batches": included_batches,
        "label_watermark": watermark,
        "data_fingerprint": fingerprint,
        "training_samples": report.n_training,
        "metrics": _summary(candidate),
        "gates": [g.to_dict() for g in gates],
        "gates_passed": passed,
        "production_run_id": report.production_run_id,
    }
    try:
        stored = save_run(
            store, run_id, model, manifest, thresholds=candidate.thresholds,
            files={
                **_report_files(report, candidate, settings),
                foldcache.FILE_NAME: foldcache.dump(
                    {k: cache[k] for k in sorted(candidate_fits) if k in cache}
                ),
            },
        )  # fmt: skip
        with ws.transaction() as session:
            session.add(
                ModelRun(
                    id=run_id,
                    pipeline=spec.pipeline,
                    engine=spec.engine,
                    metrics={**_summary_light(candidate), MANIFEST_KEY: stored.manifest_sha256},
                    bundle_path=stored.bundle_path,
                    sha256=stored.sha256,
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
        store.discard(run_id)  # nothing half-written survives
        raise
    uri = mlflow_tracking_uri or settings.mlflow_tracking_uri
    if uri:
        from labelbench.services.tracking import track_retrain

        track_retrain(uri, report, bundle_dir)
    return report


def _load_kept_fits(run: ModelRun, verified: VerifiedRun, cache: dict[str, Any]) -> str:
    """Load production's kept fits into ``cache``; returns ``ok`` or why none were used.

    Only a file the manifest pins (and the registry pins the manifest) is read; anything amiss
    means refitting, never a failed retrain: the numbers are the same either way.
    """
    path = verified.directory / foldcache.FILE_NAME
    pinned = (verified.manifest.get("artifacts") or {}).get(foldcache.FILE_NAME)
    if (run.metrics or {}).get(MANIFEST_KEY) is None or pinned is None:
        return "none: production's run kept no fits (saved before fits were kept)"
    if not path.is_file():
        return f"unusable: {foldcache.FILE_NAME} is missing; refitted"
    try:
        if sha256_file(path) != pinned:
            return f"unusable: {foldcache.FILE_NAME} does not match its manifest; refitted"
        cache.update(foldcache.load(path.read_bytes()))
    except (OSError, foldcache.FoldCacheError) as exc:
        cache.clear()
        return f"unusable: {exc}".splitlines()[0] + "; refitted"
    return "ok"


def _report_files(report: RetrainReport, candidate: LocoResult, settings: Any) -> dict[str, bytes]:
    """OOF predictions, the Markdown report and metrics JSON, pinned by the run's manifest."""
    import io

    from labelbench.reports.retrain import render_markdown

    oof = candidate.predictions[["proba"]].copy()
    oof.insert(0, "sample_id", oof.index.astype(int))
    buffer = io.BytesIO()
    oof.to_parquet(buffer, index=False)
    markdown = render_markdown(report.to_dict(), settings.watch_list, settings.high_impact)
    metrics = json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n"
    return {
        "oof.parquet": buffer.getvalue(),
        "report.md": markdown.encode("utf-8"),
        "metrics.json": metrics.encode("utf-8"),
    }


def _summary_light(result: LocoResult) -> dict[str, Any]:
    """Headline metrics for the registry table (the full set lives in the manifest)."""
    full = _summary(result)
    return {k: full[k] for k in ("loco_median_f1", "loco_mean_f1", "stratified_f1",
                                 "stratified_auc", "loco_countries")}  # fmt: skip


def _batch_countries(
    events: list[LabelEvent], batches: list[int], sample_country: dict[int, str]
) -> dict[int, list[str]]:
    """The countries each batch's standing decisions labelled."""
    wanted = set(batches)
    out: dict[int, set[str]] = {b: set() for b in batches}
    for e in standing_decisions(events):
        if e.batch_id in wanted and e.sample_id in sample_country:
            out[e.batch_id].add(sample_country[e.sample_id])
    return {b: sorted(cs) for b, cs in out.items()}


def _labels_per_country(
    events: list[LabelEvent], batch_id: int, sample_country: dict[int, str]
) -> dict[str, int]:
    """How many standing decisions the batch made in each country (the null's batch size)."""
    out: dict[str, int] = {}
    for e in standing_decisions(events):
        if e.batch_id == batch_id and e.sample_id in sample_country:
            c = sample_country[e.sample_id]
            out[c] = out.get(c, 0) + 1
    return out


def _within_scope(
    watch_list: list[str], batch_countries: dict[int, list[str]], extra: list[str] | None
) -> list[str] | None:
    """Watch list + priority targets + labelled countries (+ extra); None for ``["all"]``."""
    if extra and any(c.lower() == "all" for c in extra):
        return None
    scope = set(watch_list) | set(PRIORITY_TARGETS) | set(extra or [])
    for cs in batch_countries.values():
        scope.update(cs)
    return sorted(scope)


def _batch_effect(
    batch_id: int,
    batch: LabelBatch,
    events: list[LabelEvent],
    frame: pd.DataFrame,
    without: LocoResult,
    candidate: LocoResult,
    y: pd.Series,
    y_without: pd.Series,
    n_boot: int,
    seed: int,
    noise: dict[str, float],
) -> BatchEffect:
    sample_country = dict(zip(frame["id"].astype(int), frame["country"], strict=True))
    mine = [e for e in standing_decisions(events) if e.batch_id == batch_id]
    countries = sorted({sample_country[e.sample_id] for e in mine if e.sample_id in sample_country})
    md = median_f1_delta(candidate, without, n_boot=n_boot, seed=seed)
    transfer = median_f1_delta(candidate, without, n_boot=n_boot, seed=seed, exclude=countries)
    per_country = compare(without, candidate, n_boot=n_boot, seed=seed).deltas
    own: dict[str, OwnCountryEffect] = {}
    if candidate.within is not None and without.within is not None:
        own = own_country_effects(
            candidate.within, without.within, y, y_without, countries, n_boot=n_boot, seed=seed,
            noise=noise,
        )  # fmt: skip
    return BatchEffect(
        batch_id=batch_id,
        analyst=batch.analyst,
        labels=len(mine),
        countries=countries,
        delta_loco_median_f1=md.delta,
        ci_low=md.ci_low,
        ci_high=md.ci_high,
        country_deltas={c: per_country[c].to_dict() for c in countries if c in per_country},
        own_countries=own,
        transfer={
            "delta_loco_median_f1": _num(transfer.delta),
            "ci_low": _num(transfer.ci_low),
            "ci_high": _num(transfer.ci_high),
            "countries": transfer.countries,
            "verdict": transfer.verdict,
        },
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
