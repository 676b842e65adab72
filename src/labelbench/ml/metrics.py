"""Counting metrics and bootstrap intervals shared by every evaluation.

Intervals resample *blocks* of rows, not single rows: a censorship episode spans consecutive days,
so its days succeed or fail together and resampling them one by one would make the interval look
tighter than the data allow. :func:`week_blocks` cuts a country's days into calendar weeks; a
``blocks`` argument of None falls back to one block per row.

Every bootstrap works on per-block confusion counts, so all resamples are one array operation.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: Days per bootstrap block (a calendar week: most censorship episodes fit in one or two).
BOOT_BLOCK_DAYS = 7


def f1_from_counts(tp: NDArray[Any], fp: NDArray[Any], fn: NDArray[Any]) -> FloatArray:
    """Vectorised F1 from confusion counts; 0 where undefined (zero_division=0)."""
    den = 2 * tp + fp + fn
    out = np.zeros(np.shape(tp), dtype=np.float64)
    np.divide(2 * tp, den, out=out, where=den > 0)
    return out


def binary_scores(y: NDArray[Any], pred: NDArray[Any]) -> tuple[float, float, float]:
    """(F1, precision, recall) of boolean predictions; 0 where undefined (zero_division=0).

    Plain counting: sklearn's metric functions cost ~5 ms of validation per call, which adds up
    over hundreds of countries and thresholds.
    """
    yt = np.asarray(y, dtype=bool)
    yp = np.asarray(pred, dtype=bool)
    tp = int((yt & yp).sum())
    fp = int((~yt & yp).sum())
    fn = int((yt & ~yp).sum())
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return f1, precision, recall


def roc_auc(y: NDArray[Any], p: NDArray[Any]) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) identity, ties averaged; NaN without both classes.

    Same value as ``sklearn.metrics.roc_auc_score`` for binary labels, without its ~20 ms of
    input validation per call (LOCO scores ~130 countries per evaluation).
    """
    from scipy.stats import rankdata

    yt = np.asarray(y, dtype=bool)
    n1 = int(yt.sum())
    n0 = len(yt) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(np.asarray(p, dtype=np.float64))
    return float((ranks[yt].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def pr_auc(y: NDArray[Any], p: NDArray[Any]) -> float:
    """Average precision (area under the precision-recall curve); NaN without both classes."""
    yt = np.asarray(y, dtype=bool)
    if yt.all() or not yt.any():
        return float("nan")
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(yt, np.asarray(p, dtype=np.float64)))


def week_blocks(days: Any, groups: Any = None, *, block_days: int = BOOT_BLOCK_DAYS) -> IntArray:
    """Block id per row: calendar weeks of ``days`` (within each of ``groups``, e.g. countries).

    ``days`` None gives one block per row (the row bootstrap). Weeks are counted from the epoch,
    so the same day always falls in the same block whichever rows are present.
    """
    if days is None:
        n = 0 if groups is None else len(groups)
        return np.arange(n, dtype=np.intp)
    d = np.asarray(days, dtype="datetime64[D]").astype(np.int64) // block_days
    if groups is None:
        return np.unique(d, return_inverse=True)[1].astype(np.intp)
    g = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)[1]
    key = g.astype(np.int64) * (1 << 32) + d
    return np.unique(key, return_inverse=True)[1].astype(np.intp)


def _block_counts(
    y: NDArray[Any], pred: NDArray[Any], blocks: IntArray | None
) -> tuple[IntArray, IntArray, IntArray]:
    yt = np.asarray(y, dtype=bool)
    yp = np.asarray(pred, dtype=bool)
    b = np.arange(len(yt)) if blocks is None else np.unique(blocks, return_inverse=True)[1]
    size = int(b.max()) + 1 if len(b) else 0
    return (
        np.bincount(b, weights=yt & yp, minlength=size).astype(np.intp),
        np.bincount(b, weights=~yt & yp, minlength=size).astype(np.intp),
        np.bincount(b, weights=yt & ~yp, minlength=size).astype(np.intp),
    )


def _boot_indices(n: int, n_boot: int, seed: int, key: str) -> IntArray:
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    return rng.integers(0, n, size=(n_boot, n))


def bootstrap_f1_ci(
    y: NDArray[Any],
    pred: NDArray[Any],
    *,
    n_boot: int,
    seed: int,
    key: str = "",
    blocks: IntArray | None = None,
) -> tuple[float, float]:
    """Percentile 95% interval of F1, resampling ``blocks`` (rows when None) with replacement."""
    if n_boot <= 0 or len(y) == 0:
        return (float("nan"), float("nan"))
    tp, fp, fn = _block_counts(y, pred, blocks)
    idx = _boot_indices(len(tp), n_boot, seed, key)
    f1 = f1_from_counts(tp[idx].sum(1), fp[idx].sum(1), fn[idx].sum(1))
    lo, hi = np.percentile(f1, [2.5, 97.5])
    return float(lo), float(hi)


def paired_bootstrap_delta_ci(
    y: NDArray[Any],
    pred_a: NDArray[Any],
    pred_b: NDArray[Any],
    *,
    n_boot: int,
    seed: int,
    key: str = "",
    blocks: IntArray | None = None,
) -> tuple[float, float]:
    """95% interval of F1(b) - F1(a), resampling the same blocks (rows when None) for both."""
    if n_boot <= 0 or len(y) == 0:
        return (float("nan"), float("nan"))
    ta, fa, na = _block_counts(y, pred_a, blocks)
    tb, fb, nb = _block_counts(y, pred_b, blocks)
    idx = _boot_indices(len(ta), n_boot, seed, key)
    d = f1_from_counts(tb[idx].sum(1), fb[idx].sum(1), nb[idx].sum(1)) - f1_from_counts(
        ta[idx].sum(1), fa[idx].sum(1), na[idx].sum(1)
    )
    lo, hi = np.percentile(d, [2.5, 97.5])
    return float(lo), float(hi)


def estimable(lo: float | None, hi: float | None) -> bool:
    """Whether an interval says anything: finite and not collapsed to a point.

    A collapsed interval (``0.000 [0.00, 0.00]``) means every resample gave the same value, which
    with a handful of positives is a sign of too little data, not of precision.
    """
    return (
        lo is not None and hi is not None and bool(np.isfinite(lo) and np.isfinite(hi)) and hi > lo
    )


def num(x: Any) -> float | None:
    """JSON-ready float: NaN, inf and None become None."""
    return None if x is None or not np.isfinite(x) else float(x)
