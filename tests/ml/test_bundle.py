"""Bundles: round trip, and refusal (ModelError) of tampered, foreign and incompatible files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from ml_specs import TINY_STACKED_SPEC
from threadpoolctl import threadpool_limits

from labelbench.domain.constants import FEATURES
from labelbench.errors import ModelError
from labelbench.ml.bundle import BUNDLE_NAME, FORMAT, MANIFEST_NAME, load_bundle, save_bundle
from labelbench.ml.estimators import make_model
from labelbench.ml.evaluation import ServingThresholds

SPEC = TINY_STACKED_SPEC


@pytest.fixture(scope="module")
def fitted() -> tuple[Any, pd.DataFrame]:
    rng = np.random.default_rng(0)
    countries = ["EG", "IR", "RU", "UZ", "FR", "US"]
    n = 20 * len(countries)
    y = (rng.random(n) < 0.4).astype(int)
    X = pd.DataFrame(rng.normal(size=(n, len(FEATURES))) + y[:, None], columns=list(FEATURES))
    X.insert(0, "country", np.repeat(countries, 20))
    with threadpool_limits(limits=1):
        return make_model(SPEC).fit(X, y), X


def save(fitted: tuple[Any, pd.DataFrame], tmp_path: Path) -> Path:
    model, _ = fitted
    thresholds = ServingThresholds(0.42, {"EG": 0.37}, 30.0)
    info = save_bundle(
        model,
        {"metrics": {"loco_median_f1": 0.9}, "label_batches": [1, 2]},
        tmp_path,
        thresholds=thresholds,
    )
    return info.path


def test_round_trip(fitted: tuple[Any, pd.DataFrame], tmp_path: Path) -> None:
    model, X = fitted
    path = save(fitted, tmp_path)
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert manifest["format"] == FORMAT and manifest["features"] == list(FEATURES)
    assert set(manifest["versions"]) == {"python", "sklearn", "numpy", "joblib", "labelbench"}
    assert manifest["pipeline_spec"] == SPEC.to_dict() and manifest["label_batches"] == [1, 2]
    loaded = load_bundle(tmp_path)  # directory or file both work
    assert load_bundle(path).info.sha256 == loaded.info.sha256 == manifest["sha256"]
    pd.testing.assert_frame_equal(loaded.model.predict_parts(X), model.predict_parts(X))
    assert loaded.spec == SPEC
    assert (
        loaded.thresholds.for_country("EG") == 0.37 and loaded.thresholds.for_country("US") == 0.42
    )


def test_tampered_bundle_is_refused(fitted: tuple[Any, pd.DataFrame], tmp_path: Path) -> None:
    path = save(fitted, tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="tampered"):
        load_bundle(path)


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    joblib.dump({"model": "anything"}, tmp_path / BUNDLE_NAME)
    with pytest.raises(ModelError, match="foreign"):
        load_bundle(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({"format": "someone-else/3"}))
    with pytest.raises(ModelError, match="foreign"):
        load_bundle(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text("not json")
    with pytest.raises(ModelError, match="unreadable"):
        load_bundle(tmp_path)
    with pytest.raises(ModelError, match="no model bundle"):
        load_bundle(tmp_path / "missing.joblib")


def test_version_mismatch_is_refused_before_unpickling(
    fitted: tuple[Any, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save(fitted, tmp_path)
    manifest_path = tmp_path / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    manifest["versions"]["sklearn"] = "0.24.2"
    manifest_path.write_text(json.dumps(manifest))

    def no_unpickling(*args: object, **kwargs: object) -> None:
        raise AssertionError("unpickled an incompatible bundle")

    monkeypatch.setattr(joblib, "load", no_unpickling)
    with pytest.raises(
        ModelError, match=r"incompatible bundle: built with sklearn 0\.24\.2"
    ) as exc:
        load_bundle(tmp_path)
    assert "\n" not in str(exc.value)


def test_manifest_may_not_override_reserved_keys(
    fitted: tuple[Any, pd.DataFrame], tmp_path: Path
) -> None:
    with pytest.raises(ModelError, match="reserved"):
        save_bundle(fitted[0], {"sha256": "x"}, tmp_path)
    with pytest.raises(ModelError):
        save_bundle(object(), {}, tmp_path)
