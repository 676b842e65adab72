"""The production feature builder: evidence, incidents and probe metrics in, one row per sample out.

A *sample* is a (country, day) with at least ``min_evidence`` evidence rows, where ``day`` is the
UTC date of ``observed_at``. Every daily series below is computed over **all** days that have any
evidence (sub-threshold days feed baselines and contagion too), never over sample days only.

Definitions (``d`` is the sample day; windows are inclusive day ranges):

- ``anomaly_rate``: share of the day's measurements that are anomalous.
- ``measurement_count``: number of measurements that day.

A *measurement* is one evidence row, except for aggregate rows (an imported OONI aggregation
export) whose optional ``measurements`` / ``anomalous_measurements`` columns say how many
measurements, and how many anomalous ones, the row stands for. On row-level evidence (the demo,
Censored Planet, IODA, probes) both definitions are the production ones: rows and anomalous rows.
The sample threshold counts measurements too.
- ``spike_magnitude``: ``anomaly_rate / (baseline + SPIKE_EPSILON)`` where ``baseline`` is the mean
  daily anomaly_rate of the country over its evidence days in ``[d-30, d-1]``
  (:data:`SPIKE_BASELINE_DAYS`); ``1.0`` when that window has no evidence day.
- ``day_of_week`` (Monday 0 .. Sunday 6), ``month`` (1..12), ``is_weekend`` (1 on Sat/Sun).
- ``rate_count_interaction = anomaly_rate * measurement_count`` (published).
- ``probe_block_rate``, ``probe_node_count``, ``probe_avg_confidence``, ``probe_agreement``: the
  probe metrics row of that country-day (``block_rate``, ``node_count``, ``avg_confidence``,
  ``agreement``); all zero when no probe ran.
- ``rate_spike_interaction = anomaly_rate * spike_magnitude`` (published).
- ``high_evidence``: 1 if ``measurement_count >= 50`` (published).
- Contagion weight of neighbour ``n`` for country ``c`` on day ``d``: ``max(0, r)`` with ``r`` the
  Pearson correlation of the two daily anomaly_rate series over the days in ``[d-180, d-1]`` on
  which **both** have evidence. The edge is dropped (weight 0) when that overlap has fewer than
  :data:`CONTAGION_MIN_OVERLAP_DAYS` days or either series is constant on it.
- Over ``[d-7, d-1]``, with neighbours of weight > 0 only:
  ``neighbor_block_rate_7d`` = weighted mean (weights ``w_n``) of each neighbour's mean daily
  anomaly_rate over its evidence days in the window, over neighbours with such a day (0 if none);
  ``neighbor_incident_count_7d`` = sum of ``w_n`` times the number of the neighbour's
  censorship/mixed incidents whose span intersects the window;
  ``neighbor_max_anomaly_7d`` = max of ``w_n`` times the neighbour's max daily anomaly_rate in the
  window (0 if none).

Besides the features each row carries ``evidence_count`` (= measurement_count as int),
``incident_label`` (1 if a censorship or mixed incident of the country covers ``d``; disruption
incidents are outages, not censorship) and ``fingerprint``: a sha256 over the sorted canonical
text of the day's evidence rows, so a stored label can tell when the evidence behind it changed.

Windowed sums use block-restarted cumulative sums (blocks as long as the window), so precision
does not degrade over century-long series, and everything is vectorised over days; contagion
loops over countries only. The output depends only on the input's content, not its row order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from labelbench.domain.constants import (
    CONTAGION_CORR_WINDOW_DAYS,
    CONTAGION_FEATURE_WINDOW_DAYS,
    CONTAGION_MIN_OVERLAP_DAYS,
    FEATURES,
    HIGH_EVIDENCE_MIN_COUNT,
    LABELLING_INCIDENT_TYPES,
    MIN_EVIDENCE_ROWS,
    SPIKE_BASELINE_DAYS,
)
from labelbench.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Added to the spike baseline so that a zero-anomaly history does not divide by zero.
SPIKE_EPSILON: Final[float] = 0.05
#: Length of the hex fingerprint kept (128 bits: collision-free at any realistic volume).
FINGERPRINT_HEX_CHARS: Final[int] = 32

EVIDENCE_COLUMNS: Final[tuple[str, ...]] = ("country", "observed_at", "anomalous")
#: Evidence fields hashed into the fingerprint, in canonical order.
FINGERPRINT_FIELDS: Final[tuple[str, ...]] = (
    "source",
    "source_ref",
    "observed_at",
    "signal_type",
    "signal_value",
    "signal_baseline",
    "signal_level",
    "domain",
    "blocking_method",
    "confidence",
    "anomalous",
)
INCIDENT_COLUMNS: Final[tuple[str, ...]] = ("country", "first_seen", "last_seen", "incident_type")
PROBE_COLUMNS: Final[tuple[str, ...]] = (
    "country",
    "day",
    "node_count",
    "block_rate",
    "avg_confidence",
    "agreement",
)
OUTPUT_COLUMNS: Final[tuple[str, ...]] = (
    "country",
    "day",
    *FEATURES,
    "evidence_count",
    "fingerprint",
    "incident_label",
    "candidate_only",
)

#: One line per feature, for the UI and the README.
FEATURE_DEFINITIONS: Final[dict[str, str]] = {
    "anomaly_rate": "Share of the day's evidence rows flagged anomalous.",
    "measurement_count": "Number of evidence rows that day.",
    "spike_magnitude": "anomaly_rate / (mean daily anomaly_rate over the previous 30 days + 0.05);"
    " 1 without history.",
    "day_of_week": "UTC weekday, Monday 0 to Sunday 6.",
    "month": "UTC month, 1 to 12.",
    "is_weekend": "1 on Saturday or Sunday.",
    "rate_count_interaction": "anomaly_rate * measurement_count.",
    "probe_block_rate": "Own-probe block rate that day (0 when no probe ran).",
    "probe_node_count": "Own-probe nodes that reported that day (0 when no probe ran).",
    "probe_avg_confidence": "Mean own-probe confidence that day (0 when no probe ran).",
    "probe_agreement": "Share of own-probe nodes agreeing that day (0 when no probe ran).",
    "rate_spike_interaction": "anomaly_rate * spike_magnitude.",
    "high_evidence": "1 if measurement_count >= 50.",
    "neighbor_block_rate_7d": "Correlation-weighted mean neighbour anomaly_rate over the previous"
    " 7 days.",
    "neighbor_incident_count_7d": "Correlation-weighted count of neighbour censorship/mixed"
    " incidents touching the previous 7 days.",
    "neighbor_max_anomaly_7d": "Max over neighbours of weight * max daily anomaly_rate over the"
    " previous 7 days.",
}

_NS_PER_DAY: Final[int] = 86_400 * 10**9
_MISSING: Final[str] = "\\N"
_FIELD_SEP: Final[str] = "\x1f"
_ROW_SEP: Final[str] = "\x1e"
_FINGERPRINT_CHUNK_ROWS: Final[int] = 200_000


# --------------------------------------------------------------------------------------------
# Input normalisation
# --------------------------------------------------------------------------------------------


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{what} is missing column(s): {', '.join(missing)}")


def _utc_ns(values: pd.Series) -> IntArray:
    """Nanoseconds since the epoch; naive timestamps are taken as UTC (SQLite drops the zone)."""
    stamps = pd.to_datetime(values, utc=True).dt.tz_localize(None).dt.as_unit("ns")
    if stamps.isna().any():
        raise InputError("evidence has rows without observed_at")
    ns: IntArray = stamps.to_numpy().astype(np.int64)
    return ns


def _day_numbers(values: pd.Series, what: str) -> IntArray:
    """Days since 1970-01-01 for dates, date strings or datetimes (aware ones taken in UTC)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    stamps = pd.to_datetime(values, utc=True)
    if stamps.isna().any():
        raise InputError(f"{what} has missing dates")
    ns: IntArray = stamps.dt.tz_localize(None).dt.as_unit("ns").to_numpy().astype(np.int64)
    days: IntArray = np.floor_divide(ns, _NS_PER_DAY)
    return days


def _to_dates(day_numbers: IntArray) -> npt.NDArray[np.object_]:
    result: npt.NDArray[np.object_] = day_numbers.astype("datetime64[D]").astype(object)
    return result


# --------------------------------------------------------------------------------------------
# Daily grid and windowed sums
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DailyGrid:
    """Dense day x country matrices of the daily evidence series (day-major for window sums)."""

    countries: tuple[str, ...]
    day0: int
    counts: IntArray
    anomalous: IntArray

    @property
    def n_days(self) -> int:
        return int(self.counts.shape[0])

    @property
    def mask(self) -> BoolArray:
        """Days with any evidence."""
        result: BoolArray = self.counts > 0
        return result

    @property
    def rate(self) -> FloatArray:
        """Daily anomaly_rate, 0 on days without evidence."""
        counts = self.counts.astype(np.float64)
        return np.divide(
            self.anomalous.astype(np.float64),
            counts,
            out=np.zeros_like(counts),
            where=counts > 0,
        )


def measurement_weights(evidence: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    """Measurements and anomalous measurements per evidence row (1 and 0/1 for plain rows)."""
    flags = evidence["anomalous"].fillna(False).astype(bool).to_numpy().astype(np.float64)
    if "measurements" not in evidence.columns:
        return np.ones(len(evidence)), flags
    total = pd.to_numeric(evidence["measurements"]).astype("Float64")
    aggregate = total.notna().to_numpy()
    weight = np.where(aggregate, total.fillna(1).to_numpy(dtype=np.float64), 1.0)
    anom_col = pd.to_numeric(evidence["anomalous_measurements"]).astype("Float64").fillna(0)
    anomalous = np.where(aggregate, anom_col.to_numpy(dtype=np.float64), flags)
    return weight, anomalous


def daily_totals(evidence: pd.DataFrame) -> pd.DataFrame:
    """Measurements and anomalous measurements per country and UTC day number (days since 1970).

    Totals are additive: the totals of disjoint evidence chunks, concatenated, give the same grid
    as the totals of all of it, so a build can read evidence a bounded chunk at a time.
    """
    _require(evidence, EVIDENCE_COLUMNS, "evidence")
    weight, anomalous = measurement_weights(evidence)
    frame = pd.DataFrame(
        {
            "country": evidence["country"].astype(str).to_numpy(dtype=object),
            "day_number": np.floor_divide(_utc_ns(evidence["observed_at"]), _NS_PER_DAY),
            "measurements": weight,
            "anomalous": anomalous,
        }
    )
    return frame.groupby(["country", "day_number"], sort=True, as_index=False).sum()


def grid_from_totals(totals: pd.DataFrame) -> DailyGrid:
    """The day x country grid of (possibly chunk-wise, repeated-key) :func:`daily_totals`."""
    if len(totals) == 0:
        raise InputError("evidence is empty")
    country_codes, countries = pd.factorize(totals["country"].astype(str), sort=True)
    days = totals["day_number"].to_numpy(dtype=np.int64)
    day0 = int(days.min())
    n_days = int(days.max()) - day0 + 1
    n_countries = len(countries)
    cell = (days - day0) * n_countries + country_codes
    size = n_days * n_countries
    weight = totals["measurements"].to_numpy(dtype=np.float64)
    anomalous = totals["anomalous"].to_numpy(dtype=np.float64)
    counts = np.bincount(cell, weights=weight, minlength=size).astype(np.int64)
    anom = np.bincount(cell, weights=anomalous, minlength=size).astype(np.int64)
    counts, anom = counts.reshape(n_days, n_countries), anom.reshape(n_days, n_countries)
    return DailyGrid(tuple(str(c) for c in countries), day0, counts, anom)


def daily_grid(evidence: pd.DataFrame) -> DailyGrid:
    """Aggregate evidence rows into integer day x country counts (order-independent by design)."""
    return grid_from_totals(daily_totals(evidence))


def daily_series(evidence: pd.DataFrame) -> pd.DataFrame:
    """Per country and evidence day: measurement_count, anomalous_count and anomaly_rate."""
    grid = daily_grid(evidence)
    day_idx, country_idx = np.nonzero(grid.mask)
    order = np.lexsort((day_idx, country_idx))
    day_idx, country_idx = day_idx[order], country_idx[order]
    return pd.DataFrame(
        {
            "country": np.asarray(grid.countries, dtype=object)[country_idx],
            "day": _to_dates(day_idx.astype(np.int64) + grid.day0),
            "measurement_count": grid.counts[day_idx, country_idx],
            "anomalous_count": grid.anomalous[day_idx, country_idx],
            "anomaly_rate": grid.rate[day_idx, country_idx],
        }
    )


def trailing_sum(values: FloatArray, window: int) -> FloatArray:
    """``out[d] = values[d-window:d].sum(axis=0)`` (zero before the start) for every ``d``.

    Cumulative sums restart every ``window`` days, so each result adds at most two short partial
    sums: the error stays at the scale of one window, not of the whole (possibly century) series.
    """
    n = values.shape[0]
    tail = values.shape[1:]
    n_blocks = (n + window) // window + 2
    padded = np.zeros((n_blocks * window, *tail), dtype=np.float64)
    padded[window : window + n] = values
    blocks = padded.reshape(n_blocks, window, *tail)
    prefix = np.zeros((n_blocks, window + 1, *tail), dtype=np.float64)
    np.cumsum(blocks, axis=1, out=prefix[:, 1:])
    start = np.arange(n)
    q, r = np.divmod(start, window)
    result: FloatArray = (prefix[q, window] - prefix[q, r]) + prefix[q + 1, r]
    return result


def _trailing_extreme(values: FloatArray, window: int, *, fill: float, use_max: bool) -> FloatArray:
    """Max (or min) over ``values[d-window:d]``; ``fill`` where the window is before the start."""
    padded = np.concatenate([np.full((window, *values.shape[1:]), fill), values])
    # A trailing inclusive filter: the window of index j is padded[j-window+1 .. j]; the window
    # of day d, values[d-window .. d-1], is padded[d .. d+window-1], so j = d + window - 1.
    origin = (window - 1) // 2
    filt = maximum_filter1d if use_max else minimum_filter1d
    out = filt(padded, size=window, axis=0, mode="constant", cval=fill, origin=origin)
    result: FloatArray = out[window - 1 : window - 1 + len(values)]
    return result


def trailing_max(values: FloatArray, window: int, *, fill: float = -np.inf) -> FloatArray:
    """``out[d] = values[d-window:d].max(axis=0)``; ``fill`` when the window is empty."""
    return _trailing_extreme(values, window, fill=fill, use_max=True)


def trailing_min(values: FloatArray, window: int, *, fill: float = np.inf) -> FloatArray:
    """``out[d] = values[d-window:d].min(axis=0)``; ``fill`` when the window is empty."""
    return _trailing_extreme(values, window, fill=fill, use_max=False)


# --------------------------------------------------------------------------------------------
# Contagion
# --------------------------------------------------------------------------------------------


def _neighbour_indices(grid: DailyGrid, neighbours: Mapping[str, Iterable[str]]) -> list[IntArray]:
    """Per grid country, the sorted grid indices of its neighbours that have any evidence."""
    index = {c: i for i, c in enumerate(grid.countries)}
    result: list[IntArray] = []
    for c in grid.countries:
        found = sorted({index[n] for n in neighbours.get(c, ()) if n in index and n != c})
        result.append(np.asarray(found, dtype=np.int64))
    return result


def _pair_weights(grid: DailyGrid, rate: FloatArray, c: int, nbrs: IntArray) -> FloatArray:
    """Contagion weight of each neighbour in ``nbrs`` for country ``c`` on every grid day."""
    window = CONTAGION_CORR_WINDOW_DAYS
    mask = grid.mask
    joint = mask[:, [c]] & mask[:, nbrs]
    x = np.where(joint, rate[:, [c]], 0.0)
    y = np.where(joint, rate[:, nbrs], 0.0)
    n = trailing_sum(joint.astype(np.float64), window)
    sx, sy = trailing_sum(x, window), trailing_sum(y, window)
    sxy = trailing_sum(x * y, window)
    sxx, syy = trailing_sum(x * x, window), trailing_sum(y * y, window)
    # Constancy is decided exactly (min == max), not by a float tolerance on the variance.
    varies_x = trailing_max(np.where(joint, x, -np.inf), window) > trailing_min(
        np.where(joint, x, np.inf), window
    )
    varies_y = trailing_max(np.where(joint, y, -np.inf), window) > trailing_min(
        np.where(joint, y, np.inf), window
    )
    cov = n * sxy - sx * sy
    var_x = n * sxx - sx * sx
    var_y = n * syy - sy * sy
    valid = (n >= CONTAGION_MIN_OVERLAP_DAYS) & varies_x & varies_y & (var_x > 0) & (var_y > 0)
    denom = np.sqrt(np.where(valid, var_x * var_y, 1.0))
    r = np.clip(np.where(valid, cov / denom, 0.0), -1.0, 1.0)
    weights: FloatArray = np.maximum(r, 0.0)
    return weights


def contagion_weights(
    evidence: pd.DataFrame, neighbours: Mapping[str, Iterable[str]]
) -> pd.DataFrame:
    """Every (country, neighbour, evidence day of the country) with its weight and overlap days.

    Rows exist for every neighbour that has any evidence, including dropped edges (weight 0), so
    callers can report how many edges the overlap rule removes.
    """
    grid = daily_grid(evidence)
    rate = grid.rate
    mask = grid.mask
    parts: list[pd.DataFrame] = []
    for c, nbrs in enumerate(_neighbour_indices(grid, neighbours)):
        if len(nbrs) == 0:
            continue
        days = np.nonzero(mask[:, c])[0]
        weights = _pair_weights(grid, rate, c, nbrs)[days]
        joint = (mask[:, [c]] & mask[:, nbrs]).astype(np.float64)
        overlap = trailing_sum(joint, CONTAGION_CORR_WINDOW_DAYS)[days].astype(np.int64)
        k = len(nbrs)
        parts.append(
            pd.DataFrame(
                {
                    "country": grid.countries[c],
                    "neighbour": np.asarray(grid.countries, dtype=object)[np.tile(nbrs, len(days))],
                    "day": _to_dates(np.repeat(days, k).astype(np.int64) + grid.day0),
                    "overlap_days": overlap.reshape(-1),
                    "weight": weights.reshape(-1),
                }
            )
        )
    columns = ["country", "neighbour", "day", "overlap_days", "weight"]
    if not parts:
        return pd.DataFrame({c: [] for c in columns})
    return pd.concat(parts, ignore_index=True)


def _incident_window_counts(
    grid: DailyGrid, incidents: pd.DataFrame, window: int
) -> tuple[FloatArray, BoolArray]:
    """Per grid day and country: labelling incidents touching [d-window, d-1], and covering d."""
    n_days, n_countries = grid.counts.shape
    counts = np.zeros((n_days, n_countries), dtype=np.float64)
    covers = np.zeros((n_days, n_countries), dtype=bool)
    if len(incidents) == 0:
        return counts, covers
    _require(incidents, INCIDENT_COLUMNS, "incidents")
    kept = incidents[incidents["incident_type"].astype(str).isin(LABELLING_INCIDENT_TYPES)]
    if len(kept) == 0:
        return counts, covers
    first = _day_numbers(kept["first_seen"], "incidents")
    last = _day_numbers(kept["last_seen"], "incidents")
    if (last < first).any():
        raise InputError("incidents has last_seen before first_seen")
    codes = kept["country"].astype(str).to_numpy()
    days = np.arange(n_days, dtype=np.int64) + grid.day0
    for i, country in enumerate(grid.countries):
        sel = codes == country
        if not sel.any():
            continue
        f = np.sort(first[sel])
        ln = np.sort(last[sel])
        # Spans with first <= d-1 minus those already over (last < d-window).
        counts[:, i] = np.searchsorted(f, days - 1, side="right") - np.searchsorted(
            ln, days - window, side="left"
        )
        covers[:, i] = (
            np.searchsorted(f, days, side="right") - np.searchsorted(ln, days, side="left")
        ) > 0
    return counts, covers


def _contagion_features(
    grid: DailyGrid,
    neighbours: Mapping[str, Iterable[str]],
    incident_counts: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Day x country matrices of the three neighbour features."""
    window = CONTAGION_FEATURE_WINDOW_DAYS
    rate = grid.rate
    mask_f = grid.mask.astype(np.float64)
    days_7 = trailing_sum(mask_f, window)
    has_7 = days_7 > 0
    mean_7 = np.divide(
        trailing_sum(rate * mask_f, window), days_7, out=np.zeros_like(days_7), where=has_7
    )
    max_7 = trailing_max(rate, window, fill=0.0)
    shape = grid.counts.shape
    block, incidents, max_anom = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for c, nbrs in enumerate(_neighbour_indices(grid, neighbours)):
        if len(nbrs) == 0:
            continue
        w = _pair_weights(grid, rate, c, nbrs)
        w_has = w * has_7[:, nbrs]
        den = w_has.sum(axis=1)
        num = (w_has * mean_7[:, nbrs]).sum(axis=1)
        block[:, c] = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        incidents[:, c] = (w * incident_counts[:, nbrs]).sum(axis=1)
        max_anom[:, c] = (w * max_7[:, nbrs]).max(axis=1)
    return block, incidents, max_anom


# --------------------------------------------------------------------------------------------
# Probes and fingerprints
# --------------------------------------------------------------------------------------------


def _probe_matrix(grid: DailyGrid, probe_metrics: pd.DataFrame) -> FloatArray:
    """Day x country x 4 probe features (block_rate, node_count, avg_confidence, agreement)."""
    out = np.zeros((*grid.counts.shape, 4), dtype=np.float64)
    if len(probe_metrics) == 0:
        return out
    _require(probe_metrics, PROBE_COLUMNS, "probe_metrics")
    index = {c: i for i, c in enumerate(grid.countries)}
    codes = probe_metrics["country"].astype(str).map(index)
    days = _day_numbers(probe_metrics["day"], "probe_metrics") - grid.day0
    keep = (codes.notna().to_numpy()) & (days >= 0) & (days < grid.n_days)
    keys = pd.DataFrame({"c": probe_metrics["country"].astype(str), "d": days})
    if keys.duplicated().any():
        raise InputError("probe_metrics has more than one row for a country-day")
    ci = codes.to_numpy()[keep].astype(np.int64)
    di = days[keep]
    for k, col in enumerate(("block_rate", "node_count", "avg_confidence", "agreement")):
        values = pd.to_numeric(probe_metrics[col]).fillna(0.0).to_numpy(dtype=np.float64)
        out[di, ci, k] = values[keep]
    return out


def _canonical_text(values: pd.Series) -> pd.Series:
    """Exact text of a column: shortest round-trip floats, raw strings, ``\\N`` for missing."""
    if pd.api.types.is_bool_dtype(values):
        return values.map({True: "1", False: "0"}).astype(str)
    if pd.api.types.is_numeric_dtype(values):
        floats = values.astype(np.float64)
        floats = floats.where(floats != 0.0, 0.0)  # -0.0 and 0.0 are the same reading
        return floats.astype(str).fillna(_MISSING)
    return values.astype(object).where(values.notna(), _MISSING).astype(str)


def _hash_chunk(rows: pd.DataFrame, cells: IntArray, digest: dict[int, str]) -> None:
    """Add the fingerprint of every cell in ``rows`` (all rows of each of those cells)."""
    parts: list[pd.Series] = []
    for field in FINGERPRINT_FIELDS:
        if field == "observed_at":
            parts.append(pd.Series(_utc_ns(rows[field]), index=rows.index).astype(str))
        elif field == "anomalous":
            parts.append(_canonical_text(rows[field].fillna(False).astype(bool)))
        elif field in rows.columns:
            parts.append(_canonical_text(rows[field]))
        else:
            parts.append(pd.Series(_MISSING, index=rows.index, dtype=str))
    text = parts[0].astype(str)
    for part in parts[1:]:  # element-wise ``+`` on str columns runs in Arrow, unlike ``str.cat``
        text = text + _FIELD_SEP + part.astype(str)
    if "measurements" in rows.columns and rows["measurements"].notna().any():
        # Aggregate rows hash their weights too; plain rows keep the text (and the fingerprints
        # stored with labels) they had before aggregate evidence existed.
        aggregate = rows["measurements"].notna()
        extra = (
            _FIELD_SEP
            + _canonical_text(pd.to_numeric(rows["measurements"]).astype("Float64"))
            + _FIELD_SEP
            + _canonical_text(pd.to_numeric(rows["anomalous_measurements"]).astype("Float64"))
        )
        text = text.where(~aggregate, text + extra)
    order = pd.DataFrame({"cell": cells, "text": text.to_numpy()}).sort_values(
        ["cell", "text"], kind="stable"
    )
    sorted_cells = order["cell"].to_numpy()
    lines = order["text"].tolist()
    bounds = np.flatnonzero(np.diff(sorted_cells)) + 1
    starts = np.concatenate([[0], bounds]).tolist()
    ends = np.concatenate([bounds, [len(sorted_cells)]]).tolist()
    for s, e in zip(starts, ends, strict=True):
        payload = _ROW_SEP.join(lines[s:e]).encode("utf-8")
        digest[int(sorted_cells[s])] = hashlib.sha256(payload).hexdigest()[:FINGERPRINT_HEX_CHARS]


def _fingerprints(evidence: pd.DataFrame, cell: IntArray, wanted: IntArray) -> list[str]:
    """sha256 of each wanted cell's evidence rows, as sorted canonical text lines.

    Rows are processed in chunks of whole cells so that memory stays bounded on huge inputs.
    """
    positions = np.flatnonzero(np.isin(cell, wanted))
    positions = positions[np.argsort(cell[positions], kind="stable")]
    cells = cell[positions]
    digest: dict[int, str] = {}
    start = 0
    while start < len(positions):
        stop = min(start + _FINGERPRINT_CHUNK_ROWS, len(positions))
        # Extend to the end of the last cell so that no cell is split across chunks.
        stop = int(np.searchsorted(cells, cells[stop - 1], side="right"))
        chunk = positions[start:stop]
        _hash_chunk(evidence.iloc[chunk], cells[start:stop], digest)
        start = stop
    return [digest[int(c)] for c in wanted]


# --------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------


def build_samples(
    evidence: pd.DataFrame,
    incidents: pd.DataFrame,
    probe_metrics: pd.DataFrame,
    neighbours: Mapping[str, Iterable[str]],
    *,
    min_evidence: int = MIN_EVIDENCE_ROWS,
) -> pd.DataFrame:
    """One row per country-day with ``>= min_evidence`` evidence rows, sorted by country, day.

    Columns: ``country``, ``day`` (``datetime.date``), the 16 :data:`FEATURES` (float64),
    ``evidence_count``, ``fingerprint``, ``incident_label`` and ``candidate_only`` (always False
    here). See the module docstring for the definitions.
    """
    _check_min_evidence(min_evidence)
    return samples_from_totals(
        daily_totals(evidence),
        day_fingerprints(evidence, min_evidence),
        incidents,
        probe_metrics,
        neighbours,
        min_evidence=min_evidence,
    )


def _check_min_evidence(min_evidence: int) -> None:
    if min_evidence < 1:
        raise InputError("min_evidence must be at least 1")


def day_fingerprints(evidence: pd.DataFrame, min_evidence: int) -> pd.DataFrame:
    """``country``, ``day_number``, ``fingerprint`` of every sample day in ``evidence``.

    ``evidence`` must hold whole country-days (every row of each day it touches), as a chunk
    read by country and day range does; the fingerprints of several chunks then concatenate.
    """
    _check_min_evidence(min_evidence)
    columns = ["country", "day_number", "fingerprint"]
    if len(evidence) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    codes, countries = pd.factorize(evidence["country"].astype(str), sort=True)
    days = np.floor_divide(_utc_ns(evidence["observed_at"]), _NS_PER_DAY)
    cell = days * len(countries) + codes
    weight, _ = measurement_weights(evidence)
    per_cell = pd.Series(weight).groupby(cell).sum()
    wanted = per_cell.index.to_numpy(dtype=np.int64)[per_cell.to_numpy() >= min_evidence]
    return pd.DataFrame(
        {
            "country": np.asarray(countries, dtype=object)[wanted % len(countries)],
            "day_number": wanted // len(countries),
            "fingerprint": _fingerprints(evidence, cell, wanted),
        },
        columns=columns,
    )


def samples_from_totals(
    totals: pd.DataFrame,
    fingerprints: pd.DataFrame,
    incidents: pd.DataFrame,
    probe_metrics: pd.DataFrame,
    neighbours: Mapping[str, Iterable[str]],
    *,
    min_evidence: int = MIN_EVIDENCE_ROWS,
    min_candidate: int | None = None,
    countries: Iterable[str] | None = None,
) -> pd.DataFrame:
    """:func:`build_samples` from :func:`daily_totals` and :func:`day_fingerprints` of chunks.

    ``countries`` limits the output rows (a scoped rebuild); their fingerprints must all be
    present, while other countries' totals only feed contagion. ``min_candidate`` (default
    ``min_evidence``) adds the candidate days with fewer rows, flagged ``candidate_only``; the
    fingerprints must then be those of :func:`day_fingerprints` at ``min_candidate``.
    """
    _check_min_evidence(min_evidence)
    floor = min_evidence if min_candidate is None else min(min_candidate, min_evidence)
    _check_min_evidence(floor)
    grid = grid_from_totals(totals)
    counts_f = grid.counts.astype(np.float64)
    rate = grid.rate
    mask_f = grid.mask.astype(np.float64)

    base_days = trailing_sum(mask_f, SPIKE_BASELINE_DAYS)
    base_sum = trailing_sum(rate * mask_f, SPIKE_BASELINE_DAYS)
    baseline = np.divide(base_sum, base_days, out=np.zeros_like(base_sum), where=base_days > 0)
    spike = np.where(base_days > 0, rate / (baseline + SPIKE_EPSILON), 1.0)

    incident_counts, covered = _incident_window_counts(
        grid, incidents, CONTAGION_FEATURE_WINDOW_DAYS
    )
    nb_block, nb_incidents, nb_max = _contagion_features(grid, neighbours, incident_counts)
    probes = _probe_matrix(grid, probe_metrics)

    # Samples in (country, day) order: nonzero over the country-major view.
    country_idx, day_idx = np.nonzero(floor <= grid.counts.T)
    day_numbers = day_idx.astype(np.int64) + grid.day0
    dates = day_numbers.astype("datetime64[D]")
    weekday = ((day_numbers + 3) % 7).astype(np.float64)  # 1970-01-01 was a Thursday
    month = (dates.astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(np.float64)

    ar = rate[day_idx, country_idx]
    mc = counts_f[day_idx, country_idx]
    sm = spike[day_idx, country_idx]
    pr = probes[day_idx, country_idx]
    features: dict[str, FloatArray] = {
        "anomaly_rate": ar,
        "measurement_count": mc,
        "spike_magnitude": sm,
        "day_of_week": weekday,
        "month": month,
        "is_weekend": (weekday >= 5).astype(np.float64),
        "rate_count_interaction": ar * mc,
        "probe_block_rate": pr[:, 0],
        "probe_node_count": pr[:, 1],
        "probe_avg_confidence": pr[:, 2],
        "probe_agreement": pr[:, 3],
        "rate_spike_interaction": ar * sm,
        "high_evidence": (mc >= HIGH_EVIDENCE_MIN_COUNT).astype(np.float64),
        "neighbor_block_rate_7d": nb_block[day_idx, country_idx],
        "neighbor_incident_count_7d": nb_incidents[day_idx, country_idx],
        "neighbor_max_anomaly_7d": nb_max[day_idx, country_idx],
    }

    out = pd.DataFrame(
        {
            "country": np.asarray(grid.countries, dtype=object)[country_idx],
            "day": _to_dates(day_numbers),
            **{name: features[name].astype(np.float64) for name in FEATURES},
            "evidence_count": grid.counts[day_idx, country_idx].astype(np.int64),
            "incident_label": covered[day_idx, country_idx].astype(np.int64),
            "candidate_only": grid.counts[day_idx, country_idx] < min_evidence,
            "day_number": day_numbers,
        }
    )
    if countries is not None:
        out = out[out["country"].isin(set(countries))]
    keyed = fingerprints.set_index(["country", "day_number"])["fingerprint"]
    found = keyed.reindex(pd.MultiIndex.from_frame(out[["country", "day_number"]]))
    if found.isna().any():
        raise InputError("fingerprints are missing for some sample days (a chunk split a day)")
    out["fingerprint"] = found.to_numpy(dtype=object)
    return out[list(OUTPUT_COLUMNS)].reset_index(drop=True)


def pair_weight(
    evidence: pd.DataFrame, country: str, neighbour: str, day: date
) -> tuple[float, int]:
    """Reference (slow, obvious) contagion weight and overlap for one pair and day; for tests."""
    series = daily_series(evidence)
    start = pd.Timestamp(day) - pd.Timedelta(days=CONTAGION_CORR_WINDOW_DAYS)
    days = pd.to_datetime(series["day"])
    in_window = (days >= start) & (days < pd.Timestamp(day))
    a = series[in_window & (series["country"] == country)].set_index("day")["anomaly_rate"]
    b = series[in_window & (series["country"] == neighbour)].set_index("day")["anomaly_rate"]
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner")
    overlap = len(joined)
    if overlap < CONTAGION_MIN_OVERLAP_DAYS:
        return 0.0, overlap
    if joined["a"].nunique() < 2 or joined["b"].nunique() < 2:
        return 0.0, overlap
    r = float(np.corrcoef(joined["a"].to_numpy(), joined["b"].to_numpy())[0, 1])
    return max(0.0, r), overlap


def incident_labels(keys: pd.DataFrame, incidents: pd.DataFrame) -> IntArray:
    """1 where a censorship or mixed incident of the row's country covers its day, else 0.

    The same rule as ``incident_label`` in :func:`build_samples`, for rows that were not built
    from evidence (imported feature tables).
    """
    out = np.zeros(len(keys), dtype=np.int64)
    if len(keys) == 0 or len(incidents) == 0:
        return out
    kept = incidents[incidents["incident_type"].astype(str).isin(LABELLING_INCIDENT_TYPES)]
    if len(kept) == 0:
        return out
    first = _day_numbers(kept["first_seen"], "incidents")
    last = _day_numbers(kept["last_seen"], "incidents")
    codes = kept["country"].astype(str).to_numpy()
    days = _day_numbers(keys["day"], "samples")
    countries = keys["country"].astype(str).to_numpy()
    for country in np.unique(countries):
        rows = countries == country
        sel = codes == country
        if not sel.any():
            continue
        f, ln = np.sort(first[sel]), np.sort(last[sel])
        d = days[rows]
        covering = np.searchsorted(f, d, side="right") - np.searchsorted(ln, d, side="left")
        out[rows] = (covering > 0).astype(np.int64)
    return out


def feature_fingerprints(frame: pd.DataFrame) -> list[str]:
    """Hash of an imported row's feature values (and label), standing in for its evidence.

    Labels record the fingerprint the analyst saw; a re-import that changes a row's values
    changes this hash, which flags the row's labels for re-review as changed evidence would.
    """
    columns = [*FEATURES, "given_label"]
    parts = [_canonical_text(pd.to_numeric(frame[c]).astype("Float64")) for c in columns]
    text = parts[0].astype(str)
    for part in parts[1:]:
        text = text + _FIELD_SEP + part.astype(str)
    digests = (hashlib.sha256(("import" + _ROW_SEP + t).encode("utf-8")) for t in text.tolist())
    return [d.hexdigest()[:FINGERPRINT_HEX_CHARS] for d in digests]
