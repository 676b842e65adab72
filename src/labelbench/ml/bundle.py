"""Model bundles: a joblib file plus a JSON manifest that is verified before anything is unpickled.

Unpickling runs arbitrary code, so :func:`load_bundle` trusts nothing in the pickle: it first reads
the manifest written beside it, checks the format marker, re-hashes the bundle file against the
recorded SHA-256 and checks that scikit-learn and numpy match in major.minor (pickled trees are not
portable across those). Only then is the file loaded. Every refusal is a one-line ``ModelError``.

Layout of ``save_bundle(model, manifest, directory)``::

    directory/model.joblib         {"format", "model", "thresholds", "spec"}
    directory/manifest.json        format marker, spec, features, versions, sha256, caller's keys
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

import labelbench
from labelbench.domain.constants import FEATURES
from labelbench.domain.digest import sha256_file
from labelbench.errors import ModelError
from labelbench.ml.estimators import PipelineSpec, spec_of
from labelbench.ml.evaluation import ServingThresholds

FORMAT = "labelbench-model-bundle/1"
BUNDLE_NAME = "model.joblib"
MANIFEST_NAME = "manifest.json"
#: Manifest keys written by labelbench; a caller's manifest may not override them.
RESERVED_KEYS = frozenset(
    {"format", "pipeline_spec", "features", "versions", "sha256", "bundle_file"}
)


@dataclass(frozen=True)
class BundleInfo:
    """Where a bundle was written and its content hash."""

    path: Path
    manifest_path: Path
    sha256: str


@dataclass(frozen=True)
class LoadedBundle:
    """A verified, unpickled bundle."""

    model: Any
    manifest: dict[str, Any]
    thresholds: ServingThresholds
    spec: PipelineSpec
    info: BundleInfo


def library_versions() -> dict[str, str]:
    """Versions recorded in (and checked against) manifests."""
    return {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
        "labelbench": labelbench.__version__,
    }


def _atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(Path(tmp))
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_bundle(
    model: Any,
    manifest: dict[str, Any],
    directory: str | Path,
    *,
    thresholds: ServingThresholds | None = None,
) -> BundleInfo:
    """Write ``model`` (with its serving thresholds) and its manifest into ``directory``.

    ``manifest`` carries the caller's facts (metrics, data fingerprint, label batches...); it must
    be JSON-serialisable and may not use the reserved keys labelbench writes itself.
    """
    clash = RESERVED_KEYS & set(manifest)
    if clash:
        raise ModelError(f"manifest keys reserved by labelbench: {', '.join(sorted(clash))}")
    spec = spec_of(model)
    thresholds = thresholds or ServingThresholds()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    bundle_path = directory / BUNDLE_NAME
    manifest_path = directory / MANIFEST_NAME
    payload = {
        "format": FORMAT,
        "model": model,
        "thresholds": thresholds.to_dict(),
        "spec": spec.to_dict(),
    }
    _atomic_write(bundle_path, lambda p: joblib.dump(payload, p, compress=3))
    digest = sha256_file(bundle_path)
    full = {
        **manifest,
        "format": FORMAT,
        "bundle_file": BUNDLE_NAME,
        "sha256": digest,
        "pipeline_spec": spec.to_dict(),
        "features": list(FEATURES),
        "versions": library_versions(),
    }
    try:
        text = json.dumps(full, indent=2, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"manifest is not JSON-serialisable: {exc}") from exc
    _atomic_write(manifest_path, lambda p: p.write_text(text + "\n", encoding="utf-8"))
    return BundleInfo(bundle_path, manifest_path, digest)


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def read_manifest(path: str | Path) -> tuple[Path, Path, dict[str, Any]]:
    """Locate and parse the manifest of a bundle (given its directory or its ``.joblib`` file)."""
    path = Path(path)
    bundle_path = path / BUNDLE_NAME if path.is_dir() else path
    manifest_path = bundle_path.parent / MANIFEST_NAME
    if not bundle_path.is_file():
        raise ModelError(f"no model bundle at {bundle_path}")
    if not manifest_path.is_file():
        raise ModelError(f"foreign bundle: no {MANIFEST_NAME} beside {bundle_path}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"unreadable manifest {manifest_path}: {exc}".splitlines()[0]) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelError(f"foreign bundle: {manifest_path} is not a {FORMAT} manifest")
    if manifest.get("bundle_file") != bundle_path.name:
        raise ModelError(
            f"manifest {manifest_path} describes {manifest.get('bundle_file')!r}, "
            f"not {bundle_path.name}"
        )
    return bundle_path, manifest_path, manifest


def load_bundle(path: str | Path) -> LoadedBundle:
    """Verify (format, hash, library versions) and only then unpickle a bundle."""
    bundle_path, manifest_path, manifest = read_manifest(path)
    digest = sha256_file(bundle_path)
    if digest != manifest.get("sha256"):
        raise ModelError(f"tampered bundle: sha256 of {bundle_path} does not match its manifest")
    recorded = manifest.get("versions") or {}
    current = library_versions()
    for lib in ("sklearn", "numpy"):
        want = str(recorded.get(lib, "?"))
        if _major_minor(want) != _major_minor(current[lib]):
            raise ModelError(
                f"incompatible bundle: built with {lib} {want}, this environment has {current[lib]}"
            )
    try:
        payload = joblib.load(bundle_path)
    except Exception as exc:
        raise ModelError(f"cannot load bundle {bundle_path}: {type(exc).__name__}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "model" not in payload:
        raise ModelError(f"foreign bundle: {bundle_path} has no {FORMAT} payload")
    return LoadedBundle(
        model=payload["model"],
        manifest=manifest,
        thresholds=ServingThresholds.from_dict(payload["thresholds"]),
        spec=PipelineSpec.from_dict(payload["spec"]),
        info=BundleInfo(bundle_path, manifest_path, digest),
    )
