"""The main job's first half on the default: `labelbench demo` on SQLite, then status/export."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from labelbench.cli.main import main
from labelbench.domain.constants import FEATURES


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_status_export_and_idempotent_rerun(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "demo", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["created"] and 75_000 <= report["evidence_rows"] <= 95_000
    assert Path("labelbench.db").is_file()  # the embedded default: SQLite in the cwd

    code, out, _ = run(capsys, "status", "--json")
    status = json.loads(out)
    assert code == 0 and status["countries"] == 131
    assert 3_800 <= status["samples"] <= 4_600 and status["human_labels"] == 0
    assert 0.22 <= status["positives"] / status["samples"] <= 0.30
    kw = next(c for c in status["per_country"] if c["country"] == "KW")
    assert set(kw) >= {"country", "samples", "positives", "human_labels", "candidates"}
    assert 8 <= kw["samples"] <= 18
    # Every day with evidence is a candidate: a few hundred per watch-list country.
    assert 200 <= kw["candidates"] <= 365 and status["candidate_days"] > 20_000

    csv = tmp_path / "samples.csv"
    assert run(capsys, "export", "samples", "--out", str(csv))[0] == 0
    frame = pd.read_csv(csv)
    assert len(frame) == status["samples"]
    assert {"country", "day", *FEATURES, "label", "label_source", "evidence_fingerprint"} <= set(
        frame.columns
    )
    assert frame["label"].sum() == status["positives"]
    pq = tmp_path / "labels.parquet"
    assert run(capsys, "export", "labels", "--out", str(pq))[0] == 0
    assert pd.read_parquet(pq).empty

    code, out, _ = run(capsys, "demo")
    assert code == 0 and "kept the existing database" in out
    code, out, _ = run(capsys, "features", "build", "--json")
    assert code == 0 and json.loads(out)["inserted"] == 0 and json.loads(out)["updated"] == 0


def test_demo_on_postgresql_is_the_same_world(
    capsys: pytest.CaptureFixture[str], pg_url: str
) -> None:
    """COPY in, COPY out: the same samples as on SQLite, and a rebuild writes nothing."""

    def world(*flags: str) -> dict[str, object]:
        assert run(capsys, *flags, "demo")[0] == 0
        code, out, _ = run(capsys, *flags, "status", "--json")
        assert code == 0
        status = json.loads(out)
        return {k: status[k] for k in ("samples", "positives", "evidence_rows", "per_country")}

    assert world("--database-url", pg_url) == world()
    code, out, _ = run(capsys, "--database-url", pg_url, "features", "build", "--json")
    report = json.loads(out)
    assert code == 0 and report["inserted"] == report["updated"] == 0
