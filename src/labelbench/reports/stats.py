"""Small-sample statistics for labelling reports: binomial intervals and rater agreement.

Why these and not the usual ones:

* Yields in sparse-positive countries are proportions like 1/20 or 0/15. The Wald interval
  collapses to [0, 0] at zero successes and undercovers near 0, so reports use the **Wilson
  score** interval (closed form, good coverage for small n, never leaves [0, 1]); the Jeffreys
  interval is offered for callers that prefer the Bayesian equal-tailed interval.
* Agreement on rare positives: Cohen's kappa depends on prevalence and drops sharply when almost
  everything is negative, even when raters agree on nearly every item (the "kappa paradox",
  Feinstein & Cicchetti 1990). Gwet's AC1 does not collapse that way, and positive-specific
  agreement answers the question the team cares about: when one analyst calls a day positive,
  how often does the other one agree? Reports show all three side by side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

__all__ = [
    "AgreementTable",
    "cohen_kappa",
    "gwet_ac1",
    "jeffreys_interval",
    "negative_agreement",
    "observed_agreement",
    "positive_agreement",
    "wilson_interval",
]


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _check(k: int, n: int) -> None:
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval for k successes in n trials (None when n == 0: nothing to say)."""
    _check(k, n)
    if n == 0:
        return None
    z = _z(confidence)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return (low, high)


def jeffreys_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Equal-tailed Jeffreys interval (Beta(k + 1/2, n - k + 1/2) quantiles; Brown et al. 2001).

    The lower bound is 0 at k == 0 and the upper bound 1 at k == n, as Brown, Cai & DasGupta
    recommend, so a zero-yield country never gets a spuriously positive lower bound.
    """
    _check(k, n)
    if n == 0:
        return None
    from scipy.stats import beta

    alpha = 1.0 - confidence
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k + 0.5, n - k + 0.5))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 0.5, n - k + 0.5))
    return (low, high)


@dataclass(frozen=True)
class AgreementTable:
    """2x2 table of two raters' binary verdicts on the same items.

    ``a``: both positive; ``b``: rater 1 positive, rater 2 negative; ``c``: rater 1 negative,
    rater 2 positive; ``d``: both negative.
    """

    a: int = 0
    b: int = 0
    c: int = 0
    d: int = 0

    @property
    def n(self) -> int:
        return self.a + self.b + self.c + self.d

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[bool, bool]]) -> AgreementTable:
        """Build from (rater 1 positive?, rater 2 positive?) pairs."""
        a = b = c = d = 0
        for first, second in pairs:
            if first and second:
                a += 1
            elif first:
                b += 1
            elif second:
                c += 1
            else:
                d += 1
        return cls(a, b, c, d)

    def to_dict(self) -> dict[str, Any]:
        """Counts and every statistic (None where undefined), JSON-ready."""
        return {
            "pairs": self.n,
            "both_positive": self.a,
            "first_only_positive": self.b,
            "second_only_positive": self.c,
            "both_negative": self.d,
            "observed_agreement": observed_agreement(self),
            "positive_agreement": positive_agreement(self),
            "negative_agreement": negative_agreement(self),
            "cohen_kappa": cohen_kappa(self),
            "gwet_ac1": gwet_ac1(self),
        }


def observed_agreement(t: AgreementTable) -> float | None:
    """Share of items on which both raters agree: (a + d) / n."""
    return None if t.n == 0 else (t.a + t.d) / t.n


def positive_agreement(t: AgreementTable) -> float | None:
    """Positive-specific agreement 2a / (2a + b + c): agreement on the positives alone."""
    denom = 2 * t.a + t.b + t.c
    return None if denom == 0 else 2 * t.a / denom


def negative_agreement(t: AgreementTable) -> float | None:
    """Negative-specific agreement 2d / (2d + b + c)."""
    denom = 2 * t.d + t.b + t.c
    return None if denom == 0 else 2 * t.d / denom


def cohen_kappa(t: AgreementTable) -> float | None:
    """Cohen's kappa: (po - pe) / (1 - pe), pe from each rater's own marginals.

    Undefined (None) when pe == 1, i.e. both raters used a single category throughout.
    """
    n = t.n
    if n == 0:
        return None
    po = (t.a + t.d) / n
    p1, p2 = (t.a + t.b) / n, (t.a + t.c) / n
    pe = p1 * p2 + (1 - p1) * (1 - p2)
    if math.isclose(pe, 1.0):
        return None
    return (po - pe) / (1 - pe)


def gwet_ac1(t: AgreementTable) -> float | None:
    """Gwet's AC1 for two raters, two categories: (po - pe) / (1 - pe), pe = 2 pi (1 - pi).

    ``pi`` is the mean of the two raters' positive rates. pe never exceeds 0.5, so AC1 stays
    defined and stable when positives are rare.
    """
    n = t.n
    if n == 0:
        return None
    po = (t.a + t.d) / n
    pi = ((t.a + t.b) + (t.a + t.c)) / (2 * n)
    pe = 2 * pi * (1 - pi)
    return (po - pe) / (1 - pe)
