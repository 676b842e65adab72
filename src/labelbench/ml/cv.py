"""The fold engine behind LOCO and within-country evaluation: fit once, share, never leak.

An *outer fold* trains on rows ``train`` and scores rows ``test``. Its base model and the head of
the test rows' cluster are fitted on ``train`` alone. The stacked pipeline also needs a stacker,
fitted on out-of-fold inputs of the training rows from models that saw neither the row's country
nor the held-out country ``c``. Refitting an inner ``GroupKFold`` per outer fold costs
``inner_folds`` full fits each. Instead the countries are split once into ``G = 2 * inner_folds``
size-balanced groups and one "pair model" (base + all heads) is fitted per unordered pair of groups
``{a, b}`` on everything outside ``a`` and ``b``. For held-out ``c`` in group ``b`` the stacker
input of a training row in group ``a`` comes from pair model ``{a, b}``: it excluded the row's
country *and* all of ``c`` (for rows of ``c``'s own group, including ``c``'s other time blocks in
a within-country fold, that is pair ``{b, b}``). Every pair model trains on ``1 - 2/G`` of the
data, the share an inner fold of the standalone estimator gets, and the pair models are shared by
all outer folds, LOCO and within-country alike. The stacker itself is fitted per outer fold, in
process (tiny fits; keeps spies and memory simple).
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from labelbench.domain.constants import FEATURES
from labelbench.errors import InputError, ModelError
from labelbench.ml import estimators as est
from labelbench.ml.estimators import PipelineSpec

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
ProgressFn = Callable[[int, int], None]
Call = tuple[Any, Callable[..., Any], tuple[Any, ...]]


@dataclass(frozen=True)
class Data:
    """The numeric view of the samples shipped to workers (arrays pickle/memmap cheaply)."""

    X: FloatArray
    countries: NDArray[np.object_]
    codes: IntArray
    y_train: FloatArray


@dataclass(frozen=True)
class OuterFold:
    """Fit on ``train``, score ``test`` (all rows of ``country``, whose group feeds the stacker)."""

    train: IntArray
    test: IntArray
    country: str


@dataclass
class FoldParts:
    """Probabilities of one outer fold's test rows: base, own-cluster head, stacked, final."""

    test: IntArray
    p_base: FloatArray
    p_head: FloatArray
    p_stack: FloatArray

    @property
    def final(self) -> FloatArray:
        """What the pipeline serves: the stacked proba when there is one, else the base's."""
        return self.p_base if np.isnan(self.p_stack).all() else self.p_stack


def threads_per_worker(n_jobs: int) -> int:
    """One BLAS/OpenMP thread per fold task.

    At this data size fold-level parallelism wins: a histogram GBM on ~4k rows ran 4-10x *slower*
    with 2 OpenMP threads than with 1 on the 2-core target, and workers x threads must not exceed
    the cores anyway. ``n_jobs`` is accepted for future tuning on larger machines.
    """
    del n_jobs
    return 1


def _fit_heads(
    spec: PipelineSpec, d: Data, train: IntArray, y: NDArray[np.int64], *, only: set[int]
) -> list[Any | None]:
    return est.fit_heads(
        d.X[train],
        y,
        d.codes[train],
        n_clusters=len(spec.clusters),
        engine=spec.engine,
        params=spec.head_params,
        n_anchors=spec.n_anchors,
        anchor_labels=spec.anchor_labels,
        random_state=spec.random_state,
        only=only,
    )


def outer_task(spec: PipelineSpec, d: Data, train: IntArray, test: IntArray) -> dict[str, Any]:
    """Base on the training rows, plus the head of the test rows' cluster (one country's)."""
    y = d.y_train[train].astype(np.int64)
    base = est.fit_engine(spec.engine, "base", spec.base_params, spec.random_state, d.X[train], y)
    p_base = est.positive_proba(base, d.X[test])
    p_head = np.full(len(test), np.nan)
    k = int(d.codes[test[0]]) if len(test) else -1
    if spec.pipeline == "stacked" and k >= 0:
        heads = _fit_heads(spec, d, train, y, only={k})
        p_head = est.own_head_proba(heads, d.X[test], d.codes[test])
    return {"test": test, "p_base": p_base, "p_head": p_head}


def pair_task(spec: PipelineSpec, d: Data, train: IntArray, target: IntArray) -> dict[str, Any]:
    """Pair model: base + all heads on everything outside two country groups."""
    y = d.y_train[train].astype(np.int64)
    base = est.fit_engine(spec.engine, "base", spec.base_params, spec.random_state, d.X[train], y)
    heads = _fit_heads(spec, d, train, y, only=set(d.codes[target].tolist()))
    return {
        "target": target,
        "p_base": est.positive_proba(base, d.X[target]),
        "p_head": est.own_head_proba(heads, d.X[target], d.codes[target]),
    }


def strat_task(spec: PipelineSpec, d: Data, train: IntArray, test: IntArray) -> dict[str, Any]:
    """Stratified fold: the full estimator, fitted exactly as it would be for serving."""
    frame = pd.DataFrame(d.X, columns=list(FEATURES))
    frame["country"] = d.countries
    model = est.make_model(spec).fit(frame.iloc[train], d.y_train[train].astype(np.int64))
    parts = model.predict_parts(frame.iloc[test])
    return {"test": test, "parts": parts.to_numpy()}


def stacker_proba(
    spec: PipelineSpec, Z: FloatArray, y: NDArray[np.int64], Z_test: FloatArray
) -> FloatArray:
    """Fit the stacker on one outer fold's OOF inputs and score the held-out rows."""
    stacker = est.make_stacker(spec.stacker_params, spec.random_state).fit(Z, y)
    return np.asarray(stacker.predict_proba(Z_test)[:, 1], dtype=np.float64)


def parallel_map(
    calls: Sequence[Call], n_jobs: int, progress: ProgressFn | None, done: int, total: int
) -> tuple[dict[Any, Any], int, float]:
    """Run ``(key, fn, args)`` calls with joblib (the active backend), reporting progress.

    Returns the results by key, the progress count and the CPU seconds the tasks used.
    """
    threads = threads_per_worker(n_jobs)
    out: dict[Any, Any] = {}
    cpu = 0.0
    gen: Iterable[tuple[Any, Any, float]] = Parallel(
        n_jobs=n_jobs, return_as="generator_unordered"
    )(delayed(_keyed)(key, threads, fn, *args) for key, fn, args in calls)
    for key, value, seconds in gen:
        out[key] = value
        cpu += seconds
        done += 1
        if progress is not None:
            progress(done, total)
    return out, done, cpu


def _keyed(key: Any, threads: int, fn: Callable[..., Any], *args: Any) -> tuple[Any, Any, float]:
    start = time.thread_time()
    with threadpool_limits(limits=threads):
        value = fn(*args)
    return key, value, time.thread_time() - start


def check_labels(y: Any, X: pd.DataFrame, name: str) -> FloatArray:
    """``y`` as float64 aligned with ``X``: only 0, 1 or NaN (``InputError`` otherwise)."""
    if isinstance(y, pd.Series) and not y.index.equals(X.index):
        raise InputError(f"{name} is not aligned with the samples' index")
    arr = np.asarray(y, dtype=np.float64)
    if arr.shape != (len(X),):
        raise InputError(f"{name} has {arr.size} values for {len(X)} samples")
    ok = np.isnan(arr) | (arr == 0) | (arr == 1)
    if not ok.all():
        raise InputError(f"{name} must contain only 0, 1 or missing")
    return arr


def country_groups(
    countries: Sequence[str], sizes: Mapping[str, int], n_groups: int
) -> dict[str, int]:
    """Size-balanced deterministic assignment of countries to ``n_groups`` groups."""
    load = np.zeros(n_groups)
    group: dict[str, int] = {}
    for c in sorted(countries, key=lambda c: (-sizes.get(c, 0), c)):
        g = int(np.argmin(load))
        group[c] = g
        load[g] += sizes.get(c, 0)
    return group


@functools.cache
def fit_code_fingerprint() -> str:
    """What else decides a fit besides its data and recipe: library versions and fitting code.

    Part of every cache key, so fits kept from an earlier run (see :mod:`labelbench.ml.foldcache`)
    are reused only by the same scikit-learn/numpy and the same labelbench fitting code.
    """
    import scipy
    import sklearn

    h = hashlib.sha256(f"{sklearn.__version__}|{np.__version__}|{scipy.__version__}".encode())
    for module in (est, sys.modules[__name__]):
        h.update(Path(str(module.__file__)).read_bytes())
    return h.hexdigest()


def _digest(spec: PipelineSpec) -> str:
    """What every task of one call shares: the recipe, the engine behind it and the code."""
    engine = est.get_engine(spec.engine)
    h = hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode())
    h.update(fit_code_fingerprint().encode())
    factory = engine.factory
    h.update(f"{factory.__module__}.{factory.__qualname__}".encode())
    defaults = (sorted(engine.base_defaults.items()), sorted(engine.head_defaults.items()))
    h.update(repr(defaults).encode())
    return h.hexdigest()


def row_digests(data: Data) -> NDArray[np.void]:
    """A 16-byte digest of each row's content: its features, cluster routing and country.

    Task keys are built from these rather than from row positions, so a fit is recognised by
    the rows it saw, wherever they sit in today's sample table (rows added since do not shift
    it) and whatever else the table holds.
    """
    n = len(data.countries)
    numbers = np.hstack(
        [
            np.ascontiguousarray(data.X, dtype=np.float64).view(np.uint8).reshape(n, -1),
            np.ascontiguousarray(data.codes, dtype=np.int64).view(np.uint8).reshape(n, -1),
        ]
    )
    out = np.empty(n, dtype="V16")
    for i, (row, country) in enumerate(zip(numbers, data.countries, strict=True)):
        digest = hashlib.blake2b(row.tobytes(), digest_size=16)
        digest.update(str(country).encode())
        out[i] = digest.digest()
    return out


def _task_key(
    base: str, kind: str, rows: NDArray[np.void], y: FloatArray, train: IntArray, test: IntArray
) -> str:
    h = hashlib.sha256(f"{base}:{kind}".encode())
    h.update(rows[train].tobytes())
    h.update(y[train].tobytes())
    h.update(b"|")
    h.update(rows[test].tobytes())
    return h.hexdigest()


#: Result keys that hold row positions: taken from the current call, never from the cache.
POSITION_KEYS = ("test", "target")


def _with_positions(value: Any, fn: Callable[..., Any], rows: IntArray) -> Any:
    """A cached result with today's row positions (the rows are the same, their places may not)."""
    if not isinstance(value, dict):
        return value
    kept = {k: v for k, v in value.items() if k not in POSITION_KEYS}
    kept["target" if fn is pair_task else "test"] = rows
    return kept


def run_folds(
    spec: PipelineSpec,
    data: Data,
    universe: NDArray[np.bool_],
    folds: Mapping[Hashable, OuterFold],
    *,
    extra_calls: Sequence[Call] = (),
    n_jobs: int = 1,
    progress: ProgressFn | None = None,
    cache: dict[str, Any] | None = None,
    used: set[str] | None = None,
    group_sizes: Mapping[str, int] | None = None,
) -> tuple[dict[Hashable, FoldParts], dict[Any, Any], float]:
    """Fit every outer fold (sharing pair models) plus ``extra_calls``, in one joblib pool.

    ``universe`` marks the rows whose countries take part (labelled in training or evaluation):
    the pair-model groups are formed over their countries so they do not depend on which folds
    are asked for. Returns the parts by fold key, the extra calls' results by key and the CPU
    seconds of all tasks. ``cache`` (a dict the caller keeps across calls) reuses any pair model
    or outer fold whose recipe, features, training rows, training labels and scored rows are all
    unchanged: `retrain` evaluates candidate, production, each leave-one-batch-out model and the
    attribution null on labels that differ in a few rows, so most of their fits are shared.
    Extra calls take ``(spec, data, train, test)`` like the folds and are cached the same way.
    A key hashes the recipe and code (:func:`_digest`), the content of the training rows with
    their labels and of the scored rows (:func:`row_digests`), never a run, fold name or row
    position, so a kept result is only reused for identical inputs. ``used`` collects the keys
    of every fit this call needed (computed or reused): what a run keeps for its successor.
    ``group_sizes`` balances the pair-model groups by the caller's sizes instead of the
    universe's row counts (`retrain` passes sizes that labelling does not change).
    """
    plan = _plan(spec, data, universe, folds, extra_calls, cache, used, group_sizes)
    total = len(plan.calls) + (1 if spec.pipeline == "stacked" else 0)
    results, done, task_cpu = _map(plan.calls, n_jobs, progress, total)
    parts, extra = _finish(plan, results, cache)
    if progress is not None and spec.pipeline == "stacked":
        progress(done + 1, total)
    return parts, extra, task_cpu


def run_folds_many(
    spec: PipelineSpec,
    jobs: Sequence[tuple[Data, NDArray[np.bool_], Mapping[Hashable, OuterFold]]],
    *,
    n_jobs: int = 1,
    progress: ProgressFn | None = None,
    cache: dict[str, Any] | None = None,
    group_sizes: Mapping[str, int] | None = None,
) -> list[dict[Hashable, FoldParts]]:
    """:func:`run_folds` for several ``(data, universe, folds)`` jobs in one joblib pool.

    The attribution null evaluates one country under several label draws, a handful of fits
    each: pooled, the workers stay busy instead of waiting at every draw's end. A fit that two
    jobs share (same cache key) runs once. Results are exactly those of separate calls.
    """
    plans = [_plan(spec, d, u, f, (), cache, None, group_sizes) for d, u, f in jobs]
    calls: list[Call] = []
    first: dict[str, tuple[int, Any]] = {}
    alias: dict[tuple[int, Any], tuple[int, Any]] = {}
    for i, plan in enumerate(plans):
        for call_key, fn, args in plan.calls:
            ck = plan.misses.get(call_key, "")
            if ck and ck in first:
                alias[(i, call_key)] = first[ck]
                continue
            if ck:
                first[ck] = (i, call_key)
            calls.append(((i, call_key), fn, args))
    total = len(calls) + (len(plans) if spec.pipeline == "stacked" else 0)
    results, done, _ = _map(calls, n_jobs, progress, total)
    out = []
    for i, plan in enumerate(plans):
        mine: dict[Any, Any] = {}
        for call_key, fn, args in plan.calls:
            source = alias.get((i, call_key), (i, call_key))
            value = results[source]
            mine[call_key] = _with_positions(value, fn, args[3]) if source[0] != i else value
        parts, _ = _finish(plan, mine, cache)
        out.append(parts)
        if progress is not None and spec.pipeline == "stacked":
            done += 1
            progress(done, total)
    return out


@dataclass
class _Plan:
    """One run_folds call, planned: the fits to compute, the ones the cache already holds."""

    spec: PipelineSpec
    data: Data
    folds: Mapping[Hashable, OuterFold]
    calls: list[Call]
    hits: dict[Any, Any]
    misses: dict[Any, str]
    group_of: dict[str, int]
    row_group: IntArray
    n_groups: int
    base: str
    keyed: bool
    used: set[str] | None


def _plan(
    spec: PipelineSpec,
    data: Data,
    universe: NDArray[np.bool_],
    folds: Mapping[Hashable, OuterFold],
    extra_calls: Sequence[Call],
    cache: dict[str, Any] | None,
    used: set[str] | None,
    group_sizes: Mapping[str, int] | None,
) -> _Plan:
    T = ~np.isnan(data.y_train)
    countries = data.countries
    calls: list[Call] = []
    planned: list[tuple[Any, Callable[..., Any], IntArray, IntArray]] = [
        (key, fn, args[2], args[3]) for key, fn, args in extra_calls
    ]
    group_of: dict[str, int] = {}
    row_group = np.zeros(len(countries), dtype=np.intp)
    n_groups = 0
    if spec.pipeline == "stacked":
        all_c = sorted(set(countries[universe]))
        # Sized by participating rows, not labelled ones (or by the caller's label-independent
        # sizes): groups stay put when labels change, and with them the pair models.
        if group_sizes is None:
            sizes = {c: int((universe & (countries == c)).sum()) for c in all_c}
        else:
            sizes = {c: int(group_sizes.get(c, 0)) for c in all_c}
        n_groups = min(2 * spec.inner_folds, len(all_c))
        group_of = country_groups(all_c, sizes, n_groups)
        row_group = np.fromiter(
            (group_of.get(c, -1) for c in countries), dtype=np.intp, count=len(countries)
        )
        needed = {group_of[f.country] for f in folds.values()}
        for a in range(n_groups):
            for b in range(a, n_groups):
                if a not in needed and b not in needed:
                    continue
                excluded = (row_group == a) | (row_group == b)
                # Targets: every participating row of the two groups, labelled or not, so the
                # task (and its cache key) does not change when labels inside them do.
                train = np.flatnonzero(T & ~excluded)
                target = np.flatnonzero(universe & excluded)
                planned.append((("pair", a, b), pair_task, train, target))
    for key, f in folds.items():
        planned.append((("outer", key), outer_task, f.train, f.test))

    hits: dict[Any, Any] = {}
    misses: dict[Any, str] = {}
    keyed = cache is not None or used is not None
    base = _digest(spec) if keyed else ""
    row_keys = row_digests(data) if keyed else np.empty(0, dtype="V16")
    for call_key, fn, train, test in planned:
        ck = _task_key(base, fn.__name__, row_keys, data.y_train, train, test) if keyed else ""
        if used is not None:
            used.add(ck)
        if cache is not None:
            if ck in cache:
                hits[call_key] = _with_positions(cache[ck], fn, test)
                continue
            misses[call_key] = ck
        calls.append((call_key, fn, (spec, data, train, test)))
    return _Plan(
        spec, data, folds, calls, hits, misses, group_of, row_group, n_groups, base, keyed, used
    )


def _map(
    calls: Sequence[Call], n_jobs: int, progress: ProgressFn | None, total: int
) -> tuple[dict[Any, Any], int, float]:
    try:
        return parallel_map(calls, n_jobs, progress, 0, total)
    except (InputError, ModelError):
        raise
    except ValueError as exc:  # an engine refused the data (e.g. NaN features)
        raise ModelError(f"training failed: {exc}") from exc


def _finish(
    plan: _Plan, results: dict[Any, Any], cache: dict[str, Any] | None
) -> tuple[dict[Hashable, FoldParts], dict[Any, Any]]:
    """Store the new fits, add the cached ones, fit the stackers: the parts of every fold."""
    spec, data, folds, used = plan.spec, plan.data, plan.folds, plan.used
    results = dict(results)
    if cache is not None:
        cache.update({ck: results[call_key] for call_key, ck in plan.misses.items()})
    results.update(plan.hits)

    parts: dict[Hashable, FoldParts] = {}
    for key, f in folds.items():
        r = results[("outer", key)]
        nan = np.full(len(f.test), np.nan)
        parts[key] = FoldParts(f.test, r["p_base"], r["p_head"], nan)
    if spec.pipeline == "stacked":
        n = len(data.countries)
        n_cl = len(spec.clusters)
        # PB[r, g]: base proba of row r by pair model {group(r), g}; PH likewise for its head.
        PB = np.full((n, plan.n_groups), np.nan)
        PH = np.full((n, plan.n_groups), np.nan)
        for key, r in results.items():
            if key[0] != "pair":
                continue
            _, a, b = key
            tgt = r["target"]
            other = np.where(plan.row_group[tgt] == a, b, a)
            PB[tgt, other] = r["p_base"]
            PH[tgt, other] = r["p_head"]
        codes = data.codes
        for key, f in folds.items():
            g = plan.group_of[f.country]
            fp = parts[key]
            Z = est.stack_inputs(PB[f.train, g], PH[f.train, g], codes[f.train], n_cl)
            Z_test = est.stack_inputs(fp.p_base, fp.p_head, codes[f.test], n_cl)
            y = data.y_train[f.train].astype(np.int64)
            sk = ""
            if plan.keyed:
                h = hashlib.sha256(f"{plan.base}:stacker".encode())
                for arr in (Z, y, Z_test):
                    h.update(arr.tobytes())
                sk = h.hexdigest()
            if used is not None:
                used.add(sk)
            if cache is not None and sk in cache:
                fp.p_stack = cache[sk]
                continue
            fp.p_stack = stacker_proba(spec, Z, y, Z_test)
            if cache is not None:
                cache[sk] = fp.p_stack
    extra = {
        k: v for k, v in results.items() if not (isinstance(k, tuple) and k[0] in ("pair", "outer"))
    }
    return parts, extra
