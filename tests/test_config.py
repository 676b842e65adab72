"""Settings precedence (defaults < labelbench.toml < env < flags) and password redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelbench.config import DEFAULT_DATABASE_URL, load_settings, redact_url
from labelbench.errors import ConfigError


def test_defaults() -> None:
    s = load_settings()
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.models_dir == Path("models")
    assert s.queue.strategy == "hybrid" and s.training.pipeline == "base"


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "labelbench.toml").write_text(
        'database_url = "sqlite:///from-file.db"\nmin_evidence = 7\n[queue]\nbatch_size = 10\n'
    )
    s = load_settings()
    assert (s.database_url, s.min_evidence, s.queue.batch_size) == ("sqlite:///from-file.db", 7, 10)
    monkeypatch.setenv("LABELBENCH_DATABASE_URL", "sqlite:///from-env.db")
    monkeypatch.setenv("LABELBENCH_QUEUE__BATCH_SIZE", "12")
    s = load_settings()
    assert (s.database_url, s.min_evidence, s.queue.batch_size) == ("sqlite:///from-env.db", 7, 12)
    s = load_settings(database_url="sqlite:///from-flag.db")
    assert s.database_url == "sqlite:///from-flag.db"


def test_explicit_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_invalid_values_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELBENCH_MIN_EVIDENCE", "many")
    with pytest.raises(ConfigError, match="min_evidence"):
        load_settings()


def test_malformed_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "labelbench.toml").write_text("database_url = \n")
    with pytest.raises(ConfigError):
        load_settings()


def test_passwords_are_redacted() -> None:
    assert redact_url("postgresql+psycopg://lead:s3cret@db:5432/prod") == (
        "postgresql+psycopg://lead:***@db:5432/prod"
    )
    s = load_settings(database_url="postgresql://u:pw@h/d")
    assert "pw" not in s.safe_database_url


def test_strategy_names_and_shares_are_checked_when_settings_load() -> None:
    import pytest

    from labelbench.config import load_settings
    from labelbench.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown strategy 'hybird'"):
        load_settings(queue={"strategy": "hybird"})
    with pytest.raises(ConfigError, match=r"queue\.exploration_share"):
        load_settings(queue={"exploration_share": 1.5})
