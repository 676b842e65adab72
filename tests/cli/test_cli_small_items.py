"""Small things that erode trust, each through the real entry point: `queue show` states,
flags in `--help`, and the demo sizes the help and README promise."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from labelbench.cli.main import main
from labelbench.db.models import QueueItem

ROOT = Path(__file__).resolve().parents[2]


def test_queue_show_pending_expired_and_live_claims(
    tiny_world_ws: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tiny_world_ws
    monkeypatch.setenv("LABELBENCH_DATABASE_URL", ws.settings.database_url)
    monkeypatch.setenv("COLUMNS", "200")  # one table row per line
    assert main(["queue", "build", "--countries", "OM,KW", "--size", "4", "--json"]) == 0
    capsys.readouterr()
    now = dt.datetime.now(dt.UTC)
    with ws.transaction() as session:
        first, second, *_ = session.scalars(
            select(QueueItem.id).where(QueueItem.purpose == "primary").order_by(QueueItem.rank)
        ).all()
        session.execute(
            update(QueueItem)
            .where(QueueItem.id == first)
            .values(status="claimed", claimed_by="ana", lease_expires_at=now - dt.timedelta(1))
        )
        session.execute(
            update(QueueItem)
            .where(QueueItem.id == second)
            .values(status="claimed", claimed_by="bob", lease_expires_at=now + dt.timedelta(1))
        )
    assert main(["queue", "show"]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out
    assert "pending (ana's claim expired)" in out and "claimed (bob)" in out
    assert "claimed (ana)" not in out
    assert re.search(r"\bpending\s", out)  # unclaimed rows read plain "pending"


@pytest.mark.parametrize("command", [["status"], ["report", "weekly"], ["queue", "show"], []])
def test_flags_show_no_value_type_in_help(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "<bool>" not in out
    if command:
        assert main([*command, "--help=yes"]) == 2  # a flag really takes no value


def test_demo_sizes_in_help_and_readme_match_what_demo_builds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The demo (seed 0) builds 89,874 evidence rows, 2,302 incidents, 4,420 samples in 131
    countries (tests/synth checks the world itself); help and README quote those sizes."""
    assert main(["demo", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    for text in (help_text, readme):
        assert "~90k evidence rows" in text and "~2,300 incidents" in text
        assert "~4,400 samples" in text and "131 countries" in text


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_reports_and_exports_follow_the_umask(
    tiny_world_ws: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    mask: int,
) -> None:
    import os

    monkeypatch.setenv("LABELBENCH_DATABASE_URL", tiny_world_ws.settings.database_url)
    old = os.umask(mask)
    try:
        week = tmp_path / "week.html"
        assert main(["report", "weekly", "--format", "md", "--out", str(week)]) == 0
        labels = tmp_path / "labels.csv"
        assert main(["export", "labels", "--out", str(labels)]) == 0
    finally:
        os.umask(old)
    for path in (week, labels):
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path
    assert not list(tmp_path.glob(".*.tmp"))


def test_unknown_strategy_is_a_bad_flag_value(
    tiny_world_ws: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABELBENCH_DATABASE_URL", tiny_world_ws.settings.database_url)
    assert main(["queue", "build", "--strategy", "nope"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown strategy 'nope'" in err
    assert main(["queue", "build", "--size", "many"]) == 3
