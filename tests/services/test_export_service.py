"""`export labels`: the label log with full provenance, on both backends."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labelbench.services.export import LABEL_EXPORT_COLUMNS, export_labels
from labelbench.services.labelling import LabellingService
from labelbench.services.review import adjudicate


def test_label_export_carries_full_provenance(tiny_world_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = tiny_world_ws
    ana = LabellingService(ws, "ana", countries=["OM"])
    ana.start()
    first = ana.next_item()
    assert first is not None and first.item is not None
    ana.decide(
        first.sample_id, "positive", fingerprint_seen=first.fingerprint,
        item_id=first.item.item_id, note="Twitter blocked", citation_url="https://x.test/1",
        seconds_spent=12.5,
    )  # fmt: skip
    second = ana.next_item()
    assert second is not None and second.item is not None
    ana.decide(second.sample_id, "negative", fingerprint_seen=second.fingerprint,
               item_id=second.item.item_id)  # fmt: skip
    assert ana.undo() == second.sample_id
    ana.close()
    # A second analyst disagrees on the first day; the lead settles it.
    ben = LabellingService(ws, "ben", countries=["OM"])
    ben.start(build_if_empty=False)
    other = ben.view_sample(first.sample_id)
    ben.decide(first.sample_id, "negative", fingerprint_seen=other.fingerprint)
    adjudicate(ws, first.sample_id, "positive", lead="lead", note="OONI confirmed")

    out = tmp_path / "labels.parquet"
    assert export_labels(ws, out) == 5
    frame = pd.read_parquet(out)
    assert tuple(frame.columns) == LABEL_EXPORT_COLUMNS
    by_event = frame.set_index(["sample_id", "event", "analyst"])
    decision = by_event.loc[(first.sample_id, "decision", "ana")]
    assert decision["note"] == "Twitter blocked" and decision["citation_url"] == "https://x.test/1"
    assert decision["seconds_spent"] == 12.5 and decision["stands"]
    assert decision["evidence_fingerprint"] == first.fingerprint
    assert not decision["evidence_changed"]
    assert decision["session_id"] > 0 and decision["session_strategy"]
    assert pd.notna(decision["session_started_at"])
    assert decision["queue_strategy"] and decision["queue_reason"]
    assert decision["effective_verdict"] == "positive"
    assert decision["adjudicated_verdict"] == "positive"
    assert decision["adjudicated_by"] == "lead"
    undone = by_event.loc[(second.sample_id, "decision", "ana")]
    retraction = by_event.loc[(second.sample_id, "retraction", "ana")]
    assert not undone["stands"] and undone["retracted_by"] == retraction["label_id"]
    assert retraction["retracts_id"] == undone["label_id"] and not retraction["stands"]
    assert pd.isna(undone["effective_verdict"]) and pd.isna(undone["adjudicated_verdict"])
