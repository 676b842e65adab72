"""The model registry: artifacts in the models store, entries and alias moves in the database.

Aliases are ``production`` and ``candidate``. Promotion keeps the previous production in the
event log so `rollback` can restore it; promoting a run whose gates failed needs ``force`` and a
reason, which are recorded.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from labelbench.db.models import ModelEvent, ModelRun
from labelbench.errors import ConflictError, InputError, NotFoundError
from labelbench.ml.evaluation import ServingThresholds
from labelbench.services.model_store import (
    BUNDLE_NAME,
    MANIFEST_KEY,
    OOF_NAME,
    ModelStore,
    VerifiedRun,
    verify_run,
)
from labelbench.services.workspace import Workspace


@dataclass(frozen=True)
class LoadedModel:
    """A verified bundle ready to predict."""

    run_id: str
    model: Any
    thresholds: ServingThresholds
    manifest: dict[str, Any]
    oof: pd.Series | None


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


def run_for_alias(session: Session, alias: str) -> ModelRun | None:
    return session.scalars(select(ModelRun).where(ModelRun.alias == alias)).first()


def get_run(session: Session, run_id: str) -> ModelRun:
    run = session.get(ModelRun, run_id)
    if run is None:
        raise NotFoundError(f"no model run {run_id!r} (see `labelbench models list`)")
    return run


def show_run(ws: Workspace, run_id: str) -> dict[str, Any]:
    """One entry with its manifest and alias history."""
    with ws.transaction(readonly=True) as session:
        run = get_run(session, run_id)
        events = session.scalars(
            select(ModelEvent)
            .where((ModelEvent.run_id == run_id) | (ModelEvent.previous_run_id == run_id))
            .order_by(ModelEvent.id)
        ).all()
        return {
            "run_id": run.id,
            "created_at": run.created_at.isoformat(),
            "pipeline": run.pipeline,
            "engine": run.engine,
            "alias": run.alias,
            "gates_passed": run.gates_passed,
            "sha256": run.sha256,
            "bundle_path": run.bundle_path,
            "label_batches": list(run.label_batches),
            "data_fingerprint": run.data_fingerprint,
            "metrics": run.metrics,
            "events": [
                {
                    "at": e.created_at.isoformat(),
                    "action": e.action,
                    "run_id": e.run_id,
                    "previous_run_id": e.previous_run_id,
                    "actor": e.actor,
                    "forced": e.forced,
                    "reason": e.reason,
                }
                for e in events
            ],
        }


def set_alias(
    session: Session,
    run_id: str,
    alias: str,
    *,
    actor: str,
    forced: bool = False,
    reason: str | None = None,
    action: str | None = None,
) -> str | None:
    """Point ``alias`` at ``run_id`` (recorded); returns the run that held the alias before."""
    run = get_run(session, run_id)
    previous = run_for_alias(session, alias)
    if previous is not None and previous.id == run_id:
        return previous.id
    if previous is not None:
        previous.alias = None
        session.flush()  # the alias is unique: free it before taking it
    if run.alias is not None and run.alias != alias:
        run.alias = None
        session.flush()
    run.alias = alias
    session.add(
        ModelEvent(
            action=action or ("promote" if alias == "production" else "candidate"),
            run_id=run_id,
            previous_run_id=previous.id if previous else None,
            actor=actor,
            forced=forced,
            reason=reason,
        )
    )
    session.flush()
    return previous.id if previous else None


def promote(
    ws: Workspace, run_id: str, *, actor: str, force: bool = False, reason: str | None = None
) -> str | None:
    """Make ``run_id`` production. Runs that failed their gates need ``force`` and a reason."""
    with ws.transaction() as session:
        run = get_run(session, run_id)
        if run.gates_passed is False and not force:
            raise ConflictError(
                f"run {run_id} did not pass its promotion gates; "
                "use --force --reason TEXT to promote it anyway"
            )
        if force and not (reason and reason.strip()):
            raise InputError("a forced promotion needs --reason TEXT")
        verify_bundle(ws, run)
        previous = set_alias(
            session, run_id, "production", actor=actor, forced=force, reason=reason
        )
    if ws.settings.mlflow_tracking_uri:  # mirrored after labelbench's registry has committed
        from labelbench.services.tracking import move_alias

        move_alias(ws.settings.mlflow_tracking_uri, run_id, "production")
    return previous


def rollback(ws: Workspace, *, actor: str, reason: str | None = None) -> tuple[str, str]:
    """Restore the production model that the current one replaced; returns (from, to)."""
    with ws.transaction() as session:
        current = run_for_alias(session, "production")
        if current is None:
            raise NotFoundError("there is no production model to roll back")
        last_promotion = session.scalars(
            select(ModelEvent)
            .where(ModelEvent.run_id == current.id, ModelEvent.action.in_(("promote", "rollback")))
            .order_by(ModelEvent.id.desc())
            .limit(1)
        ).first()
        if last_promotion is None or last_promotion.previous_run_id is None:
            raise ConflictError(f"{current.id} replaced no earlier production model")
        target = get_run(session, last_promotion.previous_run_id)
        verify_bundle(ws, target)
        session.execute(update(ModelRun).where(ModelRun.id == current.id).values(alias=None))
        session.flush()
        target.alias = "production"
        session.add(
            ModelEvent(
                action="rollback",
                run_id=target.id,
                previous_run_id=current.id,
                actor=actor,
                reason=reason,
            )
        )
        return current.id, target.id


def verify_bundle(ws: Workspace, run: ModelRun) -> VerifiedRun:
    """Refuse a run whose path leaves the store or whose bundle, manifest or OOF file differs
    from the hashes pinned by the registry and the manifest (see :mod:`.model_store`)."""
    store = ModelStore.for_settings(ws.settings)
    pinned = (run.metrics or {}).get(MANIFEST_KEY)
    return verify_run(store, run.id, run.bundle_path, run.sha256, pinned)


def load_run(ws: Workspace, run: ModelRun) -> LoadedModel:
    """Verify one run's artifacts in the models store, then load its bundle and OOF predictions.

    OOF predictions drive the queue's ranking, so they are used only when the manifest pins
    them (runs saved before manifests were pinned serve without them).
    """
    from labelbench.ml.bundle import load_bundle

    verified = verify_bundle(ws, run)
    loaded = load_bundle(verified.directory / BUNDLE_NAME)
    oof_path = verified.directory / OOF_NAME
    oof = None
    pinned = (run.metrics or {}).get(MANIFEST_KEY) is not None
    if pinned and oof_path.is_file() and OOF_NAME in (verified.manifest.get("artifacts") or {}):
        frame = pd.read_parquet(oof_path)
        oof = frame.set_index("sample_id")["proba"]
    return LoadedModel(run.id, loaded.model, loaded.thresholds, loaded.manifest, oof)


def previous_production(ws: Workspace) -> LoadedModel | None:
    """The production model the current one replaced (for the prediction-stability signal)."""
    with ws.transaction(readonly=True) as session:
        current = run_for_alias(session, "production")
        if current is None:
            return None
        previous_id = session.scalar(
            select(ModelEvent.previous_run_id)
            .where(ModelEvent.run_id == current.id, ModelEvent.action.in_(("promote", "rollback")))
            .order_by(ModelEvent.id.desc())
            .limit(1)
        )
        run = session.get(ModelRun, previous_id) if previous_id else None
        if run is None:
            return None
        session.expunge(run)
    return load_run(ws, run)


def load_alias(ws: Workspace, alias: str) -> LoadedModel | None:
    """The model behind an alias, or None when the alias is unset."""
    with ws.transaction(readonly=True) as session:
        run = run_for_alias(session, alias)
        if run is None:
            return None
        session.expunge(run)
    return load_run(ws, run)
