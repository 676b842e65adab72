"""Published facts about the production classifier, as constants every layer shares.

Source: the team's published v3.3/v3.4 write-ups. Anything marked *default* was not published and
is configurable through :mod:`labelbench.config`.
"""

from __future__ import annotations

from typing import Final

#: The 16 features of production model v3.3, in production order.
FEATURES: Final[tuple[str, ...]] = (
    "anomaly_rate",
    "measurement_count",
    "spike_magnitude",
    "day_of_week",
    "month",
    "is_weekend",
    "rate_count_interaction",
    "probe_block_rate",
    "probe_node_count",
    "probe_avg_confidence",
    "probe_agreement",
    "rate_spike_interaction",
    "high_evidence",
    "neighbor_block_rate_7d",
    "neighbor_incident_count_7d",
    "neighbor_max_anomaly_7d",
)

SOURCES: Final[tuple[str, ...]] = ("ooni", "censoredplanet", "ioda", "probe")

INCIDENT_TYPES: Final[tuple[str, ...]] = ("censorship", "mixed", "disruption")
#: Incident types that make a day positive. ``disruption`` (outages) is not censorship.
LABELLING_INCIDENT_TYPES: Final[frozenset[str]] = frozenset({"censorship", "mixed"})

VERDICTS: Final[tuple[str, ...]] = ("positive", "negative", "unsure", "skip")
#: Verdicts that carry a training label; unsure and skip are excluded from training.
LABEL_OF_VERDICT: Final[dict[str, int]] = {"positive": 1, "negative": 0}

#: *default* regime-cluster membership (names as published).
DEFAULT_CLUSTERS: Final[dict[str, tuple[str, ...]]] = {
    "MENA": tuple("AE BH DJ DZ EG IQ IR JO KW LB LY MA MR OM PS QA SA SD SY TN TR YE".split()),
    "Post-Soviet": tuple("AM AZ BY GE KG KZ RU TJ TM UZ".split()),
    "East Asia tight": ("CN", "HK", "MN"),
    "SE Asia mixed": tuple("KH LA MM MY TH VN".split()),
    "LATAM tight": ("CU", "NI", "VE"),
    "Sub-Saharan tight": ("ER", "ET", "UG", "ZW"),
}

#: The 16 countries that regressed in v3.3.
WATCH_LIST: Final[tuple[str, ...]] = tuple(
    "UZ KW OM TN LY YE JO MA AM KH QA TR VN SY GE CU".split()
)
#: The countries the team most needs positives for.
PRIORITY_TARGETS: Final[tuple[str, ...]] = ("OM", "LY", "YE", "KW", "AM", "TN")
HIGH_IMPACT: Final[tuple[str, ...]] = tuple("IR VE EG CN RU DE JP IT GB US BR".split())

#: Published production gate values.
GATE_LOCO_MEDIAN_F1: Final[float] = 0.85
GATE_WATCHLIST_MIN_IMPROVED: Final[int] = 10
GATE_WATCHLIST_MIN_DELTA: Final[float] = 0.03
GATE_MAX_REGRESSION: Final[float] = 0.05
SMALL_N: Final[int] = 30

#: *default* minimum evidence rows for a country-day to become a sample (published: >= 5).
MIN_EVIDENCE_ROWS: Final[int] = 5
#: *default* minimum evidence rows for a country-day to be a candidate day the queue may offer.
MIN_CANDIDATE_EVIDENCE: Final[int] = 1
#: Contagion: trailing window for neighbour correlation and the minimum overlap (published).
CONTAGION_CORR_WINDOW_DAYS: Final[int] = 180
CONTAGION_MIN_OVERLAP_DAYS: Final[int] = 10
CONTAGION_FEATURE_WINDOW_DAYS: Final[int] = 7
#: *default*: trailing baseline window for spike_magnitude.
SPIKE_BASELINE_DAYS: Final[int] = 30
#: Published: high_evidence = 1 if measurement_count >= 50.
HIGH_EVIDENCE_MIN_COUNT: Final[int] = 50


def cluster_of(country: str, clusters: dict[str, tuple[str, ...]] | None = None) -> str | None:
    """Regime cluster of ``country`` (None for countries outside every cluster)."""
    for name, members in (clusters or DEFAULT_CLUSTERS).items():
        if country in members:
            return name
    return None
