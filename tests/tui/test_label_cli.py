"""`labelbench label` / `review` wiring: flags reach the app, the summary is printed after exit."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from labelbench.cli import label as label_cli
from labelbench.cli.state import CliState
from labelbench.config import Settings
from labelbench.errors import ConfigError
from labelbench.services.labelling import CountryProgress, Progress
from labelbench.tui.app import LabelApp
from labelbench.tui.screens.label import LabelScreen
from labelbench.tui.screens.review import ReviewScreen
from labelbench.tui.summary import SessionSummary


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _global(ctx: typer.Context, database_url: str = typer.Option(None)) -> None:
        ctx.obj = CliState(overrides={"database_url": database_url})

    app.command("label")(label_cli.label)
    app.command("review")(label_cli.review)
    return app


def test_label_passes_flags_and_prints_the_summary(
    tui_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(self: LabelApp, *args: Any, **kwargs: Any) -> SessionSummary:
        screen = self._first
        assert isinstance(screen, LabelScreen)
        seen.update(
            analyst=screen.service.analyst,
            countries=screen.service.countries,
            batch_size=screen.service.batch_size,
            trainer=screen.ensure_baseline,
        )
        progress = Progress(1, "zoe", 3, 12.0, 7, [CountryProgress("OM", 3, 2, 2, 25)])
        return SessionSummary("zoe", 1, True, progress, 3)

    monkeypatch.setattr(LabelApp, "run", fake_run)
    result = CliRunner().invoke(
        cli(),
        [
            "--database-url",
            tui_settings.database_url,
            "label",
            "--countries",
            "om, ly",
            "--analyst",
            "zoe",
            "--batch-size",
            "5",
            "--no-train",
        ],
    )
    assert result.exit_code == 0, result.output
    assert seen == {"analyst": "zoe", "countries": ["OM", "LY"], "batch_size": 5, "trainer": None}
    assert "labelbench retrain" in result.output
    assert "2 / 25" in result.output


def test_review_opens_the_review_screen(
    tui_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def fake_run(self: LabelApp, *args: Any, **kwargs: Any) -> None:
        assert isinstance(self._first, ReviewScreen)
        seen.append(self._first.lead)

    monkeypatch.setattr(LabelApp, "run", fake_run)
    result = CliRunner().invoke(
        cli(), ["--database-url", tui_settings.database_url, "review", "--lead", "lee"]
    )
    assert result.exit_code == 0, result.output
    assert seen == ["lee"]


def test_bad_key_map_fails_before_the_app_starts(
    tui_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABELBENCH_KEYS", '{"jump": "j"}')
    result = CliRunner().invoke(
        cli(), ["--database-url", tui_settings.database_url, "label", "--analyst", "x"]
    )
    assert isinstance(result.exception, ConfigError)
    assert "jump" in str(result.exception)
