"""Fixtures for the labelling-app tests: a SQLite tiny world copied from one template per run.

Building the tiny world takes ~0.5 s; copying a finished database file takes milliseconds, which
keeps the whole TUI suite well under a minute on two cores.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelbench.config import Settings
from labelbench.services.workspace import Workspace, open_workspace


@pytest.fixture(scope="session")
def tiny_world_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file holding the tiny world with features (built once per session)."""
    from factories import load_world, tiny_world

    from labelbench.db import migrate
    from labelbench.db.engine import make_engine
    from labelbench.services.features import build_features
    from labelbench.services.reference import sync_countries

    path = tmp_path_factory.mktemp("tui-template") / "template.db"
    settings = Settings(database_url=f"sqlite:///{path}", models_dir=path.parent / "models")
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    ws = Workspace(settings, engine)
    with ws.transaction() as session:
        sync_countries(session, settings)
    load_world(ws, tiny_world())
    build_features(ws)
    ws.close()  # the last connection closing checkpoints the WAL into the main file
    return path


@pytest.fixture
def tui_settings(tiny_world_template: Path, tmp_path: Path) -> Settings:
    path = tmp_path / "labelbench.db"
    shutil.copy(tiny_world_template, path)
    for suffix in ("-wal", "-shm"):
        extra = tiny_world_template.with_name(tiny_world_template.name + suffix)
        if extra.exists():
            shutil.copy(extra, path.with_name(path.name + suffix))
    return Settings(database_url=f"sqlite:///{path}", models_dir=tmp_path / "models")


@pytest.fixture
def tui_ws(tui_settings: Settings) -> Iterator[Workspace]:
    ws = open_workspace(tui_settings)
    yield ws
    ws.close()
