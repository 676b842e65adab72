"""`demo` never fills or drops a database holding data it did not make; `--reset` asks first."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from labelbench.cli.main import main
from labelbench.db.models import Evidence
from labelbench.db.truth import DemoTruth
from labelbench.errors import ConflictError
from labelbench.services.demo import create_demo, inspect_database
from labelbench.services.workspace import Workspace


def _evidence(ws: Workspace) -> int:
    with ws.transaction(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(Evidence)) or 0)


def test_demo_refuses_a_database_with_a_teams_data(tiny_world_ws: Workspace) -> None:
    ws = tiny_world_ws
    before = _evidence(ws)
    assert not inspect_database(ws.settings).demo
    for reset in (False, True):
        with pytest.raises(ConflictError, match="did not make"):
            create_demo(ws.settings, reset=reset)
    assert _evidence(ws) == before
    code = main(["--database-url", ws.settings.database_url, "demo", "--reset", "--yes"])
    assert code == 10 and _evidence(ws) == before


def test_reset_of_a_demo_database_needs_a_yes_without_a_terminal(
    tiny_world_ws: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tiny_world_ws
    with ws.transaction() as session:  # mark it as the demo's own
        session.add(DemoTruth(country="OM", day=dt.date(2026, 1, 1), is_censorship=True))
    assert inspect_database(ws.settings).demo
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    before = _evidence(ws)
    code = main(["--database-url", ws.settings.database_url, "demo", "--reset"])
    assert code == 7 and "--yes" in capsys.readouterr().err
    assert _evidence(ws) == before
