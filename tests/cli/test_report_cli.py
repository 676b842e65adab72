"""`labelbench report weekly|batch` through the real entry point: exit codes, formats, files."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from labelbench.errors import ExitCode

Main = Callable[[list[str]], int]


@pytest.fixture
def main() -> Iterator[Main]:
    """`labelbench.cli.main.main`, with `report` registered if cli/main.py does not do it yet."""
    from labelbench.cli import main as entry
    from labelbench.cli import report

    added = None
    if not any(g.name == "report" for g in entry.app.registered_groups):
        entry.app.add_typer(report.app, name="report")
        added = entry.app.registered_groups[-1]
    yield entry.main
    if added is not None:
        entry.app.registered_groups.remove(added)


def run(main: Main, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def upgraded(main: Main, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty, migrated SQLite database in the test's working directory."""
    assert run(main, capsys, "db", "upgrade")[0] == 0


@pytest.mark.parametrize("week", ["2026-W54", "2021-W53", "last-week", "2026-47"])
def test_bad_week_exits_3(main: Main, capsys: pytest.CaptureFixture[str], week: str) -> None:
    """A bad flag value is the README's exit 3, on one line, before the database is touched."""
    code, out, err = run(main, capsys, "report", "weekly", "--week", week)
    assert code == ExitCode.CONFIG and out == ""
    assert err.count("\n") == 1 and "bad week" in err


def test_unknown_batch_exits_6(
    main: Main, capsys: pytest.CaptureFixture[str], upgraded: None
) -> None:
    code, out, err = run(main, capsys, "report", "batch", "424242")
    assert code == ExitCode.NOT_FOUND and out == ""
    assert err.count("\n") == 1 and "424242" in err


def test_unknown_country_exits_7(
    main: Main, capsys: pytest.CaptureFixture[str], upgraded: None
) -> None:
    code, _, err = run(main, capsys, "report", "weekly", "--week", "2026-W47", "--countries", "XX")
    assert code == ExitCode.INPUT and "XX" in err


def test_empty_database_weekly_in_every_format(
    main: Main, capsys: pytest.CaptureFixture[str], upgraded: None, tmp_path: Path
) -> None:
    code, out, err = run(main, capsys, "report", "weekly", "--week", "2020-W53", "--format", "json")
    assert code == 0 and err == ""
    obj = json.loads(out)  # exactly one JSON object on stdout
    assert obj["week"] == "2020-W53" and obj["countries"] == []
    assert obj["message"] == "no labels in 2020-W53: no countries with samples yet"

    code, out, _ = run(main, capsys, "report", "weekly", "--week", "2020-W53")
    assert code == 0 and "No labels in 2020-W53" in out

    code, out, _ = run(main, capsys, "report", "weekly", "--week", "2020-W53", "--format", "md")
    assert code == 0 and out.startswith("# Weekly labelling report 2020-W53")

    code, out, _ = run(main, capsys, "report", "weekly", "--week", "2020-W53", "--format", "csv")
    assert code == 0 and out.startswith("week,country,labels,")

    target = tmp_path / "weekly.html"
    code, out, err = run(
        main,
        capsys,
        "report",
        "weekly",
        "--week",
        "2020-W53",
        "--format",
        "html",
        "--out",
        str(target),
    )
    assert code == 0 and out == "" and "wrote" in err
    page = target.read_text(encoding="utf-8")
    sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(sources) == 3
    for src in sources:
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    assert not list(tmp_path.glob(".weekly.html.*"))  # no temporary file left behind

    code, _, err = run(
        main,
        capsys,
        "report",
        "weekly",
        "--week",
        "2020-W53",
        "--format",
        "md",
        "--out",
        str(tmp_path / "nope" / "x.md"),
    )
    assert code == ExitCode.INPUT and "does not exist" in err


def test_default_week_and_bad_format(
    main: Main, capsys: pytest.CaptureFixture[str], upgraded: None
) -> None:
    code, out, _ = run(main, capsys, "report", "weekly", "--format", "json")
    assert code == 0 and re.fullmatch(r"\d{4}-W\d{2}", json.loads(out)["week"])
    code, _, err = run(main, capsys, "report", "weekly", "--format", "pdf")
    assert code == ExitCode.CONFIG and "pdf" in err and err.count("\n") == 1
    code, _, err = run(main, capsys, "report", "weekly", "--low-yield", "1.5")
    assert code == ExitCode.CONFIG and "--low-yield" in err
    code, _, err = run(main, capsys, "report", "weekly", "--week", "2026-W47", "--last-week")
    assert code == ExitCode.CONFIG and "not both" in err
    code, _, err = run(main, capsys, "report", "weekly", "--no-such-flag")
    assert code == ExitCode.USAGE  # an unknown option stays a usage error
