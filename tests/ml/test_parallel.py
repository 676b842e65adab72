"""LOCO folds on a (small, local) Dask cluster give exactly the local results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from joblib.parallel import get_active_backend
from ml_specs import TINY_STACKED_SPEC

from labelbench.domain.constants import FEATURES
from labelbench.errors import ConfigError
from labelbench.ml.evaluation import loco_evaluate
from labelbench.ml.parallel import parallel_backend_for

distributed = pytest.importorskip("distributed")

SPEC = TINY_STACKED_SPEC


def samples() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(5)
    countries = ["EG", "IR", "JO", "RU", "UZ", "CN", "FR", "US"]
    n = 20 * len(countries)
    y = (rng.random(n) < 0.4).astype(float)
    X = pd.DataFrame(rng.normal(size=(n, len(FEATURES))) + y[:, None], columns=list(FEATURES))
    X.insert(0, "country", np.repeat(countries, 20))
    return X, pd.Series(y)


def test_dask_cluster_matches_local_run() -> None:
    X, y = samples()
    local = loco_evaluate(SPEC, X, y, y, n_boot=50)
    with distributed.LocalCluster(
        host="127.0.0.1",
        protocol="tcp://",
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        dashboard_address=None,
    ) as cluster:
        seen: list[int] = []
        with parallel_backend_for(cluster.scheduler_address):
            assert type(get_active_backend()[0]).__name__ == "DaskDistributedBackend"
            remote = loco_evaluate(
                SPEC, X, y, y, n_boot=50, n_jobs=-1, progress=lambda d, t: seen.append(d)
            )
    pd.testing.assert_frame_equal(local.predictions, remote.predictions)
    pd.testing.assert_frame_equal(local.stratified_predictions, remote.stratified_predictions)
    timing = {"elapsed_seconds": 0, "cpu_seconds": 0}
    assert local.to_dict() | timing == remote.to_dict() | timing
    assert seen[-1] == len(seen)


def test_no_scheduler_is_a_no_op_and_bad_address_is_a_config_error() -> None:
    with parallel_backend_for(None):
        pass
    with pytest.raises(ConfigError), parallel_backend_for("tcp://127.0.0.1:1", timeout="1s"):
        pass
