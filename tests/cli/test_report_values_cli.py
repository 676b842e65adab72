"""`report batch` and `report weekly` show what a batch was worth per labelled country.

Through the real entry point on the tiny world, on both backends: before any retrain measured
the batch the reports say so and name the command; after `retrain` they show the retrain's
own lines (model value on unseen days, transfer, F1 interval width) in every format, and the
JSON keeps every key it had.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest
from factories import label_first_days

from labelbench.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, _ = capsys.readouterr()
    return code, out


def test_batch_and_weekly_reports_show_the_value_per_labelled_country(
    tiny_world_ws: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LABELBENCH_DATABASE_URL", tiny_world_ws.settings.database_url)
    monkeypatch.setenv("LABELBENCH_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("LABELBENCH_TRAINING__JOBS", "1")
    monkeypatch.setenv("LABELBENCH_TRAINING__N_BOOT", "200")
    assert run(capsys, "retrain", "--json", "--batches", "0")[0] == 0  # the baseline
    batch = label_first_days(tiny_world_ws, "OM", 4)

    # No retrain has measured the batch yet: the reports say so and name the command.
    code, out = run(capsys, "report", "batch", str(batch), "--format", "json")
    assert code == 0
    before = json.loads(out)
    value = before["labelled_country_values"]
    assert value["evaluated"] is False and value["runs"] == []
    assert "No retrain has evaluated batch" in value["message"]
    assert "`labelbench retrain`" in value["message"]
    code, out = run(capsys, "report", "batch", str(batch))
    assert code == 0 and "What its labels were worth" in out and "labelbench retrain" in out
    code, out = run(capsys, "report", "weekly", "--countries", "OM", "--format", "json")
    weekly_before = json.loads(out)
    (wv,) = weekly_before["labelled_country_values"]
    assert wv["batch_id"] == batch and not wv["evaluated"]
    code, out = run(capsys, "report", "weekly", "--countries", "OM", "--format", "md")
    assert code == 0
    assert f"No retrain has evaluated batch {batch} yet" in out and "labelbench retrain" in out

    code, out = run(capsys, "retrain", "--json")
    assert code == 0
    retrained = json.loads(out)
    (attributed,) = retrained["batches"]
    assert attributed["batch_id"] == batch

    code, out = run(capsys, "report", "batch", str(batch), "--format", "json")
    after = json.loads(out)
    assert set(before) <= set(after)  # every key stays; the value only adds
    value = after["labelled_country_values"]
    assert value["evaluated"] is True and value["message"] is None
    (measured,) = value["runs"]
    assert measured["run_id"] == retrained["run_id"]
    om, om_retrain = measured["own_countries"]["OM"], attributed["own_countries"]["OM"]
    assert om["verdict"] == om_retrain["verdict"] and om["n"] == om_retrain["n"]
    assert om["delta"] == pytest.approx(om_retrain["delta"], abs=1e-6)  # reports round to 1e-6
    assert measured["transfer"]["verdict"] == attributed["transfer"]["verdict"]
    assert any(line.strip().startswith("OM: model") for line in measured["lines"])
    for fmt in ("text", "md", "html"):
        code, out = run(capsys, "report", "batch", str(batch), "--format", fmt)
        assert code == 0
        out = html.unescape(out) if fmt == "html" else out
        assert "on unseen OM days" in out, fmt
        assert f"Measured by retrain {retrained['run_id']}" in out, fmt
        assert "F1 interval width" in out or "not measurable" in out, fmt

    code, out = run(capsys, "report", "weekly", "--countries", "OM", "--format", "json")
    weekly_after = json.loads(out)
    assert set(weekly_before) <= set(weekly_after)
    (wv,) = weekly_after["labelled_country_values"]
    assert wv["evaluated"] and wv["runs"][-1]["run_id"] == retrained["run_id"]
    for fmt in ("text", "md", "html"):
        code, out = run(capsys, "report", "weekly", "--countries", "OM", "--format", fmt)
        assert code == 0
        out = html.unescape(out) if fmt == "html" else out
        assert "What this week's labels were worth" in out, fmt
        assert "on unseen OM days" in out, fmt
        assert "How to read this" in out, fmt
        assert f"No retrain has evaluated batch {batch}" not in out, fmt
