"""OONI aggregation exports: per country, day and test counts, turned into weighted evidence."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Final
from urllib.parse import quote

import numpy as np
import pandas as pd

from labelbench.ingest import checks
from labelbench.ingest.countries import CountryResolver
from labelbench.ingest.evidence import EVIDENCE_OUTPUT, REF_HEX, evidence_dedupe
from labelbench.ingest.schema import ParseContext, ParseResult

OONI_OUTPUT: Final[tuple[str, ...]] = EVIDENCE_OUTPUT

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
            ref = f"ooni-agg:{c}:{d.isoformat()}:{t or '*'}:{a or '*'}:sha256-{digest[:REF_HEX]}"
        refs.append(ref)
        until = d + dt.timedelta(days=1)
        url = f"https://explorer.ooni.org/chart/mat?probe_cc={c}&since={d}&until={until}"
        if t:
            url += f"&test_name={quote(str(t))}"
        urls.append(url)
    return refs, urls


def parse_ooni(rows: checks.Rows, ctx: ParseContext, resolver: CountryResolver) -> ParseResult:
    country = checks.country(rows, "country", resolver)
    checks.require(rows, "day")
    day = checks.dates(rows, "day", ctx.date_order)
    counts = {
        name: checks.number(rows, name, required=True, minimum=0, integral=True)
        for name in _OONI_COUNTS
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
    test = checks.text(rows, "test_name", 40)
    asn = checks.asn(rows, "probe_asn")
    domain = checks.text(rows, "domain", 255)
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
    return checks.finish(rows, frame, evidence_dedupe(rows), empty=int(empty_rows.sum()))
