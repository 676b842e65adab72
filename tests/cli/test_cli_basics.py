"""The real entry point: help, exit codes, error lines, no passwords in output."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labelbench.cli.main import main
from labelbench.errors import ExitCode


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("demo", "status", "db", "features", "export"):
        assert command in out


def test_python_dash_m_and_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "labelbench", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0 and out.stdout.startswith("labelbench ")


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "no-such-command")
    assert code == ExitCode.USAGE and "No such command" in err


def test_missing_schema_exits_5_with_hint(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "status")
    assert code == ExitCode.SCHEMA
    assert err.count("\n") == 1 and "labelbench db upgrade" in err


def test_bad_setting_exits_3(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABELBENCH_MIN_EVIDENCE", "lots")
    code, _, err = run(capsys, "status")
    assert code == ExitCode.CONFIG and "min_evidence" in err


def test_unreachable_database_exits_4_without_password(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "--database-url", "postgresql+psycopg://lead:hunter2@127.0.0.1:1/x", "status"
    )
    assert code == ExitCode.DATABASE
    assert "hunter2" not in err and "***" in err and err.count("\n") == 1


def test_traceback_flag_shows_the_stack(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--traceback", "status")
    assert code == ExitCode.SCHEMA and "Traceback" in err


def test_db_upgrade_then_current_and_status_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert run(capsys, "db", "upgrade")[0] == 0
    code, out, _ = run(capsys, "db", "current")
    assert code == 0 and "head" in out
    code, out, _ = run(capsys, "status", "--json")
    data = json.loads(out)
    assert code == 0
    for key in (
        "countries",
        "samples",
        "positives",
        "evidence_rows",
        "incidents",
        "human_labels",
        "per_country",
    ):
        assert key in data


def test_export_refuses_unknown_format_exit_7(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    code, _, err = run(capsys, "export", "samples", "--out", "x.xlsx")
    assert code == ExitCode.INPUT and ".csv or .parquet" in err


def test_downgrade_needs_yes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    assert run(capsys, "db", "downgrade", "base")[0] == ExitCode.INPUT


def test_unknown_revision_and_unwritable_rejects_have_documented_exit_codes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from labelbench.cli.main import main
    from labelbench.errors import ExitCode

    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["--database-url", url, "db", "upgrade", "nosuchrev"]) == ExitCode.INPUT
    assert main(["--database-url", url, "db", "upgrade"]) == ExitCode.OK
    bad = tmp_path / "bad.csv"
    bad.write_text("country,start,end,type\nIR,2026-01-01,2026-01-02,censorship\nXX,,,\n")
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    code = main([
        "--database-url", url, "import", "incidents", str(bad), "--skip-bad-rows",
        "--rejects", str(blocked / "rejects.csv"), "--no-build",
    ])  # fmt: skip
    assert code == ExitCode.INPUT


def test_an_unwritable_export_target_is_bad_input_not_a_crash(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from labelbench.cli.main import main
    from labelbench.errors import ExitCode

    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["--database-url", url, "db", "upgrade"]) == ExitCode.OK
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    out = blocked / "labels.csv"  # a folder that is a file: NotADirectoryError
    assert main(["--database-url", url, "export", "labels", "--out", str(out)]) == ExitCode.INPUT
