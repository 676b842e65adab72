"""The CLI over a tiny world: queue, retrain --json interface, models and batches commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labelbench.cli.main import main
from labelbench.errors import ExitCode


@pytest.fixture
def cli_db(tiny_world_ws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    url = tiny_world_ws.settings.database_url
    monkeypatch.setenv("LABELBENCH_DATABASE_URL", url)
    monkeypatch.setenv("LABELBENCH_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("LABELBENCH_TRAINING__JOBS", "1")
    monkeypatch.setenv("LABELBENCH_TRAINING__N_BOOT", "200")
    return str(url)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_queue_build_and_show(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "queue", "build", "--countries", "OM,KW", "--size", "4", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["queued"] == 4 and data["countries"] == ["KW", "OM"]
    code, out, _ = run(capsys, "queue", "show", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["country"] for r in rows} == {"KW", "OM"}
    assert run(capsys, "queue", "build", "--countries", "ZZ")[0] == ExitCode.INPUT


def test_retrain_json_interface_models_and_batches(
    cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "retrain", "--json", "--batches", "0")
    assert code == 0
    data = json.loads(out)
    assert data["promoted"] is True and data["production"] is None
    for key in (
        "loco_median_f1",
        "loco_mean_f1",
        "stratified_f1",
        "stratified_auc",
        "loco_countries",
    ):
        assert key in data["candidate"]
    om = data["candidate"]["per_country"]["OM"]
    assert {"f1", "n", "positives", "ci_low", "ci_high", "small_n"} <= set(om)
    assert all({"name", "value", "threshold", "passed"} <= set(g) for g in data["gates"])
    assert data["batches"] == []
    code, out, _ = run(capsys, "models", "list", "--json")
    runs = json.loads(out)
    assert runs[0]["run_id"] == data["run_id"] and runs[0]["alias"] == "production"
    code, out, _ = run(capsys, "models", "show", data["run_id"])
    assert code == 0 and json.loads(out)["events"][0]["action"] == "promote"
    assert run(capsys, "models", "show", "nope")[0] == ExitCode.NOT_FOUND
    assert run(capsys, "models", "rollback")[0] == ExitCode.CONFLICT
    assert run(capsys, "batches", "revert", "42")[0] == ExitCode.NOT_FOUND
    code, out, _ = run(capsys, "batches", "list", "--json")
    assert code == 0 and json.loads(out) == []


def test_strict_retrain_exits_9_when_gates_fail(
    cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "retrain", "--json", "--batches", "0")[0] == 0
    code, out, err = run(capsys, "retrain", "--json", "--batches", "0", "--strict")
    assert code == ExitCode.GATES_FAILED and "gates failed" in err
    assert json.loads(out)["promoted"] is False
