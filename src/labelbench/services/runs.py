"""The registry's read side for `models list` and `models compare`, without model code.

:mod:`labelbench.services.registry` loads bundles and so imports scikit-learn; listing and
comparing runs only reads the ``model_runs`` table, the alias log and each run's retrain report
(``metrics.json`` beside its bundle), so these commands start fast. Nothing is retrained.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select

from labelbench.config import Settings
from labelbench.db.models import ModelEvent, ModelRun
from labelbench.errors import ModelError, NotFoundError
from labelbench.services.workspace import Workspace

METRICS_FILE = "metrics.json"
#: How a run became production, as `models list` says it.
BASELINE = "baseline"


def run_metrics(settings: Settings, bundle_path: str) -> tuple[dict[str, Any] | None, str | None]:
    """A run's retrain report from the models store (fetched into this machine's cache when the
    store is remote); an unavailable run is a note, not an error."""
    from labelbench.services.model_store import ModelStore

    try:
        folder = ModelStore.for_settings(settings).fetch(bundle_path)
    except ModelError as exc:
        return None, f"run files unavailable: {exc}"
    return read_metrics(str(folder / PurePosixPath(bundle_path).name))


def read_metrics(bundle_path: str) -> tuple[dict[str, Any] | None, str | None]:
    """The retrain report beside a bundle; a missing or broken file is a note, not an error."""
    path = Path(bundle_path)
    candidates = [path / METRICS_FILE] if path.is_dir() else []
    candidates.append(path.parent / METRICS_FILE)
    for p in candidates:
        if p.is_file():
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                return None, f"unreadable {p}: {exc}"
            if not isinstance(data, dict):
                return None, f"unexpected content in {p}"
            return data, None
    return None, f"no {METRICS_FILE} beside {bundle_path}"


def _promotion(event: ModelEvent | None) -> str | None:
    """``baseline`` (promoted with no production to compare: gates not applied), ``forced``,
    ``gates passed`` or ``rollback``; None for runs that never were production."""
    if event is None:
        return None
    if event.action == "rollback":
        return "rollback"
    if event.forced:
        return f"forced: {event.reason}" if event.reason else "forced"
    if event.previous_run_id is None:
        return BASELINE
    return "gates passed"


def run_table(ws: Workspace) -> list[dict[str, Any]]:
    """Registry entries, newest first, with headline metrics and how each became production."""
    with ws.transaction(readonly=True) as session:
        runs = session.scalars(select(ModelRun).order_by(ModelRun.created_at.desc())).all()
        promoted: dict[str, ModelEvent] = {}
        for e in session.scalars(
            select(ModelEvent)
            .where(ModelEvent.action.in_(("promote", "rollback")))
            .order_by(ModelEvent.id)
        ):
            promoted[e.run_id] = e  # the latest move that made the run production
        return [
            {
                "run_id": r.id,
                "created_at": r.created_at.isoformat(),
                "pipeline": r.pipeline,
                "engine": r.engine,
                "alias": r.alias,
                "gates_passed": r.gates_passed,
                "promoted_as": _promotion(promoted.get(r.id)),
                "loco_median_f1": r.metrics.get("loco_median_f1"),
                "loco_mean_f1": r.metrics.get("loco_mean_f1"),
                "label_batches": list(r.label_batches),
                "bundle_path": r.bundle_path,
            }
            for r in runs
        ]


def compare_runs(
    ws: Workspace, run_a: str, run_b: str, countries: Sequence[str] | None = None
) -> dict[str, Any]:
    """Both runs' stored evaluation side by side (see :mod:`labelbench.reports.compare`)."""
    from labelbench.reports.compare import build_comparison
    from labelbench.services.queue import target_countries

    with ws.transaction(readonly=True) as session:
        found: dict[str, dict[str, Any]] = {}
        for run_id in (run_a, run_b):
            run = session.get(ModelRun, run_id)
            if run is None:
                raise NotFoundError(f"no model run {run_id!r} (see `labelbench models list`)")
            found[run_id] = {
                "run_id": run.id,
                "created_at": run.created_at.isoformat(),
                "pipeline": run.pipeline,
                "engine": run.engine,
                "alias": run.alias,
                "gates_passed": run.gates_passed,
                "headline": dict(run.metrics or {}),
                "bundle_path": run.bundle_path,
            }
        scope = target_countries(session, ws.settings, countries)
    for entry in found.values():
        entry["metrics"], entry["note"] = run_metrics(ws.settings, entry.pop("bundle_path"))
    return build_comparison(found[run_a], found[run_b], scope)
