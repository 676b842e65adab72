"""`models list` and `models compare` on hand-made registry entries (no retraining)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from labelbench.cli.main import main
from labelbench.db.models import ModelEvent, ModelRun
from labelbench.errors import ExitCode

T0 = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


def country(f1: float, n: int, positives: int, precision: float, recall: float) -> Any:
    return {"f1": f1, "n": n, "positives": positives, "precision": precision, "recall": recall,
            "ci_low": f1 - 0.2, "ci_high": f1 + 0.1, "small_n": n < 30}  # fmt: skip


def add_run(ws: Any, tmp: Path, run_id: str, hours: int, per_country: Any, **kw: Any) -> None:
    folder = tmp / "models" / run_id
    folder.mkdir(parents=True)
    gates = [{"name": "loco_median_f1", "value": 0.8, "threshold": 0.85, "passed": False}]
    metrics = {"candidate": {"loco_median_f1": 0.8, "per_country": per_country}, "gates": gates,
               "production_run_id": kw.pop("compared_with", None)}  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    with ws.transaction() as session:
        session.add(
            ModelRun(
                id=run_id,
                created_at=T0 + dt.timedelta(hours=hours),
                pipeline="base",
                engine="fast",
                metrics={"loco_median_f1": 0.8},
                bundle_path=str(folder / "model.joblib"),
                sha256="0" * 64,
                gates_passed=False,
                label_batches=[],
                **kw,
            )
        )
        session.flush()
        if kw.get("alias") == "production":
            session.add(ModelEvent(action="promote", run_id=run_id, actor="ml"))


@pytest.fixture
def registry(tiny_world_ws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ws = tiny_world_ws
    monkeypatch.setenv("LABELBENCH_DATABASE_URL", ws.settings.database_url)
    add_run(ws, tmp_path, "run-a", 0, {"OM": country(0.4, 20, 5, 0.5, 0.4)}, alias="production")
    b = {"OM": country(0.6, 22, 7, 0.6, 4 / 7), "KW": country(0.0, 13, 2, 0.0, 0.0)}
    add_run(ws, tmp_path, "run-b", 1, b, alias="candidate", compared_with="run-a")
    return ["run-a", "run-b"]


def test_models_list_says_a_baseline_was_promoted_regardless(
    registry: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "list", "--json"]) == 0
    rows = {r["run_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["run-a"]["promoted_as"] == "baseline" and rows["run-b"]["promoted_as"] is None
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "baseline" in out and "no production model to compare with" in out


def test_models_compare_side_by_side(
    registry: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "compare", "run-a", "run-b", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {r["country"]: r for r in report["countries"]}
    assert list(rows) == ["KW", "OM"]  # the priority countries both runs evaluated
    om = rows["OM"]
    assert om["delta_f1"] == pytest.approx(0.2)
    assert om["a"]["positives"] == 5 and om["b"]["positives"] == 7
    assert om["b"]["recall_ci"] == pytest.approx([0.250458, 0.841780], abs=1e-5)  # Wilson 4/7
    assert om["a"]["f1_ci"] == pytest.approx([0.2, 0.5])
    assert rows["KW"]["a"] is None and rows["KW"]["b"]["precision_ci"] is None
    assert report["b"]["compared_with"] == "run-a"
    assert report["a"]["gates"][0]["passed"] is False
    assert main(["models", "compare", "run-a", "run-b"]) == 0
    text = capsys.readouterr().out
    assert "+20.0pp" in text and "FAIL: 0.800 (needs 0.85)" in text and "small n" in text
    assert main(["models", "compare", "run-a", "nope"]) == ExitCode.NOT_FOUND
