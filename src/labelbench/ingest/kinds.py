"""What each importable file kind must contain, and turning raw chunks into typed frames.

:func:`map_columns` matches a file's header against per-kind alias lists (so "Start date", "start"
and "first_seen" all work) and reports every header problem at once. :func:`parse_chunk` then
validates a :class:`~labelbench.ingest.table.RawChunk` column by column, vectorised, collecting
*every* problem of every row (a user fixing a file wants the whole list, not one error per run),
and returns only the rows without problems, typed and deduplicated within the chunk.

Text columns of the output frames are object dtype holding ``str`` or ``None`` (never NaN), date
columns hold ``datetime.date`` objects, optional numbers are float64 with NaN when missing.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import quote

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelbench.domain.constants import FEATURES, INCIDENT_TYPES, SOURCES
from labelbench.ingest.countries import CountryResolver
from labelbench.ingest.table import RawChunk, RowError, normalise_name
from labelbench.ingest.values import (
    FLOAT_PATTERN,
    OPEN_END_TOKENS,
    DateOrder,
    describe_bad_date,
    parse_bools,
    parse_dates,
    parse_floats,
    parse_timestamps,
)

Kind = Literal["evidence", "ooni", "incidents", "samples", "countries"]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
Message = str | Callable[[str], str]


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
    ignore_unknown_columns: bool = False


@dataclass(frozen=True)
class ColumnMap:
    """How a file's header maps onto a kind's fields."""

    kind: Kind
    columns: dict[str, str]
    """Canonical field name -> raw header name in the file."""
    ignored: list[str]
    """Raw header names that are ignored (allowed extras, or any with ignore_unknown_columns)."""
    errors: list[RowError]
    """Header-level problems (line = header line, column = raw name or None)."""


@dataclass(frozen=True)
class ParseResult:
    """The good rows of one chunk, typed, and the problems of the others."""

    frame: pd.DataFrame
    errors: list[RowError]
    duplicates: int
    empty: int = 0


# ---------------------------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------------------------


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

_LABEL_WORDS: Final[dict[str, int]] = {
    **dict.fromkeys(("1", "1.0", "true", "t", "yes", "y", "positive", "pos"), 1),
    **dict.fromkeys(("0", "0.0", "false", "f", "no", "n", "negative", "neg"), 0),
}

#: An AS number with or without its "AS" prefix (Arrow regex: no \s, no \d, no flags).
_ASN: Final[str] = r"^(?:[Aa][Ss])? ?([0-9]{1,10})$"
_CLEAR_CLUSTER: Final[frozenset[str]] = frozenset({"none", "-", "null"})
_CLEAR_NEIGHBOURS: Final[frozenset[str]] = frozenset({"none", "-"})
_LIST_SEPARATORS: Final[re.Pattern[str]] = re.compile(r"[;|,]")
_CODE: Final[re.Pattern[str]] = re.compile(r"[A-Za-z]{2,3}")
_SUGGEST_CUTOFF: Final[float] = 0.75
#: Length of the hex digest kept in generated evidence refs (128 bits).
_REF_HEX: Final[int] = 32
_MISSING: Final[str] = "\\N"

#: Output columns per kind, in order (``line`` last).
EVIDENCE_OUTPUT: Final[tuple[str, ...]] = (
    "source", "kind", "source_ref", "source_url", "observed_at", "day", "country", "asn",
    "signal_type", "signal_value", "signal_baseline", "signal_level", "domain",
    "blocking_method", "confidence", "anomalous", "measurements", "anomalous_measurements",
    "line",
)  # fmt: skip
INCIDENT_OUTPUT: Final[tuple[str, ...]] = (
    "country", "first_seen", "last_seen", "incident_type", "source", "citation_url",
    "open_ended", "import_key", "line",
)  # fmt: skip
SAMPLE_OUTPUT: Final[tuple[str, ...]] = (
    "country", "day", *FEATURES, "given_label", "evidence_count", "line",
)  # fmt: skip
COUNTRY_OUTPUT: Final[tuple[str, ...]] = (
    "country",
    "cluster_action",
    "cluster",
    "neighbours",
    "line",
)


# ---------------------------------------------------------------------------------------------
# Header mapping
# ---------------------------------------------------------------------------------------------


def detect_evidence_kind(columns: Sequence[str]) -> Literal["evidence", "ooni"]:
    """``ooni`` for an OONI aggregation export (it has measurement and anomaly counts)."""
    names = {normalise_name(c) for c in columns}
    return "ooni" if {"measurement_count", "anomaly_count"} <= names else "evidence"


def header_hints(kind: Kind) -> frozenset[str]:
    """Every alias of every field of ``kind`` (and its named extras), for header detection."""
    schema = _SCHEMAS[kind]
    return frozenset(a for f in schema.fields for a in f.aliases) | schema.extras


def _canonical_source(text: str) -> str | None:
    return _SOURCE_NAMES.get(normalise_name(text))


def _accepted_sources() -> str:
    return ", ".join(SOURCES)


def _type_lookup(ctx: ParseContext) -> dict[str, str]:
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
        if ctx.default_type is not None and ctx.default_type.strip().lower() not in _type_lookup(
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
        and _canonical_source(ctx.default_source) is None
    ):
        errors.append(
            RowError(
                line,
                None,
                f"unknown --source '{ctx.default_source}' (accepted: {_accepted_sources()})",
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
        if schema.is_extra(key) or ctx.ignore_unknown_columns:
            ignored.append(raw)
            continue
        close = difflib.get_close_matches(key, list(lookup), n=1, cutoff=_SUGGEST_CUTOFF)
        hint = (
            f"did you mean '{close[0]}'?"
            if close
            else "rename or remove it, or pass --ignore-unknown-columns"
        )
        errors.append(RowError(header_line, raw, f"unknown column '{raw}' ({hint})"))
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
    return ColumnMap(kind=kind, columns=mapped, ignored=ignored, errors=errors)


# ---------------------------------------------------------------------------------------------
# Row validation machinery
# ---------------------------------------------------------------------------------------------


class _Rows:
    """One chunk under validation: raw cells by field, the problems found, the bad-row mask."""

    def __init__(self, chunk: RawChunk, columns: ColumnMap) -> None:
        self.frame = chunk.frame.reset_index(drop=True)
        self.lines = np.asarray(chunk.lines, dtype=np.int64)
        self.n = len(self.frame)
        self.columns = columns.columns
        self.bad = np.zeros(self.n, dtype=np.bool_)
        self._found: list[tuple[int, int, RowError]] = []
        self._present: dict[str, BoolArray] = {}

    def has(self, name: str) -> bool:
        return name in self.columns

    def raw_name(self, name: str) -> str | None:
        return self.columns.get(name)

    def cells(self, name: str) -> pd.Series:
        """The field's raw cells (all None when the file has no such column)."""
        raw = self.columns.get(name)
        if raw is None:
            return pd.Series(np.full(self.n, None, dtype=object), dtype=object)
        return self.frame[raw]

    def present(self, name: str) -> BoolArray:
        """Which rows have a value for the field (cached: scanning for NA is not free)."""
        found = self._present.get(name)
        if found is None:
            found = _present(self.cells(name))
            self._present[name] = found
        return found

    def flag(self, mask: BoolArray, name: str | None, message: Message) -> None:
        """Record a problem for every row in ``mask`` (the message may depend on the cell)."""
        positions = np.flatnonzero(mask)
        if not len(positions):
            return
        column = self.columns.get(name) if name is not None else None
        cells = self.frame[column].to_numpy() if column is not None else None
        for position in positions:
            value = cells[position] if cells is not None else None
            text = message if isinstance(message, str) else message(str(value))
            self.add(int(position), column, text, value)

    def add(self, position: int, column: str | None, message: str, value: str | None) -> None:
        self.bad[position] = True
        error = RowError(int(self.lines[position]), column, message, value)
        self._found.append((position, len(self._found), error))

    def errors(self) -> list[RowError]:
        return [error for _, _, error in sorted(self._found, key=lambda item: item[:2])]


def _present(cells: pd.Series) -> BoolArray:
    present: BoolArray = cells.notna().to_numpy(dtype=bool)
    return present


def _require(rows: _Rows, name: str) -> None:
    rows.flag(rows.has(name) & ~rows.present(name), name, "missing value (this column is required)")


def _text(rows: _Rows, name: str, max_length: int | None = None) -> pd.Series:
    """Optional text (None where empty); longer than ``max_length`` is a problem."""
    cells = rows.cells(name)
    if max_length is not None and rows.has(name) and rows.present(name).any():
        lengths = pd.Series(cells, dtype="str").str.len().to_numpy(dtype=float, na_value=0.0)
        rows.flag(
            lengths > max_length,
            name,
            lambda v: f"longer than {max_length} characters ({len(v)} characters)",
        )
    return cells.astype(object)


def _number_problem(
    value: str, minimum: float | None, maximum: float | None, integral: bool
) -> str:
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is None or not re.fullmatch(FLOAT_PATTERN, text):
        if "," in text and re.fullmatch(r"[+-]?[\d,]*\.?\d*", text):
            return (
                f"cannot read '{value}' as a number (write it without thousands separators "
                "and with '.' for decimals)"
            )
        if number is not None:
            return f"'{value}' is not a finite number"
        return f"cannot read '{value}' as a number"
    if not np.isfinite(number):
        return f"'{value}' is too large"
    if integral and number != np.floor(number):
        return f"'{value}' is not a whole number"
    low = _fmt(minimum) if minimum is not None else None
    high = _fmt(maximum) if maximum is not None else None
    if low is not None and high is not None:
        return f"{value} is outside the range {low} to {high}"
    if minimum == 0:
        return f"{value} is negative (must be 0 or more)"
    if low is not None:
        return f"{value} is less than {low}"
    return f"{value} is more than {high}"


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(number)


def _number(
    rows: _Rows,
    name: str,
    *,
    required: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    integral: bool = False,
) -> FloatArray:
    """float64 values (NaN where missing or bad), flagging every bad cell with the reason."""
    cells = rows.cells(name)
    if required:
        _require(rows, name)
    values, bad = parse_floats(cells, minimum=minimum, maximum=maximum)
    array: FloatArray = values.to_numpy(dtype=np.float64, copy=True)
    if integral:
        fractional = ~np.isnan(array) & (np.floor(array) != array)
        bad = bad | fractional
        array[fractional] = np.nan
    rows.flag(bad, name, lambda v: _number_problem(v, minimum, maximum, integral))
    return array


def _country(rows: _Rows, name: str, resolver: CountryResolver) -> pd.Series:
    cells = rows.cells(name)
    _require(rows, name)
    codes, bad, messages = resolver.resolve(cells)
    rows.flag(bad, name, lambda v: messages.get(v, f"unknown country '{v}'"))
    return codes


def _dates(rows: _Rows, name: str, order: DateOrder, cells: pd.Series | None = None) -> pd.Series:
    cells = rows.cells(name) if cells is None else cells
    values, bad = parse_dates(cells, order)
    rows.flag(bad, name, lambda v: describe_bad_date(v, order))
    return values


def _asn(rows: _Rows, name: str) -> pd.Series:
    """ "AS1234" for "1234", "as1234" or "AS 1234"; None where empty."""
    cells = rows.cells(name)
    codes, uniques = pd.factorize(cells.to_numpy(dtype=object))
    digits = pd.Series(uniques, dtype="str").str.extract(_ASN, expand=False)
    normalised = np.empty(len(uniques) + 1, dtype=object)  # last slot: code -1 (missing)
    normalised[:-1] = ("AS" + digits.str.lstrip("0").replace("", "0")).to_numpy(
        dtype=object, na_value=None
    )
    failed = np.append(digits.isna().to_numpy(dtype=bool), False)
    rows.flag(
        failed[codes],
        name,
        lambda v: f"cannot read '{v}' as an AS number (write e.g. AS12345 or 12345)",
    )
    return pd.Series(normalised[codes], dtype=object)


def _none_where(values: pd.Series, mask: BoolArray) -> pd.Series:
    out = values.astype(object).copy()
    out[mask] = None
    return out


def _dedupe(
    frame: pd.DataFrame,
    keys: list[str],
    compare: list[str],
    on_conflict: Callable[[int], str],
    column: str | None,
) -> tuple[pd.DataFrame, list[RowError], int]:
    """Drop exact repeats of a key (first kept); a repeat with other values is an error."""
    repeated = frame.duplicated(subset=keys, keep="first").to_numpy(dtype=bool)
    if not repeated.any():
        return frame, [], 0
    order = pd.Series(np.arange(len(frame)), index=frame.index)
    first = order.groupby([frame[k] for k in keys], sort=False, dropna=False).transform("first")
    first_pos = first.to_numpy(dtype=np.int64)
    values = frame[compare].astype(object).to_numpy()
    lines = frame["line"].to_numpy(dtype=np.int64)
    errors: list[RowError] = []
    duplicates = 0
    for position in np.flatnonzero(repeated):
        original = first_pos[position]
        if all(_same(a, b) for a, b in zip(values[position], values[original], strict=True)):
            duplicates += 1
        else:
            errors.append(
                RowError(int(lines[position]), column, on_conflict(int(lines[original])), None)
            )
    return frame[~repeated], errors, duplicates


def _same(a: object, b: object) -> bool:
    missing_a = a is None or (isinstance(a, float) and np.isnan(a)) or a is pd.NA or a is pd.NaT
    missing_b = b is None or (isinstance(b, float) and np.isnan(b)) or b is pd.NA or b is pd.NaT
    if missing_a or missing_b:
        return missing_a and missing_b
    return bool(a == b)


Deduper = Callable[[pd.DataFrame], tuple[pd.DataFrame, list[RowError], int]]


def _finish(rows: _Rows, good: pd.DataFrame, dedupe: Deduper, empty: int = 0) -> ParseResult:
    """Dedupe the good rows and merge every error in line order."""
    good, conflicts, duplicates = dedupe(good)
    errors = sorted([*rows.errors(), *conflicts], key=lambda e: e.line)
    return ParseResult(
        frame=good.reset_index(drop=True), errors=errors, duplicates=duplicates, empty=empty
    )


# ---------------------------------------------------------------------------------------------
# Evidence and OONI aggregates
# ---------------------------------------------------------------------------------------------


def _sources(rows: _Rows, ctx: ParseContext) -> pd.Series:
    if not rows.has("source"):
        if ctx.default_source is None:
            raise ValueError("an evidence file without a source column needs default_source")
        source = _canonical_source(ctx.default_source)
        if source is None:
            raise ValueError(f"invalid default_source {ctx.default_source!r}")
        return pd.Series(np.full(rows.n, source, dtype=object), dtype=object)
    cells = rows.cells("source")
    _require(rows, "source")
    codes, uniques = pd.factorize(cells.to_numpy(dtype=object, na_value=None))
    mapped = np.array([_canonical_source(str(u)) for u in uniques] + [None], dtype=object)
    values = mapped[codes]
    unknown = rows.present("source") & np.array([v is None for v in values], dtype=np.bool_)
    rows.flag(
        unknown, "source", lambda v: f"unknown source '{v}' (accepted: {_accepted_sources()})"
    )
    return pd.Series(values, dtype=object)


def _text_or_missing(values: pd.Series) -> npt.NDArray[np.object_]:
    out: npt.NDArray[np.object_] = values.to_numpy(dtype=object, na_value=_MISSING)
    return out


def _number_text(values: FloatArray) -> npt.NDArray[np.object_]:
    text = values.astype(str).astype(object)
    text[np.isnan(values)] = _MISSING
    out: npt.NDArray[np.object_] = text
    return out


def _generated_refs(frame: pd.DataFrame) -> npt.NDArray[np.object_]:
    """ "row:" + sha256 of the row's canonical content, so identical rows get identical refs."""
    stamps = frame["observed_at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    observed = np.datetime_as_string(stamps.astype("datetime64[us]"), unit="us")
    parts = [
        _text_or_missing(frame["source"]),
        _text_or_missing(frame["country"]),
        np.char.add(observed.astype(str), "Z").astype(object),
        _text_or_missing(frame["kind"]),
        _text_or_missing(frame["asn"]),
        _text_or_missing(frame["domain"]),
        _text_or_missing(frame["signal_type"]),
        _number_text(frame["signal_value"].to_numpy(dtype=np.float64)),
        _number_text(frame["signal_baseline"].to_numpy(dtype=np.float64)),
        _text_or_missing(frame["signal_level"]),
        _text_or_missing(frame["blocking_method"]),
        _number_text(frame["confidence"].to_numpy(dtype=np.float64)),
        np.where(frame["anomalous"].to_numpy(dtype=bool), "true", "false").astype(object),
    ]
    sha = hashlib.sha256
    refs = [
        "row:" + sha("\x1f".join(row).encode("utf-8", "surrogateescape")).hexdigest()[:_REF_HEX]
        for row in zip(*parts, strict=True)
    ]
    return np.array(refs, dtype=object)


def _evidence_dedupe(rows: _Rows) -> Deduper:
    compare = [c for c in EVIDENCE_OUTPUT if c != "line"]
    return lambda frame: _dedupe(
        frame,
        ["source", "source_ref"],
        compare,
        lambda line: f"same source and source_ref as line {line} but different values",
        rows.raw_name("source_ref"),
    )


def _parse_evidence(rows: _Rows, ctx: ParseContext, resolver: CountryResolver) -> ParseResult:
    source = _sources(rows, ctx)
    country = _country(rows, "country", resolver)
    observed_cells = rows.cells("observed_at")
    _require(rows, "observed_at")
    observed, bad_time = parse_timestamps(observed_cells)
    rows.flag(
        bad_time,
        "observed_at",
        lambda v: f"cannot read '{v}' as a timestamp (use ISO 8601, e.g. 2026-06-01T12:00:00Z)",
    )
    anomalous_cells = rows.cells("anomalous")
    _require(rows, "anomalous")
    anomalous, bad_flag = parse_bools(anomalous_cells)
    rows.flag(
        bad_flag,
        "anomalous",
        lambda v: f"cannot read '{v}' as true or false (use true/false, yes/no or 1/0)",
    )
    kind = _text(rows, "kind", 40).fillna("measurement")
    source_ref = _text(rows, "source_ref", 200)
    days = observed.dt.tz_localize(None).to_numpy().astype("datetime64[D]").astype(object)
    frame = pd.DataFrame(
        {
            "source": source,
            "kind": kind.astype(object),
            "source_ref": source_ref,
            "source_url": _text(rows, "source_url"),
            "observed_at": observed.reset_index(drop=True),
            "day": pd.Series(days, dtype=object),
            "country": country.reset_index(drop=True),
            "asn": _asn(rows, "asn"),
            "signal_type": _text(rows, "signal_type", 40),
            "signal_value": _number(rows, "signal_value"),
            "signal_baseline": _number(rows, "signal_baseline"),
            "signal_level": _text(rows, "signal_level", 20),
            "domain": _text(rows, "domain", 255),
            "blocking_method": _text(rows, "blocking_method", 40),
            "confidence": _number(rows, "confidence", minimum=0, maximum=1),
            "anomalous": anomalous.reset_index(drop=True).astype(bool),  # None (bad) -> False
            "measurements": pd.array([pd.NA] * rows.n, dtype="Int64"),
            "anomalous_measurements": pd.array([pd.NA] * rows.n, dtype="Int64"),
            "line": rows.lines,
        }
    )
    keep = ~rows.bad
    needs_ref = keep & ~_present(frame["source_ref"])
    if needs_ref.any():
        frame.loc[needs_ref, "source_ref"] = _generated_refs(frame[needs_ref])
    return _finish(rows, frame[keep], _evidence_dedupe(rows))


_OONI_COUNTS: Final[tuple[str, ...]] = (
    "measurement_count",
    "anomaly_count",
    "confirmed_count",
    "failure_count",
    "ok_count",
)


def _ooni_refs(
    country: pd.Series, day: pd.Series, test: pd.Series, asn: pd.Series, domain: pd.Series
) -> tuple[list[str], list[str]]:
    """source_ref and Explorer link per row (the domain is hashed in the rare too-long case)."""
    refs: list[str] = []
    urls: list[str] = []
    for c, d, t, a, host in zip(country, day, test, asn, domain, strict=True):
        shown = host or "*"
        ref = f"ooni-agg:{c}:{d.isoformat()}:{t or '*'}:{a or '*'}:{shown}"
        if len(ref) > 200:
            digest = hashlib.sha256(str(host).encode("utf-8", "surrogateescape")).hexdigest()
            ref = f"ooni-agg:{c}:{d.isoformat()}:{t or '*'}:{a or '*'}:sha256-{digest[:_REF_HEX]}"
        refs.append(ref)
        until = d + dt.timedelta(days=1)
        url = f"https://explorer.ooni.org/chart/mat?probe_cc={c}&since={d}&until={until}"
        if t:
            url += f"&test_name={quote(str(t))}"
        urls.append(url)
    return refs, urls


def _parse_ooni(rows: _Rows, ctx: ParseContext, resolver: CountryResolver) -> ParseResult:
    country = _country(rows, "country", resolver)
    _require(rows, "day")
    day = _dates(rows, "day", ctx.date_order)
    counts = {
        name: _number(rows, name, required=True, minimum=0, integral=True) for name in _OONI_COUNTS
    }
    total = counts["measurement_count"]
    parts = counts["anomaly_count"] + counts["confirmed_count"]
    parts = parts + counts["failure_count"] + counts["ok_count"]
    mismatch = ~np.isnan(parts) & ~np.isnan(total) & (parts != total)
    for position in np.flatnonzero(mismatch):
        rows.add(
            int(position),
            rows.raw_name("measurement_count"),
            "anomaly_count + confirmed_count + failure_count + ok_count = "
            f"{int(parts[position])}, not the measurement_count {int(total[position])}",
            rows.cells("measurement_count").iat[position],
        )
    test = _text(rows, "test_name", 40)
    asn = _asn(rows, "probe_asn")
    domain = _text(rows, "domain", 255)
    empty_rows = ~rows.bad & (total == 0)
    keep = ~rows.bad & ~empty_rows
    positions = np.flatnonzero(keep)
    country_k = country.reset_index(drop=True).iloc[positions]
    day_k = day.reset_index(drop=True).iloc[positions]
    test_k, asn_k, domain_k = test.iloc[positions], asn.iloc[positions], domain.iloc[positions]
    refs, urls = _ooni_refs(country_k, day_k, test_k, asn_k, domain_k)
    measured = total[positions]
    flagged = counts["anomaly_count"][positions] + counts["confirmed_count"][positions]
    confirmed = counts["confirmed_count"][positions]
    level = np.where(confirmed > 0, "confirmed", np.where(flagged > 0, "anomaly", "ok"))
    midnight = pd.Series(
        np.array(list(day_k), dtype="datetime64[D]").astype("datetime64[us]")
    ).dt.tz_localize("UTC")
    frame = pd.DataFrame(
        {
            "source": pd.Series(["ooni"] * len(positions), dtype=object),
            "kind": pd.Series(test_k.fillna("aggregate").to_numpy(), dtype=object),
            "source_ref": pd.Series(refs, dtype=object),
            "source_url": pd.Series(urls, dtype=object),
            "observed_at": midnight,
            "day": pd.Series(day_k.to_numpy(), dtype=object),
            "country": pd.Series(country_k.to_numpy(), dtype=object),
            "asn": pd.Series(asn_k.to_numpy(), dtype=object),
            "signal_type": pd.Series(["anomaly_share"] * len(positions), dtype=object),
            "signal_value": flagged / np.where(measured > 0, measured, 1),
            "signal_baseline": np.full(len(positions), np.nan),
            "signal_level": pd.Series(level, dtype=object),
            "domain": pd.Series(domain_k.to_numpy(), dtype=object),
            "blocking_method": pd.Series([None] * len(positions), dtype=object),
            "confidence": np.full(len(positions), np.nan),
            "anomalous": flagged > 0,
            "measurements": pd.array(measured.astype(np.int64), dtype="Int64"),
            "anomalous_measurements": pd.array(flagged.astype(np.int64), dtype="Int64"),
            "line": rows.lines[positions],
        }
    )
    return _finish(rows, frame, _evidence_dedupe(rows), empty=int(empty_rows.sum()))


# ---------------------------------------------------------------------------------------------
# Incidents
# ---------------------------------------------------------------------------------------------


def _incident_types(rows: _Rows, ctx: ParseContext) -> pd.Series:
    table = _type_lookup(ctx)
    default = table.get(ctx.default_type.strip().lower()) if ctx.default_type else None
    cells = rows.cells("incident_type")
    codes, uniques = pd.factorize(cells.to_numpy(dtype=object, na_value=None))
    mapped = np.array(
        [table.get(str(u).strip().lower()) for u in uniques] + [default], dtype=object
    )
    values = mapped[codes]
    present = rows.present("incident_type")
    unknown = present & np.array([v is None for v in values], dtype=np.bool_)
    rows.flag(
        unknown,
        "incident_type",
        lambda v: f"unknown incident type '{v}' (map it with --type-map '{v}=censorship')",
    )
    if default is None:
        missing = ~present
        if rows.has("incident_type"):
            rows.flag(missing, "incident_type", "missing incident type (pass --default-type)")
        elif missing.any():
            rows.flag(missing, None, "missing incident type (pass --default-type)")
    return pd.Series(values, dtype=object)


def _import_keys(frame: pd.DataFrame) -> list[str]:
    keys = []
    for country, first, kind, source, url in zip(
        frame["country"],
        frame["first_seen"],
        frame["incident_type"],
        frame["source"],
        frame["citation_url"],
        strict=True,
    ):
        text = f"{country}|{first.isoformat()}|{kind}|{source or ''}|{url or ''}"
        keys.append(hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest())
    return keys


def _parse_incidents(rows: _Rows, ctx: ParseContext, resolver: CountryResolver) -> ParseResult:
    if ctx.ongoing_until is None:
        raise ValueError("ParseContext.ongoing_until is required to parse incidents")
    country = _country(rows, "country", resolver)
    _require(rows, "first_seen")
    first = _dates(rows, "first_seen", ctx.date_order)
    end_cells = rows.cells("last_seen")
    lowered = end_cells.map(lambda v: v.strip().lower() if isinstance(v, str) else None)
    open_ended = ~rows.present("last_seen") | lowered.isin(OPEN_END_TOKENS).to_numpy(dtype=bool)
    last = _dates(rows, "last_seen", ctx.date_order, _none_where(end_cells, open_ended))
    first_values = np.array(first, dtype=object)
    last_values = np.array(last, dtype=object)
    ongoing = ctx.ongoing_until
    for position in np.flatnonzero(open_ended):
        start = first_values[position]
        last_values[position] = max(start, ongoing) if start is not None else ongoing
    for position in np.flatnonzero(~open_ended):
        start, end = first_values[position], last_values[position]
        if start is not None and end is not None and end < start:
            rows.add(
                int(position),
                rows.raw_name("last_seen"),
                f"ends ({end.isoformat()}) before it starts ({start.isoformat()})",
                end_cells.iat[position],
            )
    kind = _incident_types(rows, ctx)
    frame = pd.DataFrame(
        {
            "country": country.reset_index(drop=True),
            "first_seen": pd.Series(first_values, dtype=object),
            "last_seen": pd.Series(last_values, dtype=object),
            "incident_type": kind,
            "source": _text(rows, "source", 40).reset_index(drop=True),
            "citation_url": _text(rows, "citation_url").reset_index(drop=True),
            "open_ended": open_ended,
            "import_key": pd.Series([None] * rows.n, dtype=object),
            "line": rows.lines,
        }
    )
    keep = ~rows.bad
    if keep.any():
        frame.loc[keep, "import_key"] = _import_keys(frame[keep])
    return _finish(
        rows,
        frame[keep],
        lambda good: _dedupe(
            good,
            ["import_key"],
            ["last_seen"],
            lambda line: (
                f"conflicts with line {line}: same country, start, type, source and link but a "
                "different end"
            ),
            rows.raw_name("last_seen"),
        ),
    )


# ---------------------------------------------------------------------------------------------
# Samples (precomputed features)
# ---------------------------------------------------------------------------------------------

#: (minimum, maximum, whole numbers only) per feature; features not listed are any finite float.
_FEATURE_RANGES: Final[dict[str, tuple[float | None, float | None, bool]]] = {
    "anomaly_rate": (0, 1, False),
    "measurement_count": (0, None, False),
    "day_of_week": (0, 6, True),
    "month": (1, 12, True),
    "is_weekend": (0, 1, True),
    "high_evidence": (0, 1, True),
    "probe_node_count": (0, None, False),
    "neighbor_incident_count_7d": (0, None, False),
}


def _labels(rows: _Rows) -> pd.Series:
    cells = rows.cells("label")
    codes, uniques = pd.factorize(cells.to_numpy(dtype=object, na_value=None))
    mapped = [_LABEL_WORDS.get(str(u).strip().lower()) for u in uniques]
    failed = np.array([m is None for m in mapped] + [False], dtype=np.bool_)
    rows.flag(
        failed[codes],
        "label",
        lambda v: (
            f"cannot read '{v}' as a label (use 1/0, yes/no, true/false or positive/negative)"
        ),
    )
    values = np.array([-1 if m is None else m for m in mapped] + [-1], dtype=np.int64)[codes]
    return pd.Series(pd.arrays.IntegerArray(np.maximum(values, 0), values < 0))


def _parse_samples(rows: _Rows, ctx: ParseContext, resolver: CountryResolver) -> ParseResult:
    country = _country(rows, "country", resolver)
    _require(rows, "day")
    day = _dates(rows, "day", ctx.date_order)
    columns: dict[str, object] = {"country": country.reset_index(drop=True), "day": day}
    for name in FEATURES:
        low, high, whole = _FEATURE_RANGES.get(name, (None, None, False))
        columns[name] = _number(
            rows, name, required=True, minimum=low, maximum=high, integral=whole
        )
    columns["given_label"] = _labels(rows)
    counts = _number(rows, "evidence_count", minimum=0, integral=True)
    columns["evidence_count"] = np.nan_to_num(counts, nan=0.0).astype(np.int64)
    columns["line"] = rows.lines
    frame = pd.DataFrame(columns)
    frame["day"] = frame["day"].astype(object)
    compare = [c for c in SAMPLE_OUTPUT if c not in ("country", "day", "line")]
    return _finish(
        rows,
        frame[~rows.bad],
        lambda good: _dedupe(
            good,
            ["country", "day"],
            compare,
            lambda line: f"conflicts with line {line}: same country and day but different values",
            None,
        ),
    )


# ---------------------------------------------------------------------------------------------
# Country overrides
# ---------------------------------------------------------------------------------------------


def _split_neighbours(text: str) -> list[str]:
    if _LIST_SEPARATORS.search(text):
        tokens = _LIST_SEPARATORS.split(text)
    else:
        words = text.split()
        tokens = words if all(_CODE.fullmatch(w) for w in words) else [text]
    return [t.strip() for t in tokens if t.strip()]


def _parse_countries(rows: _Rows, ctx: ParseContext, resolver: CountryResolver) -> ParseResult:
    country = _country(rows, "country", resolver).reset_index(drop=True)
    cluster_cells = _text(rows, "cluster", 60).reset_index(drop=True)
    actions = np.full(rows.n, "keep", dtype=object)
    clusters = np.full(rows.n, None, dtype=object)
    for position, value in enumerate(cluster_cells):
        if value is None:
            continue
        if value.strip().lower() in _CLEAR_CLUSTER:
            actions[position] = "clear"
        else:
            actions[position], clusters[position] = "set", value
    neighbour_cells = rows.cells("neighbours").reset_index(drop=True)
    split: dict[int, list[str]] = {}
    for position, value in enumerate(neighbour_cells):
        if value is not None and value.strip().lower() not in _CLEAR_NEIGHBOURS:
            split[position] = _split_neighbours(value)
    tokens = sorted({t for listed in split.values() for t in listed})
    lookups = {t: resolver.lookup(t, what="neighbour") for t in tokens}
    raw_column = rows.raw_name("neighbours")
    neighbours = np.full(rows.n, None, dtype=object)
    for position, value in enumerate(neighbour_cells):
        if value is None:
            continue
        if position not in split:
            neighbours[position] = []
            continue
        codes: set[str] = set()
        for token in split[position]:
            code, problem = lookups[token]
            if problem is not None:
                rows.add(position, raw_column, problem, token)
            elif code == country.iat[position]:
                rows.add(position, raw_column, f"lists itself as a neighbour ('{token}')", token)
            elif code is not None:
                codes.add(code)
        neighbours[position] = sorted(codes)
    frame = pd.DataFrame(
        {
            "country": country,
            "cluster_action": pd.Series(actions, dtype=object),
            "cluster": pd.Series(clusters, dtype=object),
            "neighbours": pd.Series(neighbours, dtype=object),
            "line": rows.lines,
        }
    )
    column = rows.raw_name("country")
    return _finish(rows, frame[~rows.bad], lambda good: _repeated_countries(good, column))


def _repeated_countries(
    frame: pd.DataFrame, column: str | None
) -> tuple[pd.DataFrame, list[RowError], int]:
    """A country listed twice is an error even when identical: which override wins is unclear."""
    repeated = frame.duplicated(subset=["country"], keep="first").to_numpy(dtype=bool)
    if not repeated.any():
        return frame, [], 0
    first_line = frame.groupby("country", sort=False)["line"].transform("first")
    errors = [
        RowError(int(line), column, f"country {code} already appears on line {int(earlier)}", None)
        for line, code, earlier in zip(
            frame["line"][repeated], frame["country"][repeated], first_line[repeated], strict=True
        )
    ]
    return frame[~repeated], errors, 0


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------

_PARSERS: Final[dict[Kind, Callable[[_Rows, ParseContext, CountryResolver], ParseResult]]] = {
    "evidence": _parse_evidence,
    "ooni": _parse_ooni,
    "incidents": _parse_incidents,
    "samples": _parse_samples,
    "countries": _parse_countries,
}
_OUTPUTS: Final[dict[Kind, tuple[str, ...]]] = {
    "evidence": EVIDENCE_OUTPUT,
    "ooni": EVIDENCE_OUTPUT,
    "incidents": INCIDENT_OUTPUT,
    "samples": SAMPLE_OUTPUT,
    "countries": COUNTRY_OUTPUT,
}


def parse_chunk(kind: Kind, chunk: RawChunk, columns: ColumnMap, ctx: ParseContext) -> ParseResult:
    """Validate and type one chunk: good rows in ``frame``, every problem of the others in errors.

    ``columns`` must come from :func:`map_columns` for the same ``kind`` and have no errors.
    """
    if columns.kind != kind:
        raise ValueError(f"column map is for {columns.kind}, not {kind}")
    resolver = CountryResolver(ctx.known_countries, ctx.country_map)
    result = _PARSERS[kind](_Rows(chunk, columns), ctx, resolver)
    frame = result.frame[list(_OUTPUTS[kind])]
    frame["line"] = frame["line"].astype(np.int64)
    return ParseResult(
        frame=frame, errors=result.errors, duplicates=result.duplicates, empty=result.empty
    )


__all__ = [
    "COUNTRY_OUTPUT",
    "EVIDENCE_OUTPUT",
    "INCIDENT_OUTPUT",
    "SAMPLE_OUTPUT",
    "ColumnMap",
    "Kind",
    "ParseContext",
    "ParseResult",
    "detect_evidence_kind",
    "header_hints",
    "map_columns",
    "parse_chunk",
]
