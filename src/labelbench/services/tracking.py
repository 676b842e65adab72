"""Optional MLflow tracking of retrains (the ``mlflow`` extra): where ML engineers look.

labelbench's own registry stays the source of truth: a run is recorded and promoted there
first, and only then mirrored into MLflow (parameters, headline and per-country metrics, reports
and OOF predictions as artifacts, a model version whose ``production`` or ``candidate`` alias
follows labelbench's). A tracking failure is reported as a configuration error after the
retrain is safely recorded; it never undoes it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labelbench.errors import ConfigError

if TYPE_CHECKING:
    from labelbench.services.retrain import RetrainReport

EXPERIMENT = "labelbench"
REGISTERED_MODEL = "labelbench-censorship"
_ARTIFACTS = ("report.md", "metrics.json", "oof.parquet", "manifest.json")


def _client(uri: str) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ConfigError(
            "MLflow tracking needs the mlflow extra: pip install 'labelbench[mlflow]'"
        ) from None
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def track_retrain(uri: str, report: RetrainReport, run_dir: Path) -> str:
    """Log one retrain to MLflow; returns the MLflow run id."""
    from mlflow.entities import Metric, Param, RunTag

    client = _client(uri)
    try:
        experiment = client.get_experiment_by_name(EXPERIMENT)
        experiment_id = (
            experiment.experiment_id if experiment else client.create_experiment(EXPERIMENT)
        )
        summary = report.to_dict()
        run = client.create_run(
            experiment_id,
            run_name=report.run_id,
            tags={
                "labelbench.run_id": report.run_id,
                "labelbench.promoted": str(report.promoted).lower(),
                "labelbench.gates_passed": str(report.gates_passed).lower(),
            },
        )
        mlflow_id = run.info.run_id
        now = int(time.time() * 1000)
        candidate = summary["candidate"]
        params = {
            "pipeline": candidate["pipeline"],
            "engine": candidate["engine"],
            "training_samples": summary["training_samples"],
            "excluded_samples": summary["excluded_samples"],
            "label_batches": ",".join(str(b) for b in summary["label_batches"]) or "none",
            "production_run_id": summary["production_run_id"] or "none",
        }
        metrics = [
            Metric(key, float(candidate[key]), now, 0)
            for key in ("loco_median_f1", "loco_mean_f1", "stratified_f1", "stratified_auc")
            if candidate.get(key) is not None
        ]
        for country, values in candidate["per_country"].items():
            if values.get("f1") is not None:
                metrics.append(Metric(f"country_f1.{country}", float(values["f1"]), now, 0))
        client.log_batch(
            mlflow_id,
            metrics=metrics,
            params=[Param(k, str(v)) for k, v in params.items()],
            tags=[RunTag("labelbench.promotion_reason", report.promotion_reason)],
        )
        table = run_dir / "per_country.json"
        table.write_text(json.dumps(candidate["per_country"], indent=1), encoding="utf-8")
        for name in (*_ARTIFACTS, table.name):
            if (run_dir / name).is_file():
                client.log_artifact(mlflow_id, str(run_dir / name))
        client.log_artifact(mlflow_id, str(run_dir / "model.joblib"), artifact_path="bundle")
        client.set_terminated(mlflow_id)
        _register(client, mlflow_id, report)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"run {report.run_id} is recorded, but MLflow tracking at {uri} failed: "
            f"{type(exc).__name__}: {exc}".splitlines()[0]
        ) from exc
    return str(mlflow_id)


def _register(client: Any, mlflow_id: str, report: RetrainReport) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(REGISTERED_MODEL)
    except MlflowException:
        client.create_registered_model(
            REGISTERED_MODEL, description="labelbench's registry is the source of truth"
        )
    artifact_uri = client.get_run(mlflow_id).info.artifact_uri
    version = client.create_model_version(
        REGISTERED_MODEL,
        source=f"{artifact_uri}/bundle",
        run_id=mlflow_id,
        tags={"labelbench.run_id": report.run_id},
    )
    alias = "production" if report.promoted else "candidate"
    client.set_registered_model_alias(REGISTERED_MODEL, alias, version.version)


def move_alias(uri: str, run_id: str, alias: str) -> None:
    """Point an MLflow alias at the version of a labelbench run (after `models promote`)."""
    client = _client(uri)
    try:
        versions = client.search_model_versions(f"name='{REGISTERED_MODEL}'")
        for v in versions:
            if (v.tags or {}).get("labelbench.run_id") == run_id:
                client.set_registered_model_alias(REGISTERED_MODEL, alias, v.version)
                return
    except Exception as exc:
        raise ConfigError(
            f"promotion is recorded, but MLflow at {uri} failed: {type(exc).__name__}"
        ) from exc
