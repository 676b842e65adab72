"""A deterministic synthetic world shaped like production, for the demo, tests and benchmarks.

The world is generated from a latent truth: per country a measurement volume, a noise level and a
censorship regime; per day censorship episodes (some region-wide, some shutdowns), outages and
noisy "glitch" days. Evidence rows, probe metrics and incidents are then *observed* from that truth
the way production observes it. Scale ``K`` means ``K`` consecutive years ending on
:data:`END_DAY`, i.e. ``K`` times the data.

How evidence is observed (the facts each rule serves, from ``domain.md`` and the issue notes):

- **Background evidence on most days** (routine vantage points, 1-4 rows: ``1 + Poisson(0.15)``):
  every day with probability ``background`` (median 0.45 over countries, 0.9-0.98 for the
  high-impact ones, 0.85-0.95 on the watch list, 0.97-0.99 for the six priority targets), whatever
  happened that day. Production averages ~1 evidence row per country-day (84k rows, 214
  countries, a year), so most days carry a little evidence; this gives each watch-list country a
  few hundred *candidate days* (~310-365).
- **One measurement-campaign effect decides which days are busy** (>= 5 rows, the samples):
  quiet days become campaign days with the country's ``coverage`` (bursty, ~0.2-5%, KW 0.2% for
  its published n = 13), reported censorship days with its ``campaign`` chance (0.45-0.75; 0.85
  on the watch list), unreported ones with :data:`_UNREPORTED_CAMPAIGN` (half) of that (public
  events draw researchers; quiet blocks are met by routine campaigns only), outage days with
  IODA attention (0.2). Campaigns follow events, which is why ~26% of the >= 5-row samples are
  positive while censorship days are a few percent of all days (domain: "How rare censorship
  days are"). The truth never decides alone whether a day has evidence.
- **Incidents** report most censorship episodes in most countries (90-98%), only a minority on
  the watch list; spans are jittered by a day, duplicated across reporters, and 2% false alarms
  land on quiet days.
- **Designed watch-list episodes**, so every seed meets the premise: each of OM, LY, YE, AM, TN
  has 5 reported episodes (2-3 days) and 27 unreported censorship days (11 episodes), KW 4
  reported 2-day episodes and 14 unreported days; the other ten watch-list countries 3-6
  reported episodes and 10-20 unreported days. Episodes sit in separate 7-day slots, so incident
  jitter never covers another episode. Result (seeds 0-7): 8-14 incident positives in each
  priority country (KW 5-8), >= 25 hidden positives each (KW 14), hidden positives 2.7-7.9%
  of each watch-list country's candidate days, roughly half of them on busy days. One year
  forces >= 25 of ~360 days to be unreported censorship days in the priority countries (~7%,
  plus the reported ones), above the 0-6% that public event lists show for most countries: the
  20-30-positives target and one year of data cannot both be met otherwise.
- Published facts met for every seed 0-7 (``tests/synth``; :func:`generate_demo_world`):
  3,950-4,470 samples with >= 5 rows, 24-33% positive, 131 countries, KW 11-16 samples,
  80-95k evidence rows and 29-31k candidate days, 2,230-2,720 incidents, probes on ~0.3% of
  country-days; base LOCO median F1 0.80-0.86 (seeds 0-4, fast engine), watch-list median
  0.42-0.57.

Everything is vectorised numpy driven by one :class:`numpy.random.Generator` seeded from
``(seed, scale)``; nothing depends on today's date or on hash randomisation. The 131 countries are
the same for every seed (like production), their behaviour is not. The truth is returned apart
(:attr:`DemoWorld.truth`) and stored in its own table, read only by the demo and the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelbench.domain.constants import (
    DEFAULT_CLUSTERS,
    HIGH_IMPACT,
    PRIORITY_TARGETS,
    WATCH_LIST,
)
from labelbench.domain.countries import all_countries

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Last day of every demo world (the production snapshot date).
END_DAY: Final[date] = date(2026, 11, 15)
N_COUNTRIES: Final[int] = 131
DAYS_PER_YEAR: Final[int] = 365
#: Fixed seed of the (seed-independent) country pick.
_COUNTRY_PICK_SEED: Final[int] = 131
#: Uninhabited or statistical territories never picked as demo countries.
_NOT_PICKED: Final[frozenset[str]] = frozenset(
    "AQ BV HM TF UM GS PN IO CC CX NF SJ TK NU BL MF PM WF AX".split()
)
_SOURCES: Final[tuple[str, ...]] = ("ooni", "censoredplanet", "ioda", "probe")
_OONI, _CP, _IODA, _PROBE = range(4)
_BLOCKING_METHODS: Final[tuple[str, ...]] = ("dns", "tcp_ip", "http-failure", "http-diff")
_IODA_SIGNALS: Final[tuple[str, ...]] = ("bgp", "active-probing", "telescope")
_KINDS: Final[tuple[str, ...]] = (
    "web_connectivity",
    "hyperquack",
    "satellite",
    "outage_signal",
    "probe_check",
)
_LEVELS: Final[tuple[str, ...]] = (
    "ok",
    "anomaly",
    "confirmed",
    "failure",
    "normal",
    "warning",
    "critical",
)
_DOMAINS: Final[tuple[str, ...]] = tuple(
    """twitter.com facebook.com www.youtube.com www.instagram.com web.whatsapp.com telegram.org
    signal.org www.tiktok.com www.reddit.com en.wikipedia.org www.bbc.com www.dw.com
    www.aljazeera.com www.hrw.org www.amnesty.org rsf.org www.torproject.org protonvpn.com
    nordvpn.com psiphon.ca www.google.com news.google.com www.nytimes.com www.theguardian.com
    www.reuters.com www.voanews.com www.rferl.org meduza.io www.skype.com zoom.us discord.com
    www.twitch.tv www.linkedin.com medium.com www.change.org www.grindr.com www.bet365.com
    www.pokerstars.com ifex.org cpj.org""".split()
)
#: Incident reporters and their citation URL prefixes.
_INCIDENT_SOURCES: Final[dict[str, str]] = {
    "ooni": "https://explorer.ooni.org/findings/",
    "censoredplanet": "https://censoredplanet.org/reports/",
    "accessnow": "https://www.accessnow.org/keepiton/incidents/",
    "netblocks": "https://netblocks.org/reports/",
    "ioda": "https://ioda.inetintel.cc.gatech.edu/reports/",
    "cloudflare": "https://radar.cloudflare.com/outage-center/",
}
_CENSORSHIP_REPORTERS: Final[tuple[str, ...]] = ("ooni", "censoredplanet", "accessnow", "netblocks")
_OUTAGE_REPORTERS: Final[tuple[str, ...]] = ("ioda", "cloudflare", "netblocks")

#: Priority targets' censorship episodes per year: reported (min length, max length, count) and
#: the lengths of the unreported ones (27 days; KW 14), fixed so every seed meets the premise.
_PRIORITY_EPISODES: Final[dict[str, tuple[tuple[int, int, int], tuple[int, ...]]]] = {
    "other": ((2, 3, 5), (2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3)),
    "KW": ((2, 2, 4), (2, 2, 2, 2, 2, 2, 2)),
}
#: Unreported censorship days per year of the other watch-list countries: [low, high).
_WATCH_HIDDEN_DAYS: Final[tuple[int, int]] = (10, 21)
#: The measurement-campaign effect: an unreported censorship day becomes a campaign day with
#: this share of the country's campaign chance for reported ones (public events draw
#: researchers; quiet blocks are found by routine and partner campaigns only).
_UNREPORTED_CAMPAIGN: Final[float] = 0.5
#: Rows of the busiest background day + 1: campaign days have at least this many (sample rule).
_MIN_BUSY_ROWS: Final[int] = 5
#: Scales every country's quiet-day campaign chance (calibrated to ~4,200 samples).
_CAMPAIGN_COVERAGE_SCALE: Final[float] = 0.7
#: Background evidence rows on a day: 1 + Poisson(this), capped below the sample rule.
_BACKGROUND_EXTRA_ROWS: Final[float] = 0.15

#: Truth kinds of a country-day.
TRUTH_KINDS: Final[tuple[str, ...]] = ("quiet", "glitch", "disruption", "censorship", "shutdown")
_QUIET, _GLITCH, _DISRUPTION, _CENSORSHIP, _SHUTDOWN = range(5)


@dataclass(frozen=True)
class DemoWorld:
    """The observable data (evidence, incidents, probe metrics) plus the latent truth."""

    evidence: pd.DataFrame
    incidents: pd.DataFrame
    probe_metrics: pd.DataFrame
    #: One row per country-day with evidence: ``country, day, is_censorship, kind``.
    truth: pd.DataFrame
    countries: list[str]


def demo_countries() -> list[str]:
    """The 131 demo countries: all cluster, watch-list and high-impact ones, then a fixed pick."""
    required = set(WATCH_LIST) | set(HIGH_IMPACT)
    for members in DEFAULT_CLUSTERS.values():
        required |= set(members)
    candidates = sorted(
        c.code
        for c in all_countries()
        if c.subregion and c.code not in required and c.code not in _NOT_PICKED
    )
    rng = np.random.default_rng(_COUNTRY_PICK_SEED)
    picked = rng.choice(len(candidates), size=N_COUNTRIES - len(required), replace=False)
    return sorted(required | {candidates[i] for i in picked})


# --------------------------------------------------------------------------------------------
# Latent truth
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    """Per-country latent parameters (arrays indexed like the country list)."""

    background: FloatArray  # chance that a day has low-volume background evidence (1-4 rows)
    coverage: FloatArray  # chance that a quiet day is a campaign (busy, >= 5 rows) day
    rows: FloatArray  # mean evidence rows on a campaign day
    campaign: FloatArray  # chance that a reported censorship day becomes a campaign day
    episode_rate: FloatArray  # censorship episode starts per day
    intensity: FloatArray  # mean anomalous share on censorship days
    noise: FloatArray  # mean anomalous share on quiet days
    glitch_rate: FloatArray  # share of quiet days with a noisy vantage point
    outage_rate: FloatArray  # outage starts per day
    report_prob: FloatArray  # share of censorship episodes that become incidents
    election_month: IntArray  # month (1..12) with more episodes


def _profiles(codes: list[str], rng: np.random.Generator) -> _Profile:
    n = len(codes)
    cluster_members = {c for m in DEFAULT_CLUSTERS.values() for c in m}
    in_cluster = np.array([c in cluster_members for c in codes])
    watch = np.array([c in WATCH_LIST for c in codes])
    priority = np.array([c in PRIORITY_TARGETS for c in codes])
    high = np.array([c in HIGH_IMPACT for c in codes])
    western = np.array([c in {"DE", "JP", "IT", "GB", "US", "BR"} for c in codes])

    # Evidence comes in bursts: most countries are measured on few days, a few almost daily.
    coverage = np.exp(rng.normal(np.log(0.032), 1.0, n))
    coverage = np.where(in_cluster, coverage * 1.5, coverage)
    coverage = np.where(high, np.exp(rng.normal(np.log(0.4), 0.35, n)), coverage)
    coverage = np.where(watch, rng.uniform(0.025, 0.06, n), coverage)
    coverage = np.where(priority, rng.uniform(0.02, 0.03, n), coverage)
    coverage = np.clip(coverage, 0.015, 0.95)
    coverage = np.where(np.asarray(codes) == "KW", 0.003, coverage)  # published: KW n = 13
    background = np.clip(np.exp(rng.normal(np.log(0.45), 0.5, n)), 0.15, 0.95)
    background = np.where(high, rng.uniform(0.9, 0.98, n), background)
    background = np.where(watch, rng.uniform(0.85, 0.95, n), background)
    background = np.where(priority, rng.uniform(0.97, 0.99, n), background)
    rows = np.exp(rng.normal(np.log(8.5), 0.4, n))
    rows = np.where(high, np.exp(rng.normal(np.log(15.0), 0.3, n)), rows)
    rows = np.where(priority, rows * 1.5, rows)
    campaign = np.where(watch, 0.85, rng.uniform(0.45, 0.75, n))
    campaign = np.where(np.asarray(codes) == "KW", 0.85, campaign)

    episode_rate = np.exp(rng.normal(np.log(0.009), 0.6, n))
    episode_rate = np.where(in_cluster, episode_rate * 2.0, episode_rate)
    episode_rate = np.where(western, 0.004, episode_rate)
    episode_rate = np.clip(episode_rate, 0.004, 0.06)

    # The watch list's censorship is subtler (targeted blocking of a few domains).
    intensity = rng.beta(8.0, 5.0, n) * 0.55 + 0.45
    intensity = np.where(watch, intensity * 0.55, intensity)
    # Low-volume countries are noisier (few vantage points, flaky networks).
    noisiness = (0.05 / coverage) ** 0.3
    noise = np.clip(0.025 + 0.065 * noisiness * rng.uniform(0.3, 1.0, n), 0.02, 0.25)
    glitch_rate = np.clip(0.007 * noisiness, 0.002, 0.03)
    coverage = coverage * _CAMPAIGN_COVERAGE_SCALE
    outage_rate = np.exp(rng.normal(np.log(0.012), 0.6, n))
    report_prob = np.where(watch, rng.uniform(0.3, 0.45, n), rng.uniform(0.9, 0.98, n))
    election_month = rng.integers(1, 13, n)
    return _Profile(
        background=background,
        coverage=coverage,
        rows=rows,
        campaign=campaign,
        episode_rate=episode_rate,
        intensity=intensity,
        noise=noise,
        glitch_rate=glitch_rate,
        outage_rate=outage_rate,
        report_prob=report_prob,
        election_month=election_month.astype(np.int64),
    )


@dataclass(frozen=True)
class _Episodes:
    """Censorship or outage episodes: country index, first day index, length, flags."""

    country: IntArray
    start: IntArray
    length: IntArray
    shutdown: BoolArray
    reported: BoolArray


def _month_weights(months: IntArray, election_month: IntArray) -> FloatArray:
    """Relative episode-start weight per (country, day): a shared season plus an election month."""
    season = np.array([1.6, 0.8, 0.7, 0.9, 1.0, 1.8, 1.3, 0.6, 0.6, 0.9, 1.2, 1.6])
    weights = season[months - 1][None, :] * np.where(
        months[None, :] == election_month[:, None], 2.5, 1.0
    )
    result: FloatArray = weights / weights.mean(axis=1, keepdims=True)
    return result


def _designed_episodes(code: str, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """Lengths of one year's reported and unreported episodes of a watch-list country."""
    if code in PRIORITY_TARGETS:
        (lo, hi, count), lengths = _PRIORITY_EPISODES["KW" if code == "KW" else "other"]
        reported = [int(v) for v in rng.integers(lo, hi + 1, count)]
        return reported, [int(v) for v in rng.permutation(np.asarray(lengths))]
    reported = [int(v) for v in rng.integers(2, 4, int(rng.integers(3, 7)))]
    hidden_days = int(rng.integers(*_WATCH_HIDDEN_DAYS))
    hidden = [2] * (hidden_days // 2)
    if hidden_days % 2:
        hidden[0] = 3
    return reported, hidden


def _censorship_episodes(
    codes: list[str],
    profile: _Profile,
    months: IntArray,
    scale: int,
    rng: np.random.Generator,
) -> _Episodes:
    n_countries, n_days = len(codes), len(months)
    weights = _month_weights(months, profile.election_month)
    # Independent episodes: Bernoulli starts per country-day.
    starts = rng.random((n_countries, n_days)) < profile.episode_rate[:, None] * weights
    # Region-wide waves give the neighbour features something real to find.
    index = {c.code: c for c in all_countries()}
    subregions = sorted({index[c].subregion or "" for c in codes})
    member_of = np.array([subregions.index(index[c].subregion or "") for c in codes])
    wave_days = rng.random((len(subregions), n_days)) < 0.006
    joins = (
        rng.random((n_countries, n_days))
        < 0.35 * np.where(profile.episode_rate > 0.01, 1, 0.3)[:, None]
    )
    starts |= wave_days[member_of] & joins
    country, start = np.nonzero(starts)
    length = 1 + rng.geometric(0.38, len(start)) - 1 + rng.integers(0, 2, len(start))

    # The watch list gets designed episode and report counts, so every seed shows the published
    # picture (5-15 incident positives in the priority countries) and the premise (20-30 more
    # censorship days no incident reports there; a few percent of days elsewhere on the list).
    # Episodes sit in separate 7-day slots, so an incident's +/-1 day jitter never reaches
    # another episode.
    designed = [codes.index(c) for c in WATCH_LIST]
    keep = ~np.isin(country, designed)
    country, start, length = country[keep], start[keep], length[keep]
    extra_c: list[IntArray] = []
    extra_s: list[IntArray] = []
    extra_l: list[IntArray] = []
    extra_r: list[BoolArray] = []
    for code in WATCH_LIST:
        lengths: list[int] = []
        flags: list[bool] = []
        for _ in range(scale):
            rep, hidden = _designed_episodes(code, rng)
            lengths += [*rep, *hidden]
            flags += [True] * len(rep) + [False] * len(hidden)
        n_ep = len(lengths)
        slots = rng.choice(n_days // 7, size=n_ep, replace=False)
        lens = np.asarray(lengths, dtype=np.int64)
        offsets = 1 + (rng.random(n_ep) * (7 - lens - 1)).astype(np.int64)
        extra_c.append(np.full(n_ep, codes.index(code), dtype=np.int64))
        extra_s.append((slots * 7 + offsets).astype(np.int64))
        extra_l.append(lens)
        extra_r.append(np.asarray(flags, dtype=bool))
    reported = rng.random(len(country)) < profile.report_prob[country]
    country = np.concatenate([country.astype(np.int64), *extra_c])
    start = np.concatenate([start.astype(np.int64), *extra_s])
    length = np.concatenate([length.astype(np.int64), *extra_l])
    reported = np.concatenate([reported, *extra_r])
    shutdown = rng.random(len(country)) < 0.15
    return _Episodes(country, start, length, shutdown, reported)


def _outages(profile: _Profile, n_days: int, rng: np.random.Generator) -> _Episodes:
    starts = rng.random((len(profile.coverage), n_days)) < profile.outage_rate[:, None]
    country, start = np.nonzero(starts)
    length = rng.integers(1, 3, len(start))
    reported = rng.random(len(start)) < 0.85
    return _Episodes(
        country.astype(np.int64),
        start.astype(np.int64),
        length.astype(np.int64),
        np.zeros(len(start), dtype=bool),
        reported,
    )


def _paint(shape: tuple[int, int], episodes: _Episodes, select: BoolArray) -> IntArray:
    """Country x day index array of episode days (clipped to the grid)."""
    n_days = shape[1]
    lengths = episodes.length[select]
    starts = np.repeat(episodes.start[select], lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    days = starts + offsets
    countries = np.repeat(episodes.country[select], lengths)
    inside = days < n_days
    result: IntArray = countries[inside] * n_days + days[inside]
    return result


# --------------------------------------------------------------------------------------------
# Observation
# --------------------------------------------------------------------------------------------


def _negative_binomial(mean: FloatArray, shape: float, rng: np.random.Generator) -> IntArray:
    p = shape / (shape + np.maximum(mean, 1e-9))
    result: IntArray = rng.negative_binomial(shape, p).astype(np.int64)
    return result


def _digits(values: IntArray, width: int, index: IntArray) -> pd.Series:
    return pd.Series(values.astype(np.int64), index=index).astype(str).str.zfill(width)


def _references(
    codes: list[str],
    rows_country: IntArray,
    rows_source: IntArray,
    observed: npt.NDArray[np.datetime64],
    ms: IntArray,
    serial: IntArray,
    satellite: BoolArray,
    signal_idx: IntArray,
) -> tuple[pd.Series, pd.Series]:
    """Production-like ``source_ref`` and ``source_url``, built per source to keep memory low."""
    refs: list[pd.Series] = []
    urls: list[pd.Series] = []
    for source in range(len(_SOURCES)):
        sel = np.flatnonzero(rows_source == source)
        obs = observed[sel]
        cc = pd.Series(np.asarray(codes, dtype=object)[rows_country[sel]], index=sel).astype(str)
        day = pd.Series(obs.astype("datetime64[D]").astype(str), index=sel).astype(str)
        num = _digits(serial[sel], 9, sel)
        if source in (_OONI, _IODA):
            stamp = pd.Series(obs.astype("datetime64[s]").astype(str), index=sel).astype(str)
            stamp = stamp.str.replace(r"[-:T]", "", regex=True)
        if source == _OONI:
            ref = stamp + "." + _digits(ms[sel] % 1000 * 1000, 6, sel) + "_" + cc
            ref = ref + "_webconnectivity_n1_" + num
            url = "https://explorer.ooni.org/m/" + ref
        elif source == _CP:
            prefix = np.where(satellite[sel], "CP_Satellite-", "CP_Quack-https-")
            ref = pd.Series(prefix, index=sel).astype(str) + day + "-" + num
            url = "https://data.censoredplanet.org/raw/" + ref
        elif source == _IODA:
            signal = np.asarray(_IODA_SIGNALS, dtype=object)[signal_idx[sel]]
            ref = "ioda:" + cc + ":" + pd.Series(signal, index=sel).astype(str) + ":" + stamp
            ref = ref + ":" + num
            until = pd.Series((obs.astype("datetime64[D]") + 1).astype(str), index=sel)
            url = "https://ioda.inetintel.cc.gatech.edu/country/" + cc + "?from=" + day
            url = url + "&until=" + until.astype(str)
        else:
            ref = "lbp:" + cc + ":" + day + ":" + num
            url = "https://probes.labelbench.example/runs/" + ref
        refs.append(ref)
        urls.append(url)
    source_ref = pd.concat(refs).sort_index()
    source_url = pd.concat(urls).sort_index()
    return source_ref.reset_index(drop=True), source_url.reset_index(drop=True)


def _evidence(
    codes: list[str],
    day0: np.datetime64,
    rows_country: IntArray,
    rows_day: IntArray,
    rows_source: IntArray,
    rows_anomalous: BoolArray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Turn per-row (country, day, source, anomalous) draws into production-like evidence rows."""
    n = len(rows_country)
    is_ooni, is_cp = rows_source == _OONI, rows_source == _CP
    is_ioda, is_probe = rows_source == _IODA, rows_source == _PROBE
    web = ~is_ioda

    ms = rng.integers(0, 86_400_000, n)
    observed = (
        day0.astype("datetime64[ms]")
        + rows_day.astype("timedelta64[D]").astype("timedelta64[ms]")
        + ms.astype("timedelta64[ms]")
    )
    # Kinds: Censored Planet splits into hyperquack and satellite.
    satellite = is_cp & (rng.random(n) < 0.4)
    kind = np.select([is_ooni, is_cp & ~satellite, satellite, is_ioda], [0, 1, 2, 3], default=4)

    # source_ref unique per source: a per-source serial inside a production-like id.
    serial = np.zeros(n, dtype=np.int64)
    for s in range(len(_SOURCES)):
        sel = rows_source == s
        serial[sel] = np.arange(int(sel.sum()))
    signal_idx = rng.integers(0, len(_IODA_SIGNALS), n)
    source_ref, source_url = _references(
        codes, rows_country, rows_source, observed, ms, serial, satellite, signal_idx
    )

    # ASNs: a few per country, a dominant one; IODA signals are country-level (no ASN).
    asn_pool = rng.integers(1_000, 400_000, (len(codes), 5))
    asn_pick = np.minimum(rng.geometric(0.45, n) - 1, 4)
    asn_numbers, asn_codes = np.unique(asn_pool[rows_country, asn_pick], return_inverse=True)
    asn = pd.Categorical.from_codes(
        np.where(is_ioda, -1, asn_codes), categories=[f"AS{a}" for a in asn_numbers]
    )

    # IODA signal values: a per-country baseline; outages drop the value well below it.
    ioda_base = np.exp(rng.normal(np.log(800.0), 1.2, (len(codes), 3)))
    baseline = ioda_base[rows_country, signal_idx] * rng.normal(1.0, 0.03, n)
    value = np.where(
        rows_anomalous, baseline * rng.uniform(0.05, 0.6, n), baseline * rng.normal(1.0, 0.06, n)
    )
    block_share = np.where(rows_anomalous, rng.uniform(0.4, 1.0, n), rng.uniform(0.0, 0.15, n))
    signal_value = np.select([is_ioda, is_probe], [value, block_share], default=np.nan)
    signal_baseline = np.select([is_ioda, is_probe], [baseline, 0.05], default=np.nan)
    signal_type = np.select([is_ioda, is_probe], [signal_idx, 3], default=-1)

    confirmed = rows_anomalous & (rng.random(n) < 0.15)
    failure = ~rows_anomalous & (rng.random(n) < 0.07)
    web_level = np.select([confirmed, rows_anomalous, failure], [2, 1, 3], default=0)
    ioda_level = np.where(rows_anomalous, np.where(rng.random(n) < 0.6, 6, 5), 4)
    level = np.where(is_ioda, ioda_level, web_level)

    domain_w = 1.0 / np.arange(1, len(_DOMAINS) + 1) ** 0.8
    domain = np.where(web, rng.choice(len(_DOMAINS), size=n, p=domain_w / domain_w.sum()), -1)
    # Each country prefers one blocking method (its censor's technique).
    preferred = rng.integers(0, 4, len(codes))[rows_country]
    method = np.where(rng.random(n) < 0.6, preferred, rng.integers(0, 4, n))
    method = np.where(satellite, 0, method)
    method = np.where(web & rows_anomalous, method, -1)
    confidence = np.where(
        rows_anomalous,
        np.where(confirmed, rng.uniform(0.95, 1.0, n), rng.beta(5.0, 2.5, n)),
        rng.beta(1.5, 6.0, n),
    )
    confidence = np.where(is_ioda, np.nan, np.round(confidence, 4))

    def cat(codes_: IntArray, labels: tuple[str, ...]) -> pd.Categorical:
        return pd.Categorical.from_codes(codes_, categories=list(labels))

    return pd.DataFrame(
        {
            "source": cat(rows_source, _SOURCES),
            "kind": cat(kind, _KINDS),
            "source_ref": source_ref,
            "source_url": source_url,
            "observed_at": pd.DatetimeIndex(observed.astype("datetime64[ns]")).tz_localize("UTC"),
            "country": cat(rows_country, tuple(codes)),
            "asn": asn,
            "signal_type": cat(signal_type, (*_IODA_SIGNALS, "block_rate")),
            "signal_value": np.round(signal_value, 4),
            "signal_baseline": np.round(signal_baseline, 4),
            "signal_level": cat(level, _LEVELS),
            "domain": cat(domain, _DOMAINS),
            "blocking_method": cat(method, _BLOCKING_METHODS),
            "confidence": confidence,
            "anomalous": rows_anomalous,
        }
    )


def _incidents(
    codes: list[str],
    day0: np.datetime64,
    n_days: int,
    censorship: _Episodes,
    outages: _Episodes,
    false_count: int,
    truth_kind: npt.NDArray[np.int8],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Incidents as reporters publish them: jittered spans, duplicates, a few false alarms."""
    parts: list[pd.DataFrame] = []
    for episodes, is_outage in ((censorship, False), (outages, True)):
        sel = episodes.reported
        c = episodes.country[sel]
        s = episodes.start[sel]
        e = s + episodes.length[sel] - 1
        typ = np.where(
            is_outage, "disruption", np.where(episodes.shutdown[sel], "mixed", "censorship")
        )
        # Some events are reported by more than one source (overlapping incidents).
        copies = 1 + rng.poisson(0.3 if is_outage else 1.6, len(c)).astype(np.int64)
        c, s, e, typ = (np.repeat(a, copies) for a in (c, s, e, typ))
        jitter = rng.choice([-1, 0, 1], size=(2, len(c)), p=[0.08, 0.84, 0.08])
        first = s + jitter[0]
        last = np.maximum(e + jitter[1], first)
        reporters = _OUTAGE_REPORTERS if is_outage else _CENSORSHIP_REPORTERS
        source = np.asarray(reporters, dtype=object)[rng.integers(0, len(reporters), len(c))]
        parts.append(
            pd.DataFrame({"c": c, "first": first, "last": last, "type": typ, "source": source})
        )
    # False alarms: censorship incidents on quiet days.
    quiet_cells = np.flatnonzero(truth_kind.reshape(-1) <= _GLITCH)
    picked = rng.choice(quiet_cells, size=min(false_count, len(quiet_cells)), replace=False)
    fc, fd = np.divmod(picked, n_days)
    parts.append(
        pd.DataFrame(
            {
                "c": fc,
                "first": fd,
                "last": fd + rng.integers(0, 2, len(fd)),
                "type": "censorship",
                "source": np.asarray(_CENSORSHIP_REPORTERS, dtype=object)[
                    rng.integers(0, len(_CENSORSHIP_REPORTERS), len(fd))
                ],
            }
        )
    )
    raw = pd.concat(parts, ignore_index=True)
    raw = raw[(raw["last"] >= 0) & (raw["first"] < n_days)]
    raw = raw.sort_values(["c", "first", "last", "type", "source"], kind="stable")
    ident = np.arange(len(raw))
    first = day0 + raw["first"].to_numpy().astype("timedelta64[D]")
    last = day0 + raw["last"].to_numpy().astype("timedelta64[D]")
    prefix = raw["source"].map(_INCIDENT_SOURCES).astype(str)
    country = np.asarray(codes, dtype=object)[raw["c"].to_numpy()]
    return pd.DataFrame(
        {
            "country": country,
            "first_seen": first.astype(object),
            "last_seen": last.astype(object),
            "incident_type": raw["type"].to_numpy(),
            "source": raw["source"].to_numpy(),
            "citation_url": (
                prefix.to_numpy()
                + pd.Series(country).str.lower().to_numpy()
                + "-"
                + pd.Series(first.astype(str)).to_numpy()
                + "-"
                + _digits(ident, 6, ident).to_numpy()
            ),
        }
    ).reset_index(drop=True)


def generate_demo_world(seed: int = 0, scale: int = 1) -> DemoWorld:
    """Generate the demo world for ``(seed, scale)``; identical output for identical arguments."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    rng = np.random.default_rng([seed, scale, 20261115])
    codes = demo_countries()
    n_countries, n_days = len(codes), DAYS_PER_YEAR * scale
    day0 = np.datetime64(END_DAY) - np.timedelta64(n_days - 1, "D")
    day_numbers = day0.astype(np.int64) + np.arange(n_days)
    months = day_numbers.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    weekday = (day_numbers + 3) % 7

    profile = _profiles(codes, rng)
    censorship = _censorship_episodes(codes, profile, months.astype(np.int64), scale, rng)
    outages = _outages(profile, n_days, rng)

    shape = (n_countries, n_days)
    kind = np.zeros(shape, dtype=np.int8)
    glitch = rng.random(shape) < profile.glitch_rate[:, None]
    kind.reshape(-1)[np.flatnonzero(glitch)] = _GLITCH
    kind.reshape(-1)[_paint(shape, outages, np.ones(len(outages.country), dtype=bool))] = (
        _DISRUPTION
    )
    kind.reshape(-1)[_paint(shape, censorship, ~censorship.shutdown)] = _CENSORSHIP
    kind.reshape(-1)[_paint(shape, censorship, censorship.shutdown)] = _SHUTDOWN
    censored = kind >= _CENSORSHIP

    # The measurement-campaign effect decides which days are busy (>= 5 rows, the samples):
    # quiet days at the country's coverage, reported censorship days at its campaign chance,
    # unreported ones at half that, outages with IODA attention. Background evidence (1-4 rows,
    # routine vantage points) comes on most days whatever happened; truth never decides alone
    # whether a day has evidence.
    reported_day = np.zeros(shape, dtype=bool)
    reported_day.reshape(-1)[_paint(shape, censorship, censorship.reported)] = True
    quiet_cov = profile.coverage[:, None] * np.where(weekday >= 5, 0.8, 1.0)[None, :]
    event_campaign = profile.campaign[:, None] * np.where(reported_day, 1.0, _UNREPORTED_CAMPAIGN)
    cov_day = np.select(
        [censored, kind == _DISRUPTION],
        [1 - (1 - quiet_cov) * (1 - event_campaign), 1 - (1 - quiet_cov) * 0.8],
        default=quiet_cov,
    )
    busy = rng.random(shape) < cov_day
    row_mean = profile.rows[:, None] * np.select(
        [censored, kind == _DISRUPTION], [1.5, 1.3], default=1.0
    )
    row_mean = row_mean * rng.gamma(4.0, 0.25, shape)
    campaign_rows = _MIN_BUSY_ROWS + _negative_binomial(
        np.maximum(row_mean - _MIN_BUSY_ROWS, 0.5), 1.6, rng
    )
    background = rng.random(shape) < profile.background[:, None]
    background_rows = np.minimum(1 + rng.poisson(_BACKGROUND_EXTRA_ROWS, shape), _MIN_BUSY_ROWS - 1)
    n_rows = np.where(busy, campaign_rows, 0) + np.where(background & ~busy, background_rows, 0)
    has_rows = n_rows > 0

    # Per-day anomalous probability of web (OONI/CP) rows and of IODA rows.
    noise_day = profile.noise[:, None] * rng.gamma(3.0, 1 / 3, shape)
    day_intensity = np.clip(profile.intensity[:, None] * rng.gamma(8.0, 1 / 8, shape), 0.05, 0.98)
    web_p = np.select(
        [censored, kind == _GLITCH, kind == _DISRUPTION],
        [np.maximum(day_intensity, noise_day), rng.uniform(0.25, 0.6, shape), noise_day + 0.08],
        default=noise_day,
    )
    ioda_p = np.select([kind == _SHUTDOWN, kind == _DISRUPTION], [0.8, 0.85], default=0.03)
    ioda_share = np.select([kind == _DISRUPTION, kind == _SHUTDOWN], [0.35, 0.3], default=0.15)

    cell = np.repeat(np.arange(n_countries * n_days), n_rows.reshape(-1))
    r = rng.random(len(cell))
    share = ioda_share.reshape(-1)[cell]
    source = np.where(r < share, _IODA, np.where(r < share + (1 - share) * 0.35, _CP, _OONI))
    p = np.where(source == _IODA, ioda_p.reshape(-1)[cell], web_p.reshape(-1)[cell])
    p = np.where(source == _CP, p * 0.85, p)
    anomalous = rng.random(len(cell)) < p

    # Own probes: rare, mostly sent during campaigns (where something seemed wrong).
    probe_p = np.where(busy, 0.03, 0.001) * has_rows
    probe_cell = np.flatnonzero(rng.random(shape) < probe_p)
    probe_nodes = rng.integers(3, 40, len(probe_cell))
    probe_block = np.where(
        censored.reshape(-1)[probe_cell],
        rng.beta(5.0, 2.0, len(probe_cell)),
        rng.beta(1.0, 9.0, len(probe_cell)),
    )
    probe_rows = rng.integers(1, 4, len(probe_cell))
    p_cell = np.repeat(probe_cell, probe_rows)
    p_anom = rng.random(len(p_cell)) < np.repeat(probe_block, probe_rows)

    all_cell = np.concatenate([cell, p_cell])
    all_source = np.concatenate([source, np.full(len(p_cell), _PROBE)])
    all_anom = np.concatenate([anomalous, p_anom])
    order = np.argsort(all_cell, kind="stable")
    all_cell, all_source, all_anom = all_cell[order], all_source[order], all_anom[order]
    rows_country, rows_day = np.divmod(all_cell, n_days)
    evidence = _evidence(
        codes,
        day0,
        rows_country.astype(np.int64),
        rows_day.astype(np.int64),
        all_source.astype(np.int64),
        all_anom,
        rng,
    )

    pc, pd_ = np.divmod(probe_cell, n_days)
    probe_metrics = pd.DataFrame(
        {
            "country": np.asarray(codes, dtype=object)[pc],
            "day": (day0 + pd_.astype("timedelta64[D]")).astype(object),
            "node_count": probe_nodes.astype(np.int64),
            "block_rate": np.round(probe_block, 4),
            "avg_confidence": np.round(rng.uniform(0.55, 0.98, len(pc)), 4),
            "agreement": np.round(
                np.clip(np.abs(probe_block - 0.5) * 2 + rng.normal(0, 0.05, len(pc)), 0, 1), 4
            ),
        }
    )

    false_count = int(0.02 * (censorship.reported.sum() + outages.reported.sum()))
    incidents = _incidents(codes, day0, n_days, censorship, outages, false_count, kind, rng)

    with_evidence = np.unique(all_cell)
    tc, td = np.divmod(with_evidence, n_days)
    truth_kind = kind.reshape(-1)[with_evidence]
    truth = pd.DataFrame(
        {
            "country": np.asarray(codes, dtype=object)[tc],
            "day": (day0 + td.astype("timedelta64[D]")).astype(object),
            "is_censorship": truth_kind >= _CENSORSHIP,
            "kind": pd.Categorical.from_codes(
                truth_kind.astype(np.int64), categories=list(TRUTH_KINDS)
            ),
        }
    )
    return DemoWorld(
        evidence=evidence,
        incidents=incidents,
        probe_metrics=probe_metrics,
        truth=truth,
        countries=list(codes),
    )
