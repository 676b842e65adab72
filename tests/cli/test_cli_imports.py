"""`labelbench import` and `export labels` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from labelbench.cli.main import main
from labelbench.errors import ExitCode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


@pytest.fixture
def cli_db(workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    url = workspace.settings.database_url
    monkeypatch.setenv("LABELBENCH_DATABASE_URL", url)
    monkeypatch.setenv("LABELBENCH_MODELS_DIR", str(tmp_path / "models"))
    return str(url)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_rejected_file_exit_code_lists_lines_then_skip_bad_rows(
    cli_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = tmp_path / "incidents.csv"
    src.write_bytes((FIXTURES / "incidents_realworld.csv").read_bytes())
    code, out, err = run(capsys, "import", "incidents", str(src), "--ongoing-until", "2026-07-30")
    assert code == ExitCode.REJECTED and out == ""
    first, *details = err.strip().splitlines()
    assert "rejected and nothing was written" in first
    assert any("line " in d and "Atlantis" in d for d in details)
    assert "--skip-bad-rows" in err
    code, out, err = run(
        capsys, "import", "incidents", str(src), "--skip-bad-rows", "--ongoing-until",
        "2026-07-30", "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["rejected_rows"] == 1 and data["inserted"] > 0
    assert Path(data["rejects_file"]).exists()
    code, out, _ = run(
        capsys, "import", "incidents", str(src), "--skip-bad-rows", "--ongoing-until", "2026-07-30"
    )
    assert code == 0 and "0 new, 0 updated" in out
    # Without --ongoing-until the open-ended incidents run to the last evidence day (or today on
    # a database without evidence): only those two rows move.
    code, out, _ = run(capsys, "import", "incidents", str(src), "--skip-bad-rows")
    assert code == 0 and "0 new, 2 updated" in out


def test_bad_flags_and_missing_file_get_clear_errors(
    cli_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = FIXTURES / "incidents_clean.csv"
    code, _, err = run(capsys, "import", "incidents", str(src), "--type-map", "Riot=protest")
    assert code == ExitCode.INPUT and "censorship, mixed or disruption" in err
    code, _, err = run(capsys, "import", "incidents", str(src), "--type-map", "nonsense")
    assert code == ExitCode.INPUT and "NAME=VALUE" in err
    code, _, _ = run(capsys, "import", "incidents", str(tmp_path / "nope.csv"))
    assert code == ExitCode.USAGE
    odd = tmp_path / "data.xlsx"
    odd.write_text("x", encoding="utf-8")
    code, _, err = run(capsys, "import", "evidence", str(odd))
    assert code == ExitCode.INPUT and len(err.strip().splitlines()) == 1


def test_import_evidence_and_samples_then_export_labels(
    cli_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "import", "evidence", str(FIXTURES / "ooni_aggregate.csv"))
    assert code == 0, err
    assert "(ooni)" in out and "features rebuilt" in out
    code, out, err = run(
        capsys, "import", "samples", str(FIXTURES / "samples_features.csv"), "--json"
    )
    assert code == 0, err and json.loads(out)["inserted"] > 0
    code, out, err = run(capsys, "status", "--json")
    assert code == 0 and json.loads(out)["samples"] > 0
    target = tmp_path / "labels.csv"
    code, _, err = run(capsys, "export", "labels", "--out", str(target))
    assert code == 0, err
    assert "adjudicated_verdict" in pd.read_csv(target).columns


def test_import_help_teaches_the_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "import", "incidents", "--help")
    assert code == 0
    for needle in ("--ongoing-until", "--type-map", "--skip-bad-rows", "--date-order"):
        assert needle in out


def test_import_labels_and_a_regional_incident_list(
    cli_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "import", "samples", str(FIXTURES / "samples_features.csv"))
    assert code == 0, err
    day = pd.read_csv(FIXTURES / "samples_features.csv").iloc[0]
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "country,day,verdict,analyst,note\n"
        f"{day['country']},{day['day']},yes,dana,=cmd\n"
        f"{day['country']},{day['day']},unsure,eve,\n"
    )
    code, out, err = run(capsys, "import", "labels", str(sheet))
    assert code == 0, err
    assert "2 new" in out and "batch" in out and "batches revert" in out
    code, out, _ = run(capsys, "import", "labels", str(sheet))
    assert code == 0 and "0 new, 0 updated, 2 unchanged" in out

    regional = FIXTURES / "incidents_regional.csv"
    code, out, err = run(capsys, "import", "incidents", str(regional), "--no-build")
    assert code == 0, err
    assert "4 new" in out and "ignored unknown column(s): Affected users" in out
    assert "1 incident(s) with end 'Unknown' read as single-day" in out
    code, _, err = run(capsys, "import", "incidents", str(regional), "--strict-columns")
    assert code == ExitCode.REJECTED and "Affected users" in err
