"""The models store: where run artifacts live so that every analyst's machine can load them.

A store is named by URL in ``models_store`` (default: the local folder ``models_dir``). A plain
path or ``file://`` URL is a folder; any other URL (``s3://``, ``gcs://``, ``memory://``...) goes
through fsspec when it is installed, and artifacts are copied to a local cache before use.

Each run is a folder ``<run_id>/`` holding ``model.joblib``, ``manifest.json``, ``oof.parquet``,
``report.md`` and ``metrics.json``. The registry records the bundle's path *relative to the
store*; a recorded path that resolves outside the store is refused before anything is read.

Integrity chain (see the README's threat model): the registry row pins the bundle's SHA-256 and
the manifest's SHA-256; the manifest pins the SHA-256 of every artifact that influences ranking
or serving (the bundle and ``oof.parquet``) and of the reports. All of it is checked before the
bundle is unpickled or the OOF predictions are used, so replacing a pickle takes write access to
both the database and the store, and a database row alone can only point at runs in the store.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from labelbench.config import Settings
from labelbench.domain.digest import sha256_file
from labelbench.errors import ConfigError, ModelError

MANIFEST_NAME = "manifest.json"
BUNDLE_NAME = "model.joblib"
OOF_NAME = "oof.parquet"
#: Key of the manifest's SHA-256 inside ``ModelRun.metrics`` (no schema change needed).
MANIFEST_KEY = "manifest_sha256"
#: Artifacts whose hash the manifest must carry and the loader must check.
VERIFIED = (OOF_NAME,)


@dataclass(frozen=True)
class StoredRun:
    """What the registry records for a run saved in the store."""

    bundle_path: str
    """``<run_id>/model.joblib``, relative to the store."""
    sha256: str
    manifest_sha256: str


class ModelStore:
    """A local folder, or an fsspec URL mirrored into a local cache folder."""

    def __init__(self, url: str, cache: Path | None = None) -> None:
        self.url = url
        parsed = urlparse(url)
        self.remote = parsed.scheme not in ("", "file") and len(parsed.scheme) > 1
        if self.remote:
            try:
                import fsspec  # type: ignore[import-untyped,unused-ignore]
            except ImportError:  # pragma: no cover - fsspec ships with the dask extra
                raise ConfigError(
                    f"models store {url} needs fsspec (pip install fsspec and its {parsed.scheme} "
                    "backend)"
                ) from None
            try:
                self.fs, self.remote_root = fsspec.core.url_to_fs(url)
            except (ImportError, ValueError) as exc:
                raise ConfigError(f"cannot open models store {url}: {exc}") from None
            self.root = Path(cache or Path(tempfile.gettempdir()) / "labelbench-store").resolve()
        else:
            self.root = Path(parsed.path if parsed.scheme == "file" else url).expanduser().resolve()

    @classmethod
    def for_settings(cls, settings: Settings) -> ModelStore:
        """The configured store; a remote one is cached in this machine's ``models_dir``."""
        return cls(settings.models_store or str(settings.models_dir), cache=settings.models_dir)

    def run_dir(self, run_id: str) -> Path:
        """The local folder a new run is written into (uploaded by :meth:`publish`)."""
        return self._inside(run_id)

    def publish(self, run_id: str) -> None:
        """Copy a run's local folder to a remote store (nothing to do for a local one)."""
        if self.remote:
            remote = f"{self.remote_root.rstrip('/')}/{run_id}"
            for path in sorted(self.run_dir(run_id).iterdir()):
                self.fs.put_file(str(path), f"{remote}/{path.name}")

    def discard(self, run_id: str) -> None:
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)

    def _inside(self, relative: str) -> Path:
        """``relative`` resolved under the store root; refused when it points anywhere else."""
        pure = PurePosixPath(relative.replace("\\", "/"))
        candidate = Path(relative) if pure.is_absolute() else self.root.joinpath(*pure.parts)
        resolved = candidate.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise ModelError(
                f"refused model path {relative!r}: it resolves outside the models store {self.url}"
            )
        return resolved

    def fetch(self, bundle_path: str) -> Path:
        """The local folder of a recorded bundle path (downloaded first from a remote store)."""
        bundle = self._inside(bundle_path)
        if self.remote:
            relative = bundle.parent.relative_to(self.root).as_posix()
            remote = f"{self.remote_root.rstrip('/')}/{relative}"
            if not self.fs.exists(remote):
                raise ModelError(f"run folder {relative} is missing from the models store")
            bundle.parent.mkdir(parents=True, exist_ok=True)
            for entry in self.fs.ls(remote, detail=False):
                name = PurePosixPath(str(entry)).name
                self.fs.get_file(str(entry), str(self._inside(f"{relative}/{name}")))
        return bundle.parent

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()


def save_run(
    store: ModelStore,
    run_id: str,
    model: Any,
    manifest: dict[str, Any],
    *,
    thresholds: Any,
    files: dict[str, bytes],
) -> StoredRun:
    """Write a run's artifacts, hash them into the manifest, save the bundle and publish it.

    ``files`` are the run's other artifacts by name (``oof.parquet``, ``report.md``...), written
    before the bundle so that the manifest can pin each one's SHA-256.
    """
    from labelbench.ml.bundle import save_bundle

    directory = store.run_dir(run_id)
    directory.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for name, data in files.items():
        (directory / name).write_bytes(data)
        hashes[name] = sha256_file(directory / name)
    info = save_bundle(model, {**manifest, "artifacts": hashes}, directory, thresholds=thresholds)
    store.publish(run_id)
    return StoredRun(store.relative(info.path), info.sha256, sha256_file(info.manifest_path))


@dataclass(frozen=True)
class VerifiedRun:
    """A run folder whose manifest and artifacts matched the registry's hashes."""

    directory: Path
    manifest: dict[str, Any]


def verify_run(
    store: ModelStore, run_id: str, bundle_path: str, sha256: str, manifest_sha256: str | None
) -> VerifiedRun:
    """Check the chain registry -> manifest -> artifacts before anything is unpickled or used.

    ``manifest_sha256`` is None only for runs saved before the store pinned manifests: their
    bundle is still checked against the registry, and their OOF predictions are not trusted.
    """
    directory = store.fetch(bundle_path)
    bundle = store._inside(bundle_path)
    if not bundle.is_file():
        raise ModelError(f"bundle of run {run_id} is missing: {bundle_path} in {store.url}")
    if sha256_file(bundle) != sha256:
        raise ModelError(
            f"bundle of run {run_id} does not match the registry's sha256 (tampered or replaced)"
        )
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.is_file():
        raise ModelError(f"run {run_id} has no {MANIFEST_NAME} in the models store")
    if manifest_sha256 is not None and sha256_file(manifest_path) != manifest_sha256:
        raise ModelError(
            f"manifest of run {run_id} does not match the registry's sha256 (tampered or replaced)"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"unreadable manifest of run {run_id}: {exc}".splitlines()[0]) from None
    artifacts = manifest.get("artifacts") or {}
    for name in VERIFIED:
        path = directory / name
        if manifest_sha256 is None or not path.is_file():
            continue
        if name not in artifacts:
            raise ModelError(f"manifest of run {run_id} does not pin {name}")
        if sha256_file(path) != artifacts[name]:
            raise ModelError(f"{name} of run {run_id} does not match its manifest (tampered)")
    return VerifiedRun(directory, manifest)
