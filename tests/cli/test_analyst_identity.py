"""Who is labelling: flag, config, remembered name, OS user; asked once when the user is root."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from labelbench.cli.label import resolve_analyst
from labelbench.config import remembered_analyst
from labelbench.errors import InputError

ERR = Console(file=io.StringIO())


def test_flag_then_config_then_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "fatima")
    assert resolve_analyst("ana", "bo", ERR) == "ana"
    assert resolve_analyst(None, "bo", ERR) == "bo"
    assert resolve_analyst(None, None, ERR) == "fatima"


def test_root_is_asked_once_and_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "root")
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["", "  Layla  "])
    monkeypatch.setattr("typer.prompt", lambda *a, **k: next(answers))
    assert resolve_analyst(None, None, ERR) == "Layla"
    assert remembered_analyst() == "Layla"
    monkeypatch.setattr("typer.prompt", lambda *a, **k: pytest.fail("asked twice"))
    assert resolve_analyst(None, None, ERR) == "Layla"


def test_root_without_a_terminal_is_told_how_to_name_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "root")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(InputError, match="--analyst"):
        resolve_analyst(None, None, ERR)
