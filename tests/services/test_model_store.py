"""Models every analyst can load: two machines, one database, one shared models store.

Machine A retrains and promotes into the shared store; machine B (its own working folder and
models_dir, the same database and store URL) serves that model through the Predictor the app
uses. A registry row pointing outside the store, a swapped bundle or OOF file, and a replaced
manifest are all refused.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, update

from labelbench.db.models import ModelRun
from labelbench.errors import ModelError
from labelbench.services.model_store import MANIFEST_KEY
from labelbench.services.predict import Predictor
from labelbench.services.retrain import retrain
from labelbench.services.workspace import Workspace


def _machine(ws: Workspace, home: Path, store: str) -> Workspace:
    """Another analyst machine: same database, its own folders, the shared store URL."""
    home.mkdir()
    settings = ws.settings.model_copy(update={"models_dir": home / "models", "models_store": store})
    return Workspace(settings, ws.engine)


def _pool(ws: Workspace) -> pd.DataFrame:
    from labelbench.services.labels import training_frame

    with ws.transaction(readonly=True) as session:
        frame = training_frame(session)
    return frame.rename(columns={"id": "sample_id"}).head(20)


@pytest.fixture
def fast(tiny_world_ws):  # type: ignore[no-untyped-def]
    tiny_world_ws.settings.training.jobs = 1
    tiny_world_ws.settings.training.n_boot = 50
    return tiny_world_ws


def test_one_machine_promotes_another_labels_with_it(fast, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shared = tmp_path / "shared-store"
    a = _machine(fast, tmp_path / "machine-a", shared.as_uri())
    b = _machine(fast, tmp_path / "machine-b", str(shared))
    report = retrain(a, actor="ml")
    assert report.promoted and report.bundle_dir.parent == shared.resolve()
    with a.transaction(readonly=True) as session:
        run = session.scalars(select(ModelRun)).one()
        assert run.bundle_path == f"{report.run_id}/model.joblib"  # relative to the store
        assert run.metrics[MANIFEST_KEY]

    predictor = Predictor.for_production(b)
    assert predictor is not None and predictor.run_id == report.run_id
    assert predictor.oof is not None and len(predictor.oof) > 0
    pool = _pool(b)
    out = predictor.predict_frame(pool)
    assert out["proba"].between(0, 1).all() and out["oof_proba"].notna().any()

    # The OOF file drives ranking: a changed one is refused, not served.
    oof_path = shared / report.run_id / "oof.parquet"
    original = oof_path.read_bytes()
    frame = pd.read_parquet(oof_path)
    frame["proba"] = 1.0
    frame.to_parquet(oof_path, index=False)
    with pytest.raises(ModelError, match=r"oof\.parquet .* does not match its manifest"):
        Predictor.for_production(b)
    oof_path.write_bytes(original)

    # A manifest rewritten to match a swapped OOF file breaks the registry's pin instead.
    manifest = shared / report.run_id / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"run_id"', '"run_id" ', 1))
    with pytest.raises(ModelError, match=r"manifest of run .* does not match the registry"):
        Predictor.for_production(b)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the store, not the database
def test_a_registry_row_cannot_point_outside_the_store(fast, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shared = tmp_path / "store"
    a = _machine(fast, tmp_path / "a", str(shared))
    report = retrain(a, actor="ml")
    elsewhere = tmp_path / "attacker"
    shutil.copytree(shared / report.run_id, elsewhere)
    for bad in (str(elsewhere / "model.joblib"), "../attacker/model.joblib"):
        with a.transaction() as session:
            session.execute(update(ModelRun).values(bundle_path=bad))
        with pytest.raises(ModelError, match="outside the models store"):
            Predictor.for_production(a)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_fsspec_store_url(fast, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An object-store URL (fsspec's in-memory filesystem stands in for s3://)."""
    pytest.importorskip("fsspec")
    url = f"memory://labelbench-{tmp_path.name}"
    a = _machine(fast, tmp_path / "a", url)
    report = retrain(a, actor="ml")
    b = _machine(fast, tmp_path / "b", url)
    cache = Path(b.settings.models_dir)  # B's local copy: empty until B loads the run
    assert not (cache / report.run_id).exists()
    predictor = Predictor.for_production(b)
    assert predictor is not None and predictor.run_id == report.run_id
    assert predictor.oof is not None
    assert (cache / report.run_id / "model.joblib").is_file()
