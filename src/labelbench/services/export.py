"""`labelbench export`: samples or the label log to CSV or Parquet, with provenance columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labelbench import __version__
from labelbench.db import queries
from labelbench.domain.constants import FEATURES
from labelbench.domain.labels import effective_labels
from labelbench.domain.spreadsheet import neutralise_frame
from labelbench.errors import InputError
from labelbench.services.files import atomic_target
from labelbench.services.labels import training_frame
from labelbench.services.workspace import Workspace

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def _format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot tell the format of {path}: use a .csv or .parquet file name")
    return fmt


def _write_atomically(frame: pd.DataFrame, path: Path) -> None:
    """Write beside the target and rename, so a failed export never leaves half a file.

    CSV text cells are made spreadsheet-safe (:mod:`labelbench.domain.spreadsheet`); Parquet
    keeps them as they are (it is typed and no spreadsheet evaluates it).
    """
    fmt = _format_of(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(path) as tmp:  # the user's umask, not mkstemp's 0600
        if fmt == "csv":
            neutralise_frame(frame).to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)


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
    """The whole label log, one row per event, with everything needed to trust or audit it.

    Per event: who (analyst), in which labelling session (batch id, its start, strategy and
    status), when, what (event, verdict, note, citation, seconds spent), on what evidence (the
    fingerprint the analyst saw, the current one, and whether it has changed since), why the
    day was shown (queue strategy, reason, the model's probability), whether the event still
    stands (``retracted_by``, reverted batch) and how the sample ended up (its effective verdict,
    and the adjudication that settled it, if any).
    """
    _format_of(path)
    with ws.transaction(readonly=True) as session:
        frame = queries.labels_frame(session)
        events = queries.label_events(session)
        sessions = queries.batches_frame(session)
        queued = queries.queue_context_frame(session)
    retractions = frame[frame["event"] == "retraction"].set_index("retracts_id")["label_id"]
    frame["retracted_by"] = frame["label_id"].map(retractions).astype("Int64")
    frame["retracts_id"] = frame["retracts_id"].astype("Int64")
    frame["batch_id"] = frame["batch_id"].astype("Int64")
    frame["stands"] = frame["retracted_by"].isna() & (frame["batch_status"] != "reverted")
    frame.loc[frame["event"] == "retraction", "stands"] = False
    effective = effective_labels(events)
    frame["effective_verdict"] = frame["sample_id"].map(
        lambda sid: effective[int(sid)].verdict if int(sid) in effective else None
    )
    frame = frame.merge(_last_adjudications(frame), on="sample_id", how="left")
    frame = frame.merge(sessions, on="batch_id", how="left").merge(
        queued, on="label_id", how="left"
    )
    frame["evidence_changed"] = frame["evidence_fingerprint"] != frame["current_fingerprint"]
    frame["labelbench_version"] = __version__
    frame = frame.rename(columns={"batch_id": "session_id", "batch_status": "session_status"})
    _write_atomically(frame[list(LABEL_EXPORT_COLUMNS)], path)
    return len(frame)


def _last_adjudications(frame: pd.DataFrame) -> pd.DataFrame:
    """Per sample, the standing adjudication that settled it (merged, never ``Series.map``).

    ``map`` with an empty datetime Series casts it to float and crashed the export of every log
    without an adjudication (the normal state); a left merge keeps the dtypes in every case.
    """
    standing = frame[(frame["event"] == "adjudication") & frame["stands"]]
    last = (
        standing.sort_values(["created_at", "label_id"])
        .drop_duplicates("sample_id", keep="last")
        .loc[:, ["sample_id", "verdict", "analyst", "created_at"]]
    )
    return last.rename(
        columns={
            "verdict": "adjudicated_verdict",
            "analyst": "adjudicated_by",
            "created_at": "adjudicated_at",
        }
    )


#: Columns of `export labels`, in order (documented in the README).
LABEL_EXPORT_COLUMNS = (
    "label_id", "sample_id", "country", "day", "event", "verdict", "analyst", "created_at",
    "note", "citation_url", "seconds_spent", "session_id", "session_started_at",
    "session_strategy", "session_status", "queue_strategy", "queue_reason", "queue_expected_p",
    "evidence_fingerprint", "current_fingerprint", "evidence_changed", "retracts_id",
    "retracted_by", "stands", "effective_verdict", "adjudicated_verdict", "adjudicated_by",
    "adjudicated_at", "labelbench_version",
)  # fmt: skip
