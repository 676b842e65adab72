"""Spreading LOCO folds over a Dask cluster.

:func:`~labelbench.ml.evaluation.loco_evaluate` runs its fold tasks through ``joblib.Parallel``
without naming a backend, so whichever joblib backend is active decides where they run. Locally
that is loky (processes on this machine); inside :func:`parallel_backend_for` with a scheduler
address it is joblib's ``dask`` backend, i.e. the workers of that cluster::

    with parallel_backend_for("tcp://scheduler:8786"):
        result = loco_evaluate(spec, X, y_train, y_eval, n_jobs=-1)

``n_jobs=-1`` lets joblib use every worker thread of the cluster. The workers must have the same
labelbench, scikit-learn and numpy versions installed (tasks are pickled functions of labelbench).
Results are identical to a local run: every task is deterministic and independent of placement.
Requires the ``dask`` extra (``dask[distributed]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from joblib import parallel_config

from labelbench.errors import ConfigError


@contextmanager
def parallel_backend_for(dask_scheduler: str | None, *, timeout: str = "10s") -> Iterator[None]:
    """Run joblib work inside the block on ``dask_scheduler`` (None: leave the local backend).

    Connects a ``distributed.Client`` for the duration of the block and closes it afterwards
    (the cluster itself is left running).
    """
    if dask_scheduler is None:
        yield
        return
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ConfigError(
            "Dask scheduling needs the 'dask' extra: pip install 'labelbench[dask]'"
        ) from exc
    try:
        client = Client(dask_scheduler, timeout=timeout, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(
            f"cannot reach Dask scheduler {dask_scheduler}: {type(exc).__name__}"
        ) from exc
    try:
        with client.as_current(), parallel_config(backend="dask"):
            yield
    finally:
        client.close()  # type: ignore[no-untyped-call]
