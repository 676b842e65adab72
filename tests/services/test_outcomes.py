"""Acceptance: one labelling history with every outcome shows the same new / confirmed /
overturned counts in `status`, the weekly report (every format), the batch report and
:func:`labelbench.services.outcomes.outcome_counts` (what the labelling app's summary can use).

History (one analyst, one batch, all this week), in OM: 2 new positives (one of them only after
a second analyst agreed), 1 confirmed and 1 overturned incident day, 1 negative, 1 unsure; in KW:
1 overturned. A second analyst disputes one more OM day (it counts as undecided, not new).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from sqlalchemy import select

from labelbench.db.models import Sample
from labelbench.domain.labels import OutcomeCounts
from labelbench.reports.weekly_render import render
from labelbench.services.batches import list_batches
from labelbench.services.labelling import LabellingService
from labelbench.services.labels import training_frame
from labelbench.services.outcomes import outcome_counts
from labelbench.services.status import status
from labelbench.services.weekly import batch_report, weekly_report

EXPECTED = {"OM": (2, 1, 1), "KW": (0, 0, 1)}


def _days(ws: Any, country: str, incident: int, n: int) -> list[int]:
    with ws.transaction(readonly=True) as session:
        ids = session.scalars(
            select(Sample.id)
            .where(
                Sample.country == country,
                Sample.incident_label == incident,
                Sample.candidate_only.is_(False),  # production samples: the sums below hold
            )
            .order_by(Sample.day)
            .limit(n)
        ).all()
    assert len(ids) == n
    return list(ids)


@pytest.fixture
def history(tiny_world_ws: Any) -> tuple[Any, int]:
    ws = tiny_world_ws
    new1, new2, neg, unsure, disputed = _days(ws, "OM", 0, 5)
    confirmed, overturned = _days(ws, "OM", 1, 2)
    (kw_overturned,) = _days(ws, "KW", 1, 1)
    ana = LabellingService(ws, "ana", countries=["OM", "KW"])
    ana.start(build_if_empty=False)
    for sid, verdict in [
        (new1, "positive"),
        (new2, "positive"),
        (confirmed, "positive"),
        (overturned, "negative"),
        (neg, "negative"),
        (unsure, "unsure"),
        (disputed, "positive"),
        (kw_overturned, "negative"),
    ]:
        ana.decide(sid, verdict, fingerprint_seen="seen")
    bob = LabellingService(ws, "bob", countries=["OM"])
    bob.start(build_if_empty=False)
    bob.decide(new2, "positive", fingerprint_seen="seen")
    bob.decide(disputed, "negative", fingerprint_seen="seen")
    assert ana.batch_id is not None
    return ws, ana.batch_id


def triple(d: dict[str, Any]) -> tuple[int, int, int]:
    return (d["new_positives"], d["confirmed"], d["overturned"])


def test_every_output_counts_the_same_outcomes(history: tuple[Any, int]) -> None:
    ws, batch = history
    with ws.transaction(readonly=True) as session:
        service = outcome_counts(session, ["OM", "KW"])
        in_batch = outcome_counts(session, ["OM", "KW"], batch_id=batch)
    assert {c: triple(v.to_dict()) for c, v in service.items()} == EXPECTED
    assert service["OM"] == OutcomeCounts(2, 1, 1, 1, 2)  # + the negative; unsure and disputed
    assert in_batch == service  # ana's batch touched every labelled day

    st = status(ws)
    rows = {r["country"]: r for r in st["per_country"]}
    assert {c: triple(rows[c]) for c in EXPECTED} == EXPECTED
    assert triple(st) == (2, 1, 2)
    # training positives: incident ones - overturned - left undecided + new
    om = rows["OM"]
    assert om["positives"] == om["incident_positives"] - 1 + 2
    assert st["positives"] == st["incident_positives"] - 2 + 2
    with ws.transaction(readonly=True) as session:
        frame = training_frame(session)
    assert st["positives"] == int((frame["label"] == 1).sum())  # what retrain trains on

    report = weekly_report(ws, countries=["OM", "KW"])
    assert report["to_date"] and not report["empty"]
    by = {r["country"]: r for r in report["countries"]}
    assert {c: triple(by[c]) for c in EXPECTED} == EXPECTED
    assert {c: triple(by[c]["cumulative"]) for c in EXPECTED} == EXPECTED
    assert triple(report["totals"]["week"]) == (2, 1, 2)
    assert by["OM"]["cumulative_new_positives"] == 2
    # labels that found a new positive: new1, new2 (twice), ana's on the disputed day; the
    # confirmation is not one
    assert by["OM"]["new_positive_labels"] == 4

    as_json = {r["country"]: r for r in json.loads(render(report, "json"))["countries"]}
    assert {c: triple(as_json[c]) for c in EXPECTED} == EXPECTED
    rows_csv = {r["country"]: r for r in csv.DictReader(io.StringIO(render(report, "csv")))}
    assert {
        c: (int(r["new_positives"]), int(r["confirmed"]), int(r["overturned"]))
        for c, r in rows_csv.items()
    } == EXPECTED
    for fmt in ("text", "md", "html"):
        body = render(report, fmt)
        assert "2 new positives" in body and "confirmed 1, overturned 2" in body, fmt

    b = batch_report(ws, batch)
    assert triple(b["totals"]) == (2, 1, 2)
    assert {r["country"]: triple(r) for r in b["by_country"]} == EXPECTED
    listed = {r["batch_id"]: r for r in list_batches(ws)}
    assert triple(listed[batch]) == (2, 1, 2)


def test_status_explains_its_positive_count(
    history: tuple[Any, int], capsys: pytest.CaptureFixture[str]
) -> None:
    from labelbench.cli.main import main

    ws, _ = history
    url = ["--database-url", ws.settings.database_url]
    assert main([*url, "status", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    om = next(r for r in obj["per_country"] if r["country"] == "OM")
    assert triple(om) == (2, 1, 1) and om["undecided_incident_positives"] == 0
    assert main([*url, "status"]) == 0
    out = capsys.readouterr().out
    k = obj["incident_positives"]
    assert (
        f"{k:,} training positives = {k:,} incident-derived - 2 overturned by analysts "
        "+ 2 new positives; 1 incident positives confirmed by analysts"
    ) in out


def test_pool_stats_give_random_sampling_a_new_positive_rate() -> None:
    """Random's expectation counts only days no incident marked: a marked day drawn at random
    could confirm, never be new."""
    import pandas as pd

    from labelbench.services.queue import _pool_stats

    pool = pd.DataFrame(
        {"country": ["OM"] * 4, "proba": [0.9, 0.1, 0.3, 0.2], "incident_label": [1, 0, 0, 0]}
    )
    om = _pool_stats(pool)["OM"]
    assert om["mean_p"] == pytest.approx(0.375) and om["new_p"] == pytest.approx(0.15)
    no_model = _pool_stats(pool.assign(proba=float("nan")))["OM"]
    assert no_model["new_p"] is None and no_model["mean_p"] is None


def test_status_counts_labelled_candidate_days_as_training_does(tiny_world_ws: Any) -> None:
    """Incident days below the sample rule train only once labelled: a confirmation adds a
    positive, an overturn takes none away."""
    from labelbench.db.models import Label

    ws = tiny_world_ws
    with ws.transaction() as session:
        days = session.scalars(
            select(Sample).where(Sample.candidate_only.is_(True), Sample.incident_label == 1)
        ).all()[:2]
        assert len(days) == 2, "the tiny world has incident days under 5 evidence rows"
        for sample, verdict in zip(days, ("positive", "negative"), strict=True):
            session.add(
                Label(
                    sample_id=sample.id,
                    verdict=verdict,
                    event="decision",
                    analyst="ana",
                    evidence_fingerprint=sample.fingerprint,
                )
            )
    st = status(ws)
    with ws.transaction(readonly=True) as session:
        frame = training_frame(session)
    assert st["positives"] == int((frame["label"] == 1).sum())
