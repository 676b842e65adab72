"""Read-only commands start fast: they import none of the heavy libraries, nor Alembic, and
only the command a user names is built.

Each command runs in a fresh interpreter, as a user runs it; `benchmarks/bench_startup.py`
measures the time, these tests keep what cost it out.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from labelbench.cli.main import app, command_app
from labelbench.db.models import ModelRun

#: Loaded lazily by the commands that compute with them (Alembic: by those that migrate).
HEAVY = ("sklearn", "pandas", "matplotlib", "scipy", "textual", "alembic")
_PROBE = """
import json, sys
from labelbench.cli.main import main
codes = [main(argv) for argv in json.loads(sys.argv[1])]
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
print(json.dumps({"codes": codes, "heavy": heavy}))
"""


def _run(commands: list[list[str]], database_url: str) -> dict[str, Any]:
    env = {**os.environ, "LABELBENCH_DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(commands), json.dumps(HEAVY)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_read_only_commands_import_no_heavy_library_nor_alembic(
    tiny_world_ws: Any, tmp_path: Path
) -> None:
    from labelbench.services.queue import build_queue

    ws = tiny_world_ws
    build_queue(ws, actor="lead", countries=["OM"], size=3, strategy="random")
    folder = tmp_path / "models" / "run-a"
    folder.mkdir(parents=True)
    with ws.transaction() as session:  # a registry row, so `models list` renders a run
        session.add(
            ModelRun(
                id="run-a",
                created_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
                pipeline="base",
                engine="fast",
                metrics={"loco_median_f1": 0.8},
                bundle_path=str(folder / "model.joblib"),
                sha256="0" * 64,
                gates_passed=False,
                label_batches=[],
                alias="production",
            )
        )
    commands = [
        ["--help"],
        ["status"],
        ["status", "--json"],
        ["models", "list"],
        ["queue", "show"],
        ["report", "weekly", "--week", "2026-W99"],
    ]
    result = _run(commands, ws.settings.database_url)
    assert result == {"codes": [0, 0, 0, 0, 0, 3], "heavy": []}


def test_schema_errors_import_no_heavy_library_nor_alembic(tmp_path: Path) -> None:
    """A database without the schema is refused (exit 5) without loading Alembic either."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = _run([["status"], ["models", "list"], ["queue", "show"]], url)
    assert result == {"codes": [5, 5, 5], "heavy": []}


def _help(app: typer.Typer, args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with contextlib.suppress(typer.Exit):
        typer.main.get_command(app).main(
            args=[*args, "--help"], prog_name="labelbench", standalone_mode=False
        )
    return capsys.readouterr().out


def test_each_command_is_built_alone_with_the_same_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`main` turns only the named command into a Click command: what it shows must be what the
    whole app shows, for every command and subcommand; no known command means the whole app."""
    paths = [[c.name] for c in app.registered_commands if c.name]
    for group in app.registered_groups:
        assert group.name and group.typer_instance
        paths.append([group.name])
        paths += [[group.name, c.name] for c in group.typer_instance.registered_commands if c.name]
    assert len(paths) > 30
    for path in paths:
        alone = command_app(["--database-url", "sqlite://", "-v", *path])
        assert alone is not app
        shown = _help(alone, path, capsys)
        assert f"Usage: labelbench {' '.join(path)} " in shown
        assert shown == _help(app, path, capsys), path
    for args in ([], ["--help"], ["--version"], ["--config", "status"], ["statu"]):
        assert command_app(args) is app


@pytest.mark.parametrize("countries", [0, 1, 131])
def test_status_country_table_renders_like_a_row_per_country(countries: int) -> None:
    """`status` lays its per-country table out as one row of multi-line cells (fast); what it
    prints must be what a row per country prints, at any width, in colour or not."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from labelbench.cli.data import _COUNTRY_COLUMNS, country_table

    rows = [
        {key: f"C{i}" if key == "country" else (i * 7919) % 10**i for _, key in _COUNTRY_COLUMNS}
        for i in range(countries)
    ]
    reference = Table(
        *(heading for heading, _ in _COUNTRY_COLUMNS),
        title="per country",
        caption=country_table([]).caption,
        box=box.SIMPLE_HEAD,
        padding=(0, 0),
    )
    for row in rows:
        reference.add_row(*(str(row[key]) for _, key in _COUNTRY_COLUMNS))

    def shown(table: Table, width: int, colour: bool) -> str:
        console = Console(
            soft_wrap=True, width=width, force_terminal=colour, color_system="truecolor"
        )
        with console.capture() as out:
            console.print(table)
        return out.get()

    for width in (20, 40, 60, 80, 120, 200):
        for colour in (False, True):
            expected = shown(reference, width, colour)
            assert shown(country_table(rows), width, colour) == expected, (width, colour)
