"""MLflow tracking as an option: a retrain shows up in a local store, read back by MlflowClient.

MLflow 3 refuses the plain-folder (``file:``) tracking store unless MLFLOW_ALLOW_FILE_STORE is
set, so the test uses its SQLite store (what MLflow recommends); artifacts go to a local folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labelbench.services.retrain import retrain

mlflow = pytest.importorskip("mlflow")


#: MLflow does not care which database labelbench uses: one backend is enough here.
ONE_BACKEND = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@ONE_BACKEND
def test_retrain_is_tracked_in_mlflow(tiny_world_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    from labelbench.services.tracking import EXPERIMENT, REGISTERED_MODEL

    ws = tiny_world_ws
    ws.settings.training.jobs, ws.settings.training.n_boot = 1, 50
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    report = retrain(ws, actor="ml", mlflow_tracking_uri=uri)

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == report.run_id
    assert run.data.tags["labelbench.run_id"] == report.run_id
    assert run.data.params["pipeline"] == report.candidate.spec.pipeline
    median = report.to_dict()["candidate"]["loco_median_f1"]
    assert run.data.metrics["loco_median_f1"] == pytest.approx(median)
    assert any(k.startswith("country_f1.") for k in run.data.metrics)
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.md", "metrics.json", "oof.parquet", "per_country.json", "bundle"} <= names
    version = client.get_model_version_by_alias(REGISTERED_MODEL, "production")
    assert version.run_id == run.info.run_id  # the baseline was promoted by labelbench


@ONE_BACKEND
def test_a_later_promotion_moves_the_mlflow_alias(tiny_world_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    from labelbench.services.registry import promote
    from labelbench.services.tracking import REGISTERED_MODEL

    ws = tiny_world_ws
    ws.settings.training.jobs, ws.settings.training.n_boot = 1, 50
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ws.settings.mlflow_tracking_uri = uri  # from config: every retrain and promotion is mirrored
    first = retrain(ws, actor="ml")
    second = retrain(ws, actor="ml", promote=False, max_attributed_batches=0)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    production = client.get_model_version_by_alias(REGISTERED_MODEL, "production")
    assert production.tags["labelbench.run_id"] == first.run_id
    candidate = client.get_model_version_by_alias(REGISTERED_MODEL, "candidate")
    assert candidate.tags["labelbench.run_id"] == second.run_id
    promote(ws, second.run_id, actor="lead", force=True, reason="test")
    production = client.get_model_version_by_alias(REGISTERED_MODEL, "production")
    assert production.tags["labelbench.run_id"] == second.run_id
