"""Eight analyst processes on one database, two of them killed -9 mid-run (both backends)."""

from __future__ import annotations

import sys
from pathlib import Path

from labelbench.services.queue import build_queue
from labelbench.services.workspace import Workspace

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from bench_concurrency import run_analysts


def test_eight_analysts_share_a_queue_safely(tiny_world_ws: Workspace, tmp_path: Path) -> None:
    ws = tiny_world_ws
    build_queue(ws, actor="lead", countries=["all"], size=10_000)
    result = run_analysts(
        ws.settings.database_url,
        tmp_path / "logs",
        analysts=8,
        seconds=6,
        kill=2,
        models_dir=ws.settings.models_dir,
    )
    assert result.decisions >= 12  # the analysts really worked side by side
    assert result.killed == ["analyst0", "analyst1"]
    assert result.double_served == []
    assert result.lost == []
    assert result.locking_errors == 0
    assert result.other_errors == []
