"""What a batch was worth: one retrain's lines, the latest of several, and every 'why not'."""

from __future__ import annotations

import datetime as dt
from typing import Any

from labelbench.reports.metrics import RunInfo
from labelbench.reports.values import batch_value, not_yet, value_lines

T0 = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def _attributed(batch_id: int, delta: float) -> dict[str, Any]:
    return {
        "batches": [
            {
                "batch_id": batch_id,
                "analyst": "ana",
                "labels": 25,
                "countries": ["OM"],
                "own_countries": {
                    "OM": {
                        "evaluable": True,
                        "delta": delta,
                        "ci_low": 0.04,
                        "ci_high": 0.2,
                        "verdict": "helped",
                        "delta_serving": 0.1,
                        "ci_low_serving": -0.02,
                        "ci_high_serving": 0.2,
                        "verdict_serving": "no detectable change",
                        "f1_ci_width_before": 0.41,
                        "f1_ci_width_after": 0.27,
                        "positives_before": 10,
                        "positives": 35,
                    }
                },
                "transfer": {
                    "delta_loco_median_f1": 0.0,
                    "ci_low": -0.01,
                    "ci_high": 0.01,
                    "countries": 119,
                    "verdict": "no detectable change",
                },
            }
        ]
    }


def _run(run_id: str, hours: int, batches: list[int], metrics: Any, alias: Any = None) -> RunInfo:
    return RunInfo(run_id, T0 + dt.timedelta(hours=hours), alias, True, batches, metrics)


def test_the_latest_measurement_is_shown_in_plain_words() -> None:
    runs = [_run("r2", 2, [7], _attributed(7, 0.12)), _run("r1", 1, [7], _attributed(7, 0.05))]
    value = batch_value(runs, 7)
    assert value["evaluated"] and [r["run_id"] for r in value["runs"]] == ["r1", "r2"]
    lines = value_lines(value)
    assert lines[0] == (
        "Batch 7 (ana, 25 labels in OM), measured by retrain r2 (2026-11-20); "
        "1 earlier retrain measured it too:"
    )
    assert lines[1].startswith("OM: model +0.12 [+0.04, +0.20] on unseen OM days at 0.5 (helped)")
    assert "F1 interval width 0.41 -> 0.27 (10 -> 35 positives to score on)" in lines[1]
    assert lines[2] == (
        "transfer: LOCO median F1 over 119 other countries +0.00 [-0.01, +0.01] "
        "(no detectable change)"
    )
    assert value_lines(value, header=False)[0].startswith("Measured by retrain r2")


def test_why_a_batch_was_not_measured() -> None:
    fresh = batch_value([], 3)
    assert not fresh["evaluated"] and "`labelbench retrain`" in fresh["message"]
    assert value_lines(fresh) == [fresh["message"]]
    trained = batch_value([_run("r1", 1, [3], {"batches": []})], 3)
    assert trained["included_in_runs"] == ["r1"]
    assert "`labelbench retrain --batches N`" in trained["message"]
    serving = batch_value([_run("r1", 1, [3], {"batches": []}, alias="production")], 3)
    assert "part of production now" in serving["message"]
    missing = RunInfo("r1", T0, None, None, [3], None, "run files unavailable: gone")
    assert (
        "cannot be read (r1: run files unavailable: gone)" in batch_value([missing], 3)["message"]
    )
    assert not_yet([4]).startswith("No retrain has evaluated batch 4 yet")
    assert "batches 4, 5" in not_yet([4, 5]) and "their labels" in not_yet([4, 5])
