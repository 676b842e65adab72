"""What each importable file kind must contain, and matching a file's header against it.

:func:`map_columns` matches a header against per-kind alias lists (so "Start date", "start" and
"first_seen" all work) and reports every header problem at once. Text columns of parsed frames
are object dtype holding ``str`` or ``None`` (never NaN), date columns hold ``datetime.date``
objects, optional numbers are float64 with NaN when missing.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import pandas as pd

from labelbench.domain.constants import FEATURES, INCIDENT_TYPES, SOURCES
from labelbench.ingest.table import RowError, normalise_name
from labelbench.ingest.values import DateOrder

Kind = Literal["evidence", "ooni", "incidents", "samples", "countries", "labels"]
#: What an incident end of ``Unknown`` means (``--unknown-end``).
UnknownEnd = Literal["single-day", "open-ended", "reject"]


@dataclass(frozen=True)
class ParseContext:
    """Everything besides the file that decides how cells are read."""

    known_countries: frozenset[str]
    date_order: DateOrder = "mdy"
    default_type: str | None = None
    """incidents: used when there is no type column or the cell is empty."""
    type_map: Mapping[str, str] = field(default_factory=dict)
    """User incident-type synonyms (keys compared case-insensitively), values in INCIDENT_TYPES."""
    country_map: Mapping[str, str] = field(default_factory=dict)
    """User country-name overrides: name -> alpha-2."""
    ongoing_until: dt.date | None = None
    """incidents: the end given to open-ended events (required for that kind)."""
    default_source: str | None = None
    """evidence: used when the file has no source column."""
    strict_columns: bool = False
    """Refuse columns labelbench does not know (default: ignore them, named in a notice)."""
    unknown_end: UnknownEnd = "single-day"
    """incidents: an end of ``Unknown`` ends on the start day, runs open-ended, or is an error."""


@dataclass(frozen=True)
class ColumnMap:
    """How a file's header maps onto a kind's fields."""

    kind: Kind
    columns: dict[str, str]
    """Canonical field name -> raw header name in the file."""
    ignored: list[str]
    """Raw header names that are ignored (known extras and unknown columns)."""
    errors: list[RowError]
    """Header-level problems (line = header line, column = raw name or None)."""
    unknown: list[str] = field(default_factory=list)
    """Ignored columns labelbench does not know, each with a hint ("did you mean ...?")."""


@dataclass(frozen=True)
class ParseResult:
    """The good rows of one chunk, typed, and the problems of the others."""

    frame: pd.DataFrame
    errors: list[RowError]
    duplicates: int
    empty: int = 0
    unknown_ends: int = 0
    """incidents: rows whose end was ``Unknown``, read as ``--unknown-end`` says."""


@dataclass(frozen=True)
class _Field:
    name: str
    aliases: tuple[str, ...]  # normalised header names; the canonical name first
    required: bool = False


def _f(name: str, aliases: str = "", *, required: bool = False) -> _Field:
    """A field with its canonical name and space-separated aliases (normalised header names)."""
    return _Field(name, (name, *aliases.split()), required)


@dataclass(frozen=True)
class _Schema:
    fields: tuple[_Field, ...]
    extras: frozenset[str] = frozenset()
    extra_prefixes: tuple[str, ...] = ()

    def is_extra(self, normalised: str) -> bool:
        return normalised in self.extras or normalised.startswith(self.extra_prefixes)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_COUNTRY_ALIASES: Final[str] = "country_code cc iso2 country_name"
_SCHEMAS: Final[dict[Kind, _Schema]] = {
    "evidence": _Schema(
        (
            _f("country", f"{_COUNTRY_ALIASES} probe_cc", required=True),
            _f(
                "observed_at",
                "timestamp time measurement_start_time datetime date measured_at",
                required=True,
            ),
            _f("source", "data_source", required=True),
            _f("anomalous", "anomaly is_anomaly is_anomalous blocked", required=True),
            _f("kind", "test_name measurement_type"),
            _f("source_ref", "id measurement_id measurement_uid report_id"),
            _f("source_url", "url link"),
            _f("asn", "probe_asn"),
            _f("signal_type"),
            _f("signal_value"),
            _f("signal_baseline"),
            _f("signal_level"),
            _f("domain", "input hostname"),
            _f("blocking_method"),
            _f("confidence"),
        ),
        extras=_words("day probe_asn_name category_code notes"),
    ),
    "ooni": _Schema(
        (
            _f("country", f"probe_cc {_COUNTRY_ALIASES}", required=True),
            _f("day", "measurement_start_day date", required=True),
            _f("measurement_count", required=True),
            _f("anomaly_count", required=True),
            _f("confirmed_count", required=True),
            _f("failure_count", required=True),
            _f("ok_count", required=True),
            _f("test_name"),
            _f("probe_asn", "asn"),
            _f("domain", "hostname"),
        ),
        extras=_words("input category_code probe_asn_name"),
        extra_prefixes=("axis_",),
    ),
    "incidents": _Schema(
        (
            _f("country", f"{_COUNTRY_ALIASES} iso nation", required=True),
            _f(
                "first_seen",
                "start start_date started from begin began date_start start_day date",
                required=True,
            ),
            _f("last_seen", "end end_date ended to until date_end end_day", required=True),
            _f("incident_type", "type category event_type"),
            _f("source", "reported_by organisation organization"),
            _f("citation_url", "link url source_url reference"),
            _f("region", "area admin1 province state governorate subregion location city"),
        ),
        extras=_words("notes note description details comment comments"),
    ),
    "samples": _Schema(
        (
            _f("country", _COUNTRY_ALIASES, required=True),
            _f("day", "date measurement_day", required=True),
            *(_f(name, required=True) for name in FEATURES),
            _f("label", "incident_label is_censorship censorship positive target y"),
            _f("evidence_count", "n_evidence measurements"),
        ),
        extras=_words(
            "sample_id fingerprint evidence_fingerprint label_source human_verdict decided_by "
            "rereview cluster labelbench_version"
        ),
    ),
    "labels": _Schema(
        (
            _f("country", _COUNTRY_ALIASES, required=True),
            _f("day", "date", required=True),
            _f("verdict", "label decision", required=True),
            _f("analyst", "labeller labeler annotator user author", required=True),
            _f("created_at", "timestamp time labelled_at labeled_at decided_at"),
            _f("note", "notes comment comments"),
            _f("citation_url", "citation url link reference"),
            _f("event"),
            _f("stands"),
            _f("evidence_fingerprint", "fingerprint"),
        ),
        # The other columns of labelbench's own `export labels`: provenance, not input.
        extras=_words(
            "label_id sample_id seconds_spent session_id session_started_at session_strategy "
            "session_status queue_strategy queue_reason queue_expected_p current_fingerprint "
            "evidence_changed retracts_id retracted_by effective_verdict adjudicated_verdict "
            "adjudicated_by adjudicated_at labelbench_version"
        ),
    ),
    "countries": _Schema(
        (
            _f("country", f"{_COUNTRY_ALIASES} code name", required=True),
            _f("cluster", "regime_cluster regime"),
            _f("neighbours", "neighbors neighbour_codes neighbor_codes"),
        ),
        extras=_words("notes comment comments"),
    ),
}

#: Accepted spellings of each evidence source, after :func:`normalise_name`.
_SOURCE_NAMES: Final[dict[str, str]] = {
    "ooni": "ooni",
    **dict.fromkeys(("censoredplanet", "censored_planet", "cp"), "censoredplanet"),
    "ioda": "ioda",
    **dict.fromkeys(("probe", "probes"), "probe"),
}
assert set(_SOURCE_NAMES.values()) == set(SOURCES)

#: Built-in incident-type synonyms (lowercase, stripped). ``--type-map`` entries take precedence.
_TYPE_SYNONYMS: Final[dict[str, str]] = {
    **dict.fromkeys(
        (
            "censorship", "block", "blocking", "blocked", "filtering", "website blocking",
            "social media block", "social media blocking", "throttling", "shutdown",
            "internet shutdown", "government shutdown", "network shutdown",
        ),
        "censorship",
    ),
    **dict.fromkeys(
        (
            "disruption", "outage", "power outage", "cable cut", "ddos", "technical",
            "natural disaster", "network disruption", "outage (technical)",
        ),
        "disruption",
    ),
    **dict.fromkeys(("mixed", "both", "censorship and disruption"), "mixed"),
}  # fmt: skip

_SUGGEST_CUTOFF: Final[float] = 0.75


def detect_evidence_kind(columns: Sequence[str]) -> Literal["evidence", "ooni"]:
    """``ooni`` for an OONI aggregation export (it has measurement and anomaly counts)."""
    names = {normalise_name(c) for c in columns}
    return "ooni" if {"measurement_count", "anomaly_count"} <= names else "evidence"


def header_hints(kind: Kind) -> frozenset[str]:
    """Every alias of every field of ``kind`` (and its named extras), for header detection."""
    schema = _SCHEMAS[kind]
    return frozenset(a for f in schema.fields for a in f.aliases) | schema.extras


def canonical_source(text: str) -> str | None:
    return _SOURCE_NAMES.get(normalise_name(text))


def accepted_sources() -> str:
    return ", ".join(SOURCES)


def type_lookup(ctx: ParseContext) -> dict[str, str]:
    """Lowercased type text -> incident type: user synonyms over the built-in ones."""
    table = dict(_TYPE_SYNONYMS)
    table.update({k.strip().lower(): v.strip().lower() for k, v in ctx.type_map.items()})
    return table


def _context_errors(kind: Kind, ctx: ParseContext, line: int) -> list[RowError]:
    """Problems of the options themselves, reported with the header so nothing is half-read."""
    errors: list[RowError] = []
    for name, code in ctx.country_map.items():
        if code.strip().upper() not in ctx.known_countries:
            errors.append(
                RowError(
                    line,
                    None,
                    f"--country-map '{name}={code}': '{code}' is not in the countries table",
                )
            )
    if kind == "incidents":
        for name, value in ctx.type_map.items():
            if value.strip().lower() not in INCIDENT_TYPES:
                errors.append(
                    RowError(
                        line,
                        None,
                        f"--type-map '{name}={value}': '{value}' is not one of "
                        f"{', '.join(INCIDENT_TYPES)}",
                    )
                )
        if ctx.default_type is not None and ctx.default_type.strip().lower() not in type_lookup(
            ctx
        ):
            errors.append(
                RowError(
                    line,
                    None,
                    f"--default-type '{ctx.default_type}' is not an incident type (use one of "
                    f"{', '.join(INCIDENT_TYPES)})",
                )
            )
    if (
        kind == "evidence"
        and ctx.default_source is not None
        and canonical_source(ctx.default_source) is None
    ):
        errors.append(
            RowError(
                line,
                None,
                f"unknown --source '{ctx.default_source}' (accepted: {accepted_sources()})",
            )
        )
    return errors


def map_columns(
    kind: Kind, columns: Sequence[str], header_line: int, ctx: ParseContext
) -> ColumnMap:
    """Match the header against ``kind``'s fields; every problem is reported, not just the first."""
    schema = _SCHEMAS[kind]
    lookup = {alias: f.name for f in schema.fields for alias in f.aliases}
    mapped: dict[str, str] = {}
    ignored: list[str] = []
    unknown: list[str] = []
    strays: list[str] = []
    errors: list[RowError] = []
    # A column named exactly like a field wins over a synonym of it (labelbench's own samples
    # export has both "label" and "incident_label": the first is the one to import).
    exact = {f.name: raw for raw in columns for f in schema.fields if normalise_name(raw) == f.name}
    for raw in columns:
        key = normalise_name(raw)
        name = lookup.get(key)
        if name is not None and name in exact and exact[name] != raw:
            ignored.append(raw)
            continue
        if name is not None:
            if name in mapped:
                errors.append(
                    RowError(
                        header_line,
                        raw,
                        f"columns '{mapped[name]}' and '{raw}' both give {name}: keep one",
                    )
                )
            else:
                mapped[name] = raw
            continue
        if schema.is_extra(key):
            ignored.append(raw)
            continue
        close = difflib.get_close_matches(key, list(lookup), n=1, cutoff=_SUGGEST_CUTOFF)
        if ctx.strict_columns:
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else "rename or remove it, or import without --strict-columns"
            )
            errors.append(RowError(header_line, raw, f"unknown column '{raw}' ({hint})"))
            continue
        ignored.append(raw)
        unknown.append(f"{raw} (did you mean '{close[0]}'?)" if close else raw)
        strays.append(raw)
    # A typo of a required column is an error even when unknown columns are ignored.
    missing = [a for f in schema.fields if f.required and f.name not in mapped for a in f.aliases]
    for raw in strays:
        close = difflib.get_close_matches(normalise_name(raw), missing, n=1, cutoff=_SUGGEST_CUTOFF)
        if close:
            errors.append(
                RowError(header_line, raw, f"unknown column '{raw}' (did you mean '{close[0]}'?)")
            )
    for f in schema.fields:
        if not f.required or f.name in mapped:
            continue
        if kind == "evidence" and f.name == "source" and ctx.default_source is not None:
            continue
        extra = "; or pass --source" if kind == "evidence" and f.name == "source" else ""
        errors.append(
            RowError(
                header_line,
                None,
                f"missing required column '{f.name}' (accepted names: {', '.join(f.aliases)}"
                f"{extra})",
            )
        )
    if kind == "incidents" and "incident_type" not in mapped and ctx.default_type is None:
        errors.append(
            RowError(header_line, None, "no incident type column: add one or pass --default-type")
        )
    if kind == "countries" and "cluster" not in mapped and "neighbours" not in mapped:
        errors.append(
            RowError(
                header_line,
                None,
                "no cluster or neighbours column: add at least one (accepted names: "
                + ", ".join(schema.fields[1].aliases + schema.fields[2].aliases)
                + ")",
            )
        )
    errors.extend(_context_errors(kind, ctx, header_line))
    return ColumnMap(kind=kind, columns=mapped, ignored=ignored, errors=errors, unknown=unknown)
