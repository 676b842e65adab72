"""One queue batch, as `queue build` serves it and `simulate` replays it.

The queue exists to find *new* positives: censorship days no incident marked. So the pool is split
in two before anything is scored:

- **discovery**: every candidate day whose incident label is 0 (incident-negative samples and
  candidate days below the sample rule). The strategy scores these and selection picks most of
  the batch from them (quotas, exploration, stopping, exhaustive review of tiny pools);
- **confirmation**: incident-positive days. A small share of each batch (``confirm_share``)
  checks them, the most doubtful first (lowest probability): a wrong incident label costs the
  model as much as a missed one. A cold start (no model) never serves them, since nothing then
  says which incident looks doubtful and the analyst's first labels must go to discovery.

Strategies that do not use the model (``random``, the pool-uniform control; ``label_errors``,
which exists to check incident labels; ``seed``) rank the whole pool instead.

Keeping this in one function is what makes the simulation a replay of the real queue.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from labelbench.ml.selection import BATCH_COLUMNS, select_batch
from labelbench.ml.strategies import get_strategy, reliable_proba, score_candidates

#: Quotas follow expected yield: a country's weight is the sum of the evidence-supported
#: probabilities of its best this-many days ...
QUOTA_LOOKAHEAD = 20
#: ... plus this, so a country the model thinks dry still gets a share to prove it wrong.
QUOTA_FLOOR = 0.5


def plan_batch(
    pool: pd.DataFrame,
    *,
    strategy: str,
    size: int,
    rng: np.random.Generator,
    exploration_share: float,
    confirm_share: float,
    stopping: pd.DataFrame | None = None,
    positive_counts: Mapping[str, int] | None = None,
    positives: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Pick up to ``size`` rows of ``pool``: :data:`BATCH_COLUMNS` plus ``purpose``.

    ``pool`` is a candidate frame (see :mod:`labelbench.ml.strategies`) with ``incident_label``
    and ``proba`` (NaN without a model). ``purpose`` is ``discover`` or ``confirm``; ranks run
    over the whole batch, discovery first. With a model and a model-based strategy, country
    quotas follow :func:`yield_weights`; otherwise every country gets an equal share.
    """
    # Model-based strategies hunt new positives; the others keep the whole pool (random is the
    # pool-uniform control, label_errors exists to check incident labels).
    split = get_strategy(strategy).uses_model
    incident = pd.to_numeric(pool["incident_label"], errors="coerce").fillna(0).to_numpy() == 1
    incident &= split
    has_model = bool(pool["proba"].notna().any()) if len(pool) else False
    stopped = (
        set(stopping.loc[stopping["exhausted"].astype(bool), "country"].astype(str))
        if stopping is not None and len(stopping)
        else set()
    )
    live = ~pool["country"].astype(str).isin(stopped).to_numpy()
    confirm_pool = pool[incident & live].reset_index(drop=True)
    discover_pool = pool[~incident].reset_index(drop=True)
    n_confirm = (
        min(len(confirm_pool), math.floor(confirm_share * size + 0.5))
        if has_model and confirm_share > 0
        else 0
    )
    n_confirm = min(n_confirm, size) if len(discover_pool) else min(len(confirm_pool), size)
    parts: list[pd.DataFrame] = []
    exhausted: dict[str, str] = {}
    if len(discover_pool) and size - n_confirm > 0:
        scores = score_candidates(
            discover_pool, strategy, rng, positive_counts=positive_counts, positives=positives
        )
        chosen = get_strategy(strategy)
        weights = yield_weights(discover_pool) if chosen.uses_model and has_model else None
        found = select_batch(
            discover_pool,
            scores.values,
            size=size - n_confirm,
            strategy_name=strategy,
            exploration_share=exploration_share if chosen.exploration_share else 0,
            stopping=stopping,
            rng=rng,
            scorers=scores.scorer,
            quotas=weights,
        )
        exhausted = dict(found.attrs.get("exhausted", {}))
        parts.append(found.assign(purpose="discover"))
    if n_confirm:
        parts.append(_confirmations(confirm_pool, n_confirm, strategy).assign(purpose="confirm"))
    if not parts:
        out = pd.DataFrame(columns=[*BATCH_COLUMNS, "purpose"])
    else:
        out = pd.concat(parts, ignore_index=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype=np.int64)
    out.attrs["exhausted"] = exhausted
    return out


def yield_weights(pool: pd.DataFrame) -> dict[str, float]:
    """Per country: expected new positives among its best days, plus a floor (quota weights).

    An equal split gives a country with 9 missing positives as many labels as one with 27; the
    model's own expectation (:func:`~labelbench.ml.strategies.reliable_proba`, summed over the
    :data:`QUOTA_LOOKAHEAD` best days) moves labels to where positives are likely left.
    """
    q = pd.Series(np.nan_to_num(reliable_proba(pool), nan=0.0), index=pool.index)
    best = q.groupby(pool["country"].astype(str)).apply(lambda v: v.nlargest(QUOTA_LOOKAHEAD).sum())
    return {str(c): float(v) + QUOTA_FLOOR for c, v in best.items()}


def _confirmations(pool: pd.DataFrame, k: int, strategy: str) -> pd.DataFrame:
    """The ``k`` incident-positive days the model doubts most, spread over countries."""
    p = pd.to_numeric(pool["proba"], errors="coerce").fillna(0.5).to_numpy()
    order = np.lexsort((pool["day"].astype(str).to_numpy(), p))
    ranked = pool.iloc[order].assign(_p=p[order])
    ranked["_turn"] = ranked.groupby("country").cumcount()
    chosen = ranked.sort_values(["_turn", "_p"], kind="stable").head(k)
    return pd.DataFrame(
        {
            "sample_id": chosen["sample_id"].to_numpy(),
            "country": chosen["country"].astype(str).to_numpy(),
            "day": chosen["day"].to_numpy(),
            "strategy": strategy,
            "scorer": "confirm",
            "score": chosen["_p"].to_numpy(dtype=np.float64),
            "rank": 0,
            "country_quota": 0,
            "reason": [
                f"confirm incident: incident day the model doubts (p={v:.2f})" for v in chosen["_p"]
            ],
        }
    )
