"""retrain reuses production's kept fits: same report, whatever state the kept file is in.

Production's evaluation of itself is kept beside its bundle (``folds.npz``); the next retrain
seeds its fit cache with it. The numbers must not depend on that: the report with the kept fits,
without them (file missing) and with a damaged file must be identical, on both backends.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from factories import label_first_days

from labelbench.ml.foldcache import FILE_NAME
from labelbench.services.retrain import retrain

#: Keys that name the run or time it, or describe the cache itself: everything else must match.
RUN_KEYS = ("run_id", "bundle_dir", "kept_fits", "promotion_reason")


def _numbers(report: Any) -> dict[str, Any]:
    data = report.to_dict()
    for key in RUN_KEYS:
        data.pop(key)
    for side in ("candidate", "production"):
        data[side].pop("elapsed_seconds", None)
    return data


def test_kept_fits_missing_or_damaged_give_the_same_report(tiny_world_ws: Any) -> None:
    ws = tiny_world_ws
    ws.settings.training.jobs = 1
    ws.settings.training.n_boot = 200
    ws.settings.training.base_params = {"max_iter": 10}  # small fits: the same code paths
    ws.settings.training.head_params = {"max_iter": 5}
    first = retrain(ws, actor="ml", pipeline="stacked")
    kept = first.bundle_dir / FILE_NAME
    assert kept.is_file() and first.to_dict()["kept_fits"]["status"] == "none"
    label_first_days(ws, "OM", 4)

    with_kept = retrain(ws, actor="ml", pipeline="stacked", promote=False)
    info = with_kept.to_dict()["kept_fits"]
    assert info["status"] == "ok" and info["source_run"] == first.run_id
    assert 0 < info["reused"] <= info["loaded"]

    backup = Path(str(kept) + ".bak")
    shutil.copy(kept, backup)
    kept.unlink()
    missing = retrain(ws, actor="ml", pipeline="stacked", promote=False)
    assert missing.to_dict()["kept_fits"]["status"].startswith("unusable: folds.npz is missing")

    kept.write_bytes(backup.read_bytes()[:-100] + b"\0" * 100)  # damaged: differs from manifest
    damaged = retrain(ws, actor="ml", pipeline="stacked", promote=False)
    assert "does not match its manifest" in damaged.to_dict()["kept_fits"]["status"]
    assert damaged.to_dict()["kept_fits"]["reused"] == 0

    assert _numbers(with_kept) == _numbers(missing) == _numbers(damaged)
    assert with_kept.batches and with_kept.batches[0].own_countries
