"""Evidence rows: one observation each, keyed by (source, source_ref)."""

from __future__ import annotations

import hashlib
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelbench.ingest import checks, schema
from labelbench.ingest.countries import CountryResolver
from labelbench.ingest.schema import ParseContext, ParseResult
from labelbench.ingest.values import parse_bools, parse_timestamps

#: Length of the hex digest kept in generated evidence refs (128 bits).
REF_HEX: Final[int] = 32
_MISSING: Final[str] = "\\N"

#: Output columns per kind, in order (``line`` last).
EVIDENCE_OUTPUT: Final[tuple[str, ...]] = (
    "source", "kind", "source_ref", "source_url", "observed_at", "day", "country", "asn",
    "signal_type", "signal_value", "signal_baseline", "signal_level", "domain",
    "blocking_method", "confidence", "anomalous", "measurements", "anomalous_measurements",
    "line",
)  # fmt: skip


def _sources(rows: checks.Rows, ctx: ParseContext) -> pd.Series:
    if not rows.has("source"):
        if ctx.default_source is None:
            raise ValueError("an evidence file without a source column needs default_source")
        source = schema.canonical_source(ctx.default_source)
        if source is None:
            raise ValueError(f"invalid default_source {ctx.default_source!r}")
        return pd.Series(np.full(rows.n, source, dtype=object), dtype=object)
    cells = rows.cells("source")
    checks.require(rows, "source")
    codes, uniques = pd.factorize(cells.to_numpy(dtype=object, na_value=None))
    mapped = np.array([schema.canonical_source(str(u)) for u in uniques] + [None], dtype=object)
    values = mapped[codes]
    unknown = rows.present("source") & np.array([v is None for v in values], dtype=np.bool_)
    rows.flag(
        unknown, "source", lambda v: f"unknown source '{v}' (accepted: {schema.accepted_sources()})"
    )
    return pd.Series(values, dtype=object)


def _text_or_missing(values: pd.Series) -> npt.NDArray[np.object_]:
    out: npt.NDArray[np.object_] = values.to_numpy(dtype=object, na_value=_MISSING)
    return out


def _number_text(values: checks.FloatArray) -> npt.NDArray[np.object_]:
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
        "row:" + sha("\x1f".join(row).encode("utf-8", "surrogateescape")).hexdigest()[:REF_HEX]
        for row in zip(*parts, strict=True)
    ]
    return np.array(refs, dtype=object)


def evidence_dedupe(rows: checks.Rows) -> checks.Deduper:
    compare = [c for c in EVIDENCE_OUTPUT if c != "line"]
    return lambda frame: checks.dedupe(
        frame,
        ["source", "source_ref"],
        compare,
        lambda line: f"same source and source_ref as line {line} but different values",
        rows.raw_name("source_ref"),
    )


def parse_evidence(rows: checks.Rows, ctx: ParseContext, resolver: CountryResolver) -> ParseResult:
    source = _sources(rows, ctx)
    country = checks.country(rows, "country", resolver)
    observed_cells = rows.cells("observed_at")
    checks.require(rows, "observed_at")
    observed, bad_time = parse_timestamps(observed_cells)
    rows.flag(
        bad_time,
        "observed_at",
        lambda v: f"cannot read '{v}' as a timestamp (use ISO 8601, e.g. 2026-06-01T12:00:00Z)",
    )
    anomalous_cells = rows.cells("anomalous")
    checks.require(rows, "anomalous")
    anomalous, bad_flag = parse_bools(anomalous_cells)
    rows.flag(
        bad_flag,
        "anomalous",
        lambda v: f"cannot read '{v}' as true or false (use true/false, yes/no or 1/0)",
    )
    kind = checks.text(rows, "kind", 40).fillna("measurement")
    source_ref = checks.text(rows, "source_ref", 200)
    days = observed.dt.tz_localize(None).to_numpy().astype("datetime64[D]").astype(object)
    frame = pd.DataFrame(
        {
            "source": source,
            "kind": kind.astype(object),
            "source_ref": source_ref,
            "source_url": checks.text(rows, "source_url"),
            "observed_at": observed.reset_index(drop=True),
            "day": pd.Series(days, dtype=object),
            "country": country.reset_index(drop=True),
            "asn": checks.asn(rows, "asn"),
            "signal_type": checks.text(rows, "signal_type", 40),
            "signal_value": checks.number(rows, "signal_value"),
            "signal_baseline": checks.number(rows, "signal_baseline"),
            "signal_level": checks.text(rows, "signal_level", 20),
            "domain": checks.text(rows, "domain", 255),
            "blocking_method": checks.text(rows, "blocking_method", 40),
            "confidence": checks.number(rows, "confidence", minimum=0, maximum=1),
            "anomalous": anomalous.reset_index(drop=True).astype(bool),  # None (bad) -> False
            "measurements": pd.array([pd.NA] * rows.n, dtype="Int64"),
            "anomalous_measurements": pd.array([pd.NA] * rows.n, dtype="Int64"),
            "line": rows.lines,
        }
    )
    keep = ~rows.bad
    needs_ref = keep & ~checks.present(frame["source_ref"])
    if needs_ref.any():
        frame.loc[needs_ref, "source_ref"] = _generated_refs(frame[needs_ref])
    return checks.finish(rows, frame[keep], evidence_dedupe(rows))
