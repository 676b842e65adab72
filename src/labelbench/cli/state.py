"""Per-invocation CLI state: global flags, resolved settings, consoles.

The settings module (pydantic-settings) is imported on first use, so `--help` and usage errors
never load it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from labelbench.config import Settings
    from labelbench.services.workspace import Workspace


@dataclass
class CliState:
    """Global options, turned into settings on first use (so `--help` never touches config)."""

    config_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    verbose: bool = False
    _settings: Settings | None = None
    out: Console = field(default_factory=lambda: Console(soft_wrap=True))
    err: Console = field(default_factory=lambda: Console(stderr=True))

    def settings(self, **command_overrides: Any) -> Settings:
        """Settings with CLI flags on top (command flags override global ones)."""
        from labelbench.config import load_settings  # pydantic-settings: not for `--help`

        merged = {**self.overrides, **{k: v for k, v in command_overrides.items() if v is not None}}
        if self._settings is None or command_overrides:
            self._settings = load_settings(self.config_file, **merged)
        return self._settings

    @contextlib.contextmanager
    def workspace(self) -> Iterator[Workspace]:
        """The database for one command: connected, schema checked, closed afterwards."""
        from labelbench.services.workspace import open_workspace

        ws = open_workspace(self.settings())
        try:
            yield ws
        finally:
            ws.close()

    def info(self, message: str) -> None:
        """Progress chatter goes to stderr so piped stdout (JSON, CSV) stays clean."""
        self.err.print(f"[dim]{message}[/dim]", highlight=False)


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState()
        ctx.find_root().obj = obj
    return obj


def bad_option(name: str, message: str) -> typer.BadParameter:
    """A flag value that parsed but makes no sense: the CLI exits 3 (see ``cli.main``)."""
    return typer.BadParameter(message, param_hint=f"'{name}'")
