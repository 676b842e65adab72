"""One typed settings object: defaults < ``labelbench.toml`` < ``LABELBENCH_*`` env < CLI flags.

Nested sections map to env vars with a double underscore, e.g. ``LABELBENCH_QUEUE__BATCH_SIZE=40``.
The config file is ``labelbench.toml`` in the working directory unless ``LABELBENCH_CONFIG`` (or the
CLI's ``--config``) names another one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from labelbench.domain import constants
from labelbench.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///labelbench.db"
CONFIG_ENV = "LABELBENCH_CONFIG"
DEFAULT_CONFIG_FILE = "labelbench.toml"


class TrainingSettings(BaseModel):
    """How `labelbench retrain` trains and evaluates."""

    pipeline: Literal["base", "stacked"] = "base"
    """``base``: the production v3.3 recipe; ``stacked``: v3.4 (cluster heads + stacker)."""
    engine: Literal["exact", "fast"] = "fast"
    """``exact`` = GradientBoostingClassifier; ``fast`` = histogram gradient boosting."""
    jobs: int = 2
    """Parallel LOCO folds (joblib); -1 uses every core."""
    random_state: int = 0
    n_boot: int = 1000
    """Bootstrap resamples for per-country intervals."""
    small_n: int = constants.SMALL_N
    """Countries with fewer samples are flagged small-n: swings there are never regressions."""
    base_params: dict[str, Any] = Field(default_factory=dict)
    """Extra hyper-parameters for the base gradient-boosting model."""
    head_params: dict[str, Any] = Field(default_factory=dict)
    """Extra hyper-parameters for the cluster heads (default depth 3, 50 trees)."""
    n_anchors: int = 200
    """Random out-of-cluster negative anchors per cluster head."""


class GateSettings(BaseModel):
    """Promotion gates (defaults: the production policy)."""

    loco_median_f1: float = constants.GATE_LOCO_MEDIAN_F1
    watchlist_min_improved: int = constants.GATE_WATCHLIST_MIN_IMPROVED
    watchlist_min_delta: float = constants.GATE_WATCHLIST_MIN_DELTA
    max_regression: float = constants.GATE_MAX_REGRESSION


class QueueSettings(BaseModel):
    """Active-learning queue and labelling-app behaviour."""

    strategy: str = "hybrid"
    batch_size: int = 25
    exploration_share: float = 0.2
    target_positive_threshold: int = 15
    """Countries with fewer incident-derived positives become targets automatically."""
    goal_new_positives: int = 25
    """New positives per target country that count as 'at target'."""
    lease_seconds: int = 300
    """How long a served item stays claimed by one analyst without renewal."""
    double_label_share: float = 0.1
    """Share of items deliberately shown to a second analyst to measure agreement."""
    stop_window: int = 20
    """A country's yield is judged over its last this-many labels (queue stopping, reports)."""
    stop_min_yield: float = 0.05
    """Below this recent yield a country is exhausted: its queue share moves elsewhere."""


class Settings(BaseSettings):
    """Every setting labelbench reads. Field docstrings are the configuration reference."""

    model_config = SettingsConfigDict(
        env_prefix="LABELBENCH_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    analyst: str | None = None
    """Your name in the label log (``label --analyst`` overrides it). Unset: the OS user, or,
    where that cannot tell analysts apart (``root`` in containers), a name asked for once and
    remembered in the user's config (``~/.config/labelbench/user.toml``)."""
    database_url: str = DEFAULT_DATABASE_URL
    """Any SQLAlchemy URL; PostgreSQL via ``postgresql+psycopg://``. Default: SQLite in the cwd."""
    models_dir: Path = Path("models")
    """Model registry folder (bundles, manifests, retrain reports)."""
    min_evidence: int = constants.MIN_EVIDENCE_ROWS
    """Evidence rows a country-day needs to become a sample."""
    clusters: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in constants.DEFAULT_CLUSTERS.items()}
    )
    """Regime-cluster membership (cluster name -> alpha-2 codes)."""
    priority_countries: list[str] = Field(default_factory=lambda: list(constants.PRIORITY_TARGETS))
    """The mission's countries: the default scope of the app, the queue and the reports."""
    watch_list: list[str] = Field(default_factory=lambda: list(constants.WATCH_LIST))
    high_impact: list[str] = Field(default_factory=lambda: list(constants.HIGH_IMPACT))
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    gates: GateSettings = Field(default_factory=GateSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    keys: dict[str, str] = Field(default_factory=dict)
    """Labelling-app key remaps: action id -> key, e.g. ``positive = "1"``."""

    @field_validator("database_url")
    @classmethod
    def _url_parses(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError:
            raise ValueError("not a valid SQLAlchemy URL") from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def safe_database_url(self) -> str:
        """The database URL with any password masked, for logs and messages."""
        return redact_url(self.database_url)


def redact_url(url: str) -> str:
    """Mask the password in a database URL (``***``); unparsable URLs are hidden entirely."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from every source; CLI flags arrive as ``overrides`` (None values ignored)."""
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"config file not found: {config_file}")
        os.environ[CONFIG_ENV] = str(config_file)
    path = Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE))
    if CONFIG_ENV in os.environ and not path.is_file():
        raise ConfigError(f"config file not found: {path} (from ${CONFIG_ENV})")
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from None
    except (ValueError, OSError) as exc:  # malformed TOML surfaces as ValueError
        raise ConfigError(f"cannot read configuration {path}: {exc}") from None


#: OS user names that cannot tell analysts apart (containers run everyone as root).
SHARED_USERS = frozenset({"root", "unknown", "nobody", "user", "admin", ""})


def user_config_path() -> Path:
    """The per-user file where labelbench remembers who you are (XDG config home)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "labelbench" / "user.toml"


def remembered_analyst() -> str | None:
    """The analyst name saved by an earlier `labelbench label`, if any."""
    import tomllib

    path = user_config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = data.get("analyst")
    return name.strip() if isinstance(name, str) and name.strip() else None


def remember_analyst(name: str) -> Path:
    """Save ``name`` for the next start (the file is labelbench's own: rewritten whole)."""
    path = user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    path.write_text(
        f'# Written by `labelbench label`: your name in the label log.\nanalyst = "{escaped}"\n',
        encoding="utf-8",
    )
    return path
