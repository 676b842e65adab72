"""`labelbench export`: samples or the label log to CSV or Parquet, with provenance columns."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from labelbench import __version__
from labelbench.db import queries
from labelbench.domain.constants import FEATURES
from labelbench.errors import InputError
from labelbench.services.labels import training_frame
from labelbench.services.workspace import Workspace

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def _format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot tell the format of {path}: use a .csv or .parquet file name")
    return fmt


def _write_atomically(frame: pd.DataFrame, path: Path) -> None:
    """Write beside the target and rename, so a failed export never leaves half a file."""
    fmt = _format_of(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if fmt == "csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_samples(ws: Workspace, path: Path) -> int:
    """One row per sample: country, day, the 16 features, the effective label and provenance."""
    _format_of(path)
    with ws.transaction(readonly=True) as session:
        frame = training_frame(session)
    out = frame[
        [
            "country",
            "day",
            *FEATURES,
            "label",
            "label_source",
            "incident_label",
            "human_verdict",
            "decided_by",
            "rereview",
            "id",
            "cluster",
            "evidence_count",
            "fingerprint",
        ]
    ].rename(columns={"id": "sample_id", "fingerprint": "evidence_fingerprint"})
    out["label"] = out["label"].astype("Int64")
    out["labelbench_version"] = __version__
    _write_atomically(out, path)
    return len(out)


def export_labels(ws: Workspace, path: Path) -> int:
    """The label log, every event, with the sample's country/day and whether evidence changed."""
    _format_of(path)
    with ws.transaction(readonly=True) as session:
        frame = queries.labels_frame(session)
    frame["evidence_changed"] = frame["evidence_fingerprint"] != frame["current_fingerprint"]
    frame["labelbench_version"] = __version__
    _write_atomically(frame, path)
    return len(frame)
