"""The weekly and batch reports on a hand-built labelling history, on SQLite and PostgreSQL.

The history is made through the real services (``build_queue``, ``LabellingService`` decisions,
undo, a reverted batch, second opinions); only the clock is controlled, by rewriting
``created_at`` afterwards, and the queue's expected probabilities and pool statistics are set to
round numbers so every figure below can be computed by hand.

Timeline (UTC; 2026-W46 = Nov 9-15, W47 = Nov 16-22, W48 = Nov 23-29):

=====  ======  =======  =====  ========  =================  =======
label  analyst country  day    verdict   when               seconds
=====  ======  =======  =====  ========  =================  =======
L1     ana     OM       s1     negative  W46 Tue 10:00      30
L2     ana     OM       s2     negative  W46 Tue 10:05      40
L3     ana     OM       s3     positive  W46 Wed 09:00      50
L4     ana     OM       s4     positive  W47 Mon 00:00:00   20
L5     ana     OM       s5     negative  W47 Tue 10:00      10
L6     ana     OM       s6     unsure    W47 Tue 10:10      60
L7     ana     OM       s7     skip      W47 Tue 10:20      -
L8     ana     OM       s8*    positive  W47 Wed 10:00      30      (* incident label 1)
L9     ana     OM       s9     negative  W47 Wed 10:50      - undone (retracted)
L10    ana     OM       s9     negative  W47 Wed 11:05      25
L11    bob     OM       s4     positive  W47 Thu 09:00      15      second opinion
L12    bob     OM       s5     positive  W47 Thu 09:10      35      second opinion -> disputed
L13    bob     OM       s9     negative  W47 Thu 09:20      45      second opinion
L14    bob     OM       s6     negative  W47 Thu 09:30      20      second opinion
L15    bob     KW       k1     negative  W47 Fri 12:00      10
L16    bob     KW       k2     negative  W47 Sat 12:00      10
L18    bob     KW       k4     negative  W47 Sun 13:00      -       not from the queue
L17    bob     KW       k3     positive  W47 Sun 23:59:59   10
C1     carl    KW       k5     positive  W47 Wed 08:00      5       batch reverted
L19    ana     OM       s10    positive  W48 Mon 00:00:00   30
=====  ======  =======  =====  ========  =================  =======

Queue: OM items expected_p 0.25, pool new-positive rate 0.08 (model basis; mean_p 0.1 counts
incident-marked days too and is not used); KW items expected_p 0.10, no model (pool mean_p None,
incident rate 0.05): no random baseline, as random sampling's new-positive rate is unknown.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from labelbench.db.models import Label, ModelRun, QueueBuild, QueueItem, Sample
from labelbench.errors import InputError, NotFoundError
from labelbench.reports.weekly import WeeklyOptions
from labelbench.reports.weekly_render import render_html
from labelbench.services.batches import revert_batch
from labelbench.services.labelling import LabellingService
from labelbench.services.queue import build_queue
from labelbench.services.weekly import batch_report, weekly_report

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


@dataclass
class World:
    ana_batch: int
    bob_batch: int
    carl_batch: int


def _metrics(run_id: str, cand: dict[str, Any], prod: dict[str, Any] | None, **extra: Any) -> Any:
    return {
        "run_id": run_id,
        "promoted": True,
        "promotion_reason": "all promotion gates passed",
        "candidate": {"loco_median_f1": 0.86, "per_country": cand},
        "production": None if prod is None else {"loco_median_f1": 0.85, "per_country": prod},
        "deltas": extra.pop("deltas", {}),
        "batches": extra.pop("batches", []),
        "batches_not_attributed": [],
        **extra,
    }


def _add_run(
    ws: Any, tmp: Path, run_id: str, created: dt.datetime, batches: list[int], metrics: Any
) -> None:
    folder = tmp / "models" / run_id
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    with ws.transaction() as session:
        session.add(
            ModelRun(
                id=run_id,
                created_at=created,
                pipeline="base",
                engine="fast",
                metrics={},
                bundle_path=str(folder / "model.joblib"),
                sha256="0" * 64,
                alias=None,
                gates_passed=True,
                label_batches=batches,
            )
        )


def build_world(ws: Any, tmp: Path) -> World:
    ws.settings.queue.double_label_share = 1.0
    # random ranks the whole pool (hybrid's cold start serves no incident-positive day).
    build = build_queue(ws, actor="lead", countries=["OM", "KW"], size=40, strategy="random")
    with ws.transaction() as session:
        qb = session.get(QueueBuild, build.build_id)
        assert qb is not None
        qb.params = {
            **qb.params,
            "pool": {
                "OM": {"n": 40, "mean_p": 0.1, "new_p": 0.08, "incident_rate": 0.125},
                "KW": {"n": 37, "mean_p": None, "incident_rate": 0.05},
            },
        }
        for country, p in (("OM", 0.25), ("KW", 0.10)):
            session.execute(
                update(QueueItem).where(QueueItem.country == country).values(expected_p=p)
            )
        rows = session.execute(
            select(
                QueueItem.id,
                QueueItem.sample_id,
                QueueItem.country,
                QueueItem.purpose,
                Sample.incident_label,
            )
            .join(Sample, Sample.id == QueueItem.sample_id)
            .order_by(QueueItem.rank, QueueItem.id)
        ).all()
    primary = [r for r in rows if r.purpose == "primary"]
    second = {r.sample_id: r.id for r in rows if r.purpose == "second_opinion"}
    om0 = [(r.id, r.sample_id) for r in primary if r.country == "OM" and r.incident_label == 0]
    om1 = [(r.id, r.sample_id) for r in primary if r.country == "OM" and r.incident_label == 1]
    kw0 = [(r.id, r.sample_id) for r in primary if r.country == "KW" and r.incident_label == 0]
    assert len(om0) >= 10 and om1 and len(kw0) >= 5
    s = {f"s{i}": om0[i - 1] for i in (1, 2, 3, 4, 5, 6, 7, 9, 10)}
    s["s8"] = om1[0]
    k = {f"k{i}": kw0[i - 1] for i in range(1, 6)}
    times: dict[int, dt.datetime] = {}

    def decide(
        svc: LabellingService,
        item: tuple[int, int] | int,
        verdict: str,
        when: dt.datetime,
        seconds: float | None,
        *,
        queued: bool = True,
    ) -> int:
        item_id, sample_id = item if isinstance(item, tuple) else (item, item)
        label_id = svc.decide(
            sample_id,
            verdict,
            fingerprint_seen="seen",
            item_id=item_id if queued else None,
            seconds_spent=seconds,
        )
        times[label_id] = when
        return label_id

    ana = LabellingService(ws, "ana", countries=["OM", "KW"])
    ana.start(build_if_empty=False)
    decide(ana, s["s1"], "negative", at(10, 10), 30)
    decide(ana, s["s2"], "negative", at(10, 10, 5), 40)
    decide(ana, s["s3"], "positive", at(11, 9), 50)
    decide(ana, s["s4"], "positive", at(16), 20)
    decide(ana, s["s5"], "negative", at(17, 10), 10)
    decide(ana, s["s6"], "unsure", at(17, 10, 10), 60)
    decide(ana, s["s7"], "skip", at(17, 10, 20), None)
    decide(ana, s["s8"], "positive", at(18, 10), 30)
    decide(ana, s["s9"], "negative", at(18, 10, 50), None)
    assert ana.undo() == s["s9"][1]
    decide(ana, s["s9"], "negative", at(18, 11, 5), 25)
    decide(ana, s["s10"], "positive", at(23), 30)

    bob = LabellingService(ws, "bob", countries=["OM", "KW"])
    bob.start(build_if_empty=False)

    def second_opinion(key: str) -> tuple[int, int]:
        return second[s[key][1]], s[key][1]

    decide(bob, second_opinion("s4"), "positive", at(19, 9), 15)
    decide(bob, second_opinion("s5"), "positive", at(19, 9, 10), 35)
    decide(bob, second_opinion("s9"), "negative", at(19, 9, 20), 45)
    decide(bob, second_opinion("s6"), "negative", at(19, 9, 30), 20)
    decide(bob, k["k1"], "negative", at(20, 12), 10)
    decide(bob, k["k2"], "negative", at(21, 12), 10)
    decide(bob, k["k4"], "negative", at(22, 13), None, queued=False)
    decide(bob, k["k3"], "positive", at(22, 23, 59, 59), 10)

    carl = LabellingService(ws, "carl", countries=["KW"])
    carl.start(build_if_empty=False)
    decide(carl, k["k5"], "positive", at(18, 8), 5, queued=False)
    assert carl.batch_id is not None
    revert_batch(ws, carl.batch_id, reason="test")

    with ws.transaction() as session:
        for label_id, when in times.items():
            session.execute(update(Label).where(Label.id == label_id).values(created_at=when))
        session.execute(
            update(Label).where(Label.event == "retraction").values(created_at=at(18, 11))
        )
    assert ana.batch_id is not None and bob.batch_id is not None
    world = World(ana.batch_id, bob.batch_id, carl.batch_id)
    om = {"f1": 0.3, "n": 20, "positives": 5, "ci_low": 0.0, "ci_high": 0.6, "small_n": True}
    om2 = {"f1": 0.5, "n": 22, "positives": 7, "ci_low": 0.2, "ci_high": 0.8, "small_n": True}
    _add_run(ws, tmp, "run-1", at(14, 12), [], _metrics("run-1", {"OM": om}, None))
    _add_run(
        ws,
        tmp,
        "run-2",
        at(23, 3),
        [world.ana_batch, world.bob_batch],
        _metrics(
            "run-2",
            {"OM": om2},
            {"OM": om},
            deltas={
                "OM": {
                    "delta": 0.2,
                    "ci_low": -0.1,
                    "ci_high": 0.5,
                    "n": 22,
                    "small_n": True,
                    "status": "improved-within-noise",
                }
            },
            batches=[
                {
                    "batch_id": world.ana_batch,
                    "analyst": "ana",
                    "labels": 11,
                    "countries": ["OM"],
                    "delta_loco_median_f1": 0.01,
                    "ci_low": -0.02,
                    "ci_high": 0.04,
                    # What the code produces for an OM-only batch: LOCO never trains on OM
                    # when scoring OM, so the base pipeline leaves OM's LOCO F1 exactly as it was.
                    "country_deltas": {
                        "OM": {"delta": 0.0, "ci_low": 0.0, "ci_high": 0.0, "status": "flat"}
                    },
                }
            ],
        ),
    )
    return world


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, World]]:
    """One history per backend, shared by this module's tests (they only read it)."""
    from factories import load_world, tiny_world

    from labelbench.config import Settings
    from labelbench.db import migrate
    from labelbench.db.engine import make_engine
    from labelbench.services.features import build_features
    from labelbench.services.reference import sync_countries
    from labelbench.services.workspace import Workspace

    tmp = tmp_path_factory.mktemp("weekly")
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'weekly.db'}"
    else:
        if not request.getfixturevalue("pg_available"):
            pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
        pg_name = f"lbt_weekly_{os.getpid()}"
        _pg_admin(
            f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)', f'CREATE DATABASE "{pg_name}"'
        )
        url = f"{PG_URL.rsplit('/', 1)[0]}/{pg_name}"
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("LABELBENCH_")]:
            mp.delenv(key)
        settings = Settings(database_url=url, models_dir=tmp / "models")
    engine = make_engine(url)
    migrate.upgrade(engine)
    ws = Workspace(settings, engine)
    try:
        with ws.transaction() as session:
            sync_countries(session, settings)
        load_world(ws, tiny_world())
        build_features(ws)
        yield ws, build_world(ws, tmp)
    finally:
        ws.close()
        if pg_name:
            _pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


PG_URL = os.environ.get(
    "LABELBENCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_admin(*statements: str) -> None:
    import psycopg

    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)  # type: ignore[arg-type]


def approx(x: float) -> Any:
    return pytest.approx(x, abs=1e-6)


def by_country(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["country"]: r for r in report["countries"]}


def test_weekly_report_figures_match_hand_computation(world: tuple[Any, World]) -> None:
    ws, w = world
    report = weekly_report(ws, week="2026-W47", countries=["OM", "KW", "AE"], now=NOW)
    assert report["week"] == "2026-W47" and not report["empty"] and report["message"] is None
    assert report["start"] == "2026-11-16T00:00:00+00:00"
    assert report["end"] == "2026-11-23T00:00:00+00:00"
    assert report["interval_method"].startswith("Wilson")
    rows = by_country(report)
    assert list(rows) == ["AE", "KW", "OM"]  # sorted

    om = rows["OM"]  # L4-L8, L10 (ana) + L11-L14 (bob); L9 undone, L19 is W48
    assert (om["labels"], om["samples"], om["positives"]) == (10, 6, 4)
    # L8's positive only confirms an incident day: yield counts L4, L11, L12
    assert om["new_positive_labels"] == 3 and om["yield"] == approx(0.3)
    assert om["yield_ci"] == [approx(0.107791), approx(0.603222)]  # Wilson 3/10
    # days settled in W47: s4 new (+,+), s8 confirmed; s5, s6 disputed, s7 skipped, s9 negative
    assert (om["new_positives"], om["confirmed"], om["overturned"]) == (1, 1, 0)
    assert om["unsure_rate"] == approx(0.1) and om["skip_rate"] == approx(0.1)
    assert om["median_seconds"] == approx(25.0)  # 10 15 20 20 [25] 30 35 45 60 (L7 untimed)
    assert om["analysts"] == 2 and om["analyst_names"] == ["ana", "bob"]
    assert om["queued_labels"] == 10 and om["expected_covered"] == 10
    assert om["expected_positives"] == approx(10 * 0.25)
    assert om["random_expected_positives"] == approx(10 * 0.08)
    assert om["random_basis"] == "model: new-positive rate of the pool"
    assert om["lift_vs_random"] == approx(3 / 0.8)
    assert om["labels_since_last_positive"] == 2  # L12 positive, then L13, L14
    assert om["last_positive_at"] == "2026-11-19T09:10:00+00:00"
    assert om["cumulative_new_positives"] == 2  # s3, s4; s5 disputed, s8 incident-positive
    assert om["target"] == 25 and om["is_target"] and not om["at_target"]
    assert om["recent_labels"] == 13 and om["recent_yield"] is None  # window 20 not full

    cum = om["cumulative"]  # + L1-L3 of W46
    assert (cum["labels"], cum["samples"], cum["positives"]) == (13, 9, 5)
    assert cum["yield"] == approx(4 / 13)  # + L3
    assert cum["yield_ci"] == [approx(0.126807), approx(0.576307)]  # Wilson 4/13
    assert (cum["new_positives"], cum["confirmed"], cum["overturned"]) == (2, 1, 0)
    assert cum["unsure_rate"] == approx(1 / 13) and cum["skip_rate"] == approx(1 / 13)
    assert cum["median_seconds"] == approx(30.0)  # 12 timed labels, middle two 30 and 30
    assert cum["expected_positives"] == approx(13 * 0.25)
    assert cum["random_expected_positives"] == approx(13 * 0.08)

    kw = rows["KW"]  # L15-L18 by bob; carl's reverted C1 does not count
    assert (kw["labels"], kw["samples"], kw["positives"]) == (4, 4, 1)
    assert kw["yield"] == approx(0.25)
    assert kw["yield_ci"] == [approx(0.045587), approx(0.699358)]  # Wilson 1/4
    assert kw["unsure_rate"] == 0 and kw["skip_rate"] == 0
    assert kw["median_seconds"] == approx(10.0) and kw["analysts"] == 1
    assert kw["queued_labels"] == 3  # L18 was decided outside the queue
    assert kw["expected_positives"] == approx(3 * 0.10) and kw["expected_covered"] == 3
    assert kw["random_expected_positives"] is None and kw["random_basis"] is None
    assert kw["lift_vs_random"] is None
    assert kw["labels_since_last_positive"] == 0  # Sunday 23:59:59 positive is W47's last
    assert kw["cumulative_new_positives"] == 1 and kw["new_positives"] == 1
    assert kw["cumulative"]["labels"] == 4

    ae = rows["AE"]
    assert ae["labels"] == 0 and ae["yield"] is None and ae["yield_ci"] is None
    assert ae["cumulative"]["labels"] == 0 and ae["labels_since_last_positive"] == 0
    assert ae["expected_positives"] is None and ae["random_expected_positives"] is None

    totals = report["totals"]
    assert totals["week"]["labels"] == 14 and totals["week"]["positives"] == 5
    assert (totals["week"]["new_positives"], totals["week"]["confirmed"]) == (2, 1)
    assert totals["cumulative"]["labels"] == 17
    assert totals["week"]["random_basis"] == "model: new-positive rate of the pool"
    assert report["batches"] == [w.ana_batch, w.bob_batch]

    ag = report["agreement"]["week"]  # s4 (+,+), s5 (-,+), s9 (-,-); s6 (unsure,-) left out
    assert ag["double_labelled"] == 4 and ag["excluded_unsure_or_skip"] == 1
    o = ag["overall"]
    assert (o["pairs"], o["both_positive"], o["first_only_positive"]) == (3, 1, 0)
    assert (o["second_only_positive"], o["both_negative"]) == (1, 1)
    assert o["observed_agreement"] == approx(2 / 3)
    assert o["positive_agreement"] == approx(2 / 3)
    assert o["cohen_kappa"] == approx(0.4)  # pe = 1/3*2/3 + 2/3*1/3 = 4/9
    assert o["gwet_ac1"] == approx(1 / 3)  # pi = 1/2, pe = 1/2
    assert ag["per_country"] == {} and "overall only for OM" in ag["note"]
    assert report["agreement"]["cumulative"]["overall"]["pairs"] == 3

    (move,) = report["model_movement"]  # run-1 used no batch; run-2 used ana's and bob's
    assert move["run_id"] == "run-2" and move["batches_in_scope"] == [w.ana_batch, w.bob_batch]
    assert move["loco_median_f1"] == {"production": 0.85, "candidate": 0.86}
    (c,) = move["countries"]
    assert c["country"] == "OM" and c["production_f1"] == 0.3 and c["candidate_f1"] == 0.5
    assert c["production_ci"] == [0.0, 0.6] and c["candidate_ci"] == [0.2, 0.8]
    assert c["candidate_small_n"] is True and c["delta"] == 0.2 and c["delta_ci"] == [-0.1, 0.5]
    assert c["status"] == "improved-within-noise"
    (b,) = move["attribution"]
    assert b["batch_id"] == w.ana_batch and b["in_scope"] and b["ci"] == [-0.02, 0.04]
    assert b["delta_loco_median_f1"] == 0.01 and b["country_deltas"]["OM"]["delta"] == 0.0
    f1 = [(r["run_id"], r["country"], r["f1"]) for r in report["f1_history"]]
    assert f1 == [("run-1", "OM", 0.3), ("run-2", "OM", 0.5)]

    hist = {(h["week"], h["country"]): h for h in report["history"]}
    assert hist[("2026-W46", "OM")]["labels"] == 3
    assert hist[("2026-W46", "OM")]["cumulative_new_positives"] == 1
    assert hist[("2026-W47", "OM")]["yield"] == approx(0.3)
    assert ("2026-W45", "OM") not in hist  # history starts at the first labelled week

    recs = {r["country"]: r["action"] for r in report["recommendations"]}
    assert recs == {"AE": "not_started", "OM": "continue", "KW": "continue"}
    assert report["recommendations"][0]["country"] == "AE"
    json.dumps(report, allow_nan=False)


def test_recommendations_target_low_yield_and_agreement_per_country(
    world: tuple[Any, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, _ = world
    monkeypatch.setattr(ws.settings.queue, "goal_new_positives", 2)
    options = WeeklyOptions(low_yield=0.3, window=4, min_pairs=3)
    report = weekly_report(ws, week="2026-W47", countries=["OM", "KW", "AE"], options=options)
    rows = by_country(report)
    assert rows["OM"]["target"] == 2 and rows["OM"]["at_target"]
    assert rows["KW"]["recent_yield"] == approx(0.25)  # L15 L16 L18 L17: 1 of 4
    assert rows["KW"]["recent_yield_ci"] == [approx(0.045587), approx(0.699358)]
    assert rows["OM"]["recent_yield"] == approx(0.5)  # L11 L12 L13 L14
    recs = [(r["country"], r["action"]) for r in report["recommendations"]]
    assert recs == [("AE", "not_started"), ("KW", "low_yield"), ("OM", "at_target")]
    assert "stop, or switch strategy" in report["recommendations"][1]["message"]
    assert "2 of 2 new positives" in report["recommendations"][2]["message"]
    om = report["agreement"]["week"]["per_country"]["OM"]
    assert om["pairs"] == 3 and om["cohen_kappa"] == approx(0.4)
    assert report["agreement"]["week"]["note"] is None


def test_empty_week_and_later_weeks(world: tuple[Any, World]) -> None:
    ws, w = world
    report = weekly_report(ws, week="2026-W49", countries=["OM", "KW"])
    assert report["empty"] and report["message"] == (
        "no labels in 2026-W49 for KW, OM; the latest are in 2026-W48 (OM 1)"
    )
    rows = by_country(report)
    assert rows["OM"]["labels"] == 0 and rows["OM"]["yield"] is None
    assert rows["OM"]["cumulative"]["labels"] == 14  # L19 (Monday 00:00 of W48) is in now
    assert rows["OM"]["cumulative_new_positives"] == 3
    assert rows["OM"]["labels_since_last_positive"] == 0
    assert report["model_movement"] == [] and report["recommendations"]
    assert "No labels in 2026-W49 for KW, OM" in render_html(report)
    w48 = by_country(weekly_report(ws, week="2026-W48", countries=["OM"]))["OM"]
    assert (w48["labels"], w48["positives"]) == (1, 1)
    w46 = weekly_report(ws, week="2026-W46", countries=["OM"])
    assert by_country(w46)["OM"]["cumulative_new_positives"] == 1
    assert w46["agreement"]["week"]["double_labelled"] == 0
    (move,) = w46["model_movement"]  # run-2 also used ana's batch, which began in W46
    assert move["run_id"] == "run-2" and move["batches_in_scope"] == [w.ana_batch]
    default = weekly_report(ws, now=NOW)  # Wed of W48: the week to date
    assert default["week"] == "2026-W48" and default["to_date"]
    assert default["scope"] == ["KW", "OM"]  # the priority countries that have samples
    assert weekly_report(ws, now=NOW, last_week=True)["week"] == "2026-W47"
    wide = weekly_report(ws, now=NOW, countries=["all"])
    assert {"OM", "KW", "AE", "DE"} <= set(wide["scope"])


def test_batch_report(world: tuple[Any, World]) -> None:
    ws, w = world
    bob = batch_report(ws, w.bob_batch)
    assert bob["analyst"] == "bob" and bob["status"] == "open" and bob["note"] is None
    assert bob["verdicts"] == {"positive": 3, "negative": 5, "unsure": 0, "skip": 0}
    t = bob["totals"]
    assert (t["labels"], t["positives"]) == (8, 3) and t["yield"] == approx(3 / 8)
    assert t["yield_ci"] == [approx(0.136844), approx(0.694258)]  # Wilson 3/8
    assert t["median_seconds"] == approx(15.0)  # 10 10 10 [15] 20 35 45
    assert t["expected_positives"] == approx(4 * 0.25 + 3 * 0.10)
    assert t["random_expected_positives"] == approx(4 * 0.08)  # KW's build had no model
    assert t["random_basis"] == "model: new-positive rate of the pool"
    assert bob["first_label_at"] == "2026-11-19T09:00:00+00:00"
    assert bob["last_label_at"] == "2026-11-22T23:59:59+00:00"
    countries = {r["country"]: r for r in bob["by_country"]}
    assert countries["OM"]["verdicts"] == {"positive": 2, "negative": 2, "unsure": 0, "skip": 0}
    assert countries["KW"]["labels"] == 4 and countries["KW"]["positives"] == 1
    assert bob["included_in_runs"] == ["run-2"] and bob["attribution"] == []

    ana = batch_report(ws, w.ana_batch)
    assert ana["totals"]["labels"] == 10 and ana["retractions"] == 1  # L1-L8, L10, L19
    (a,) = ana["attribution"]
    assert a["run_id"] == "run-2" and a["delta_loco_median_f1"] == 0.01

    carl = batch_report(ws, w.carl_batch)
    assert carl["status"] == "reverted" and "no longer count" in carl["note"]
    assert carl["totals"]["labels"] == 1

    with pytest.raises(NotFoundError):
        batch_report(ws, 999_999)


def test_bad_inputs(world: tuple[Any, World]) -> None:
    ws, _ = world
    with pytest.raises(InputError):
        weekly_report(ws, week="2026-W54")
    with pytest.raises(InputError):
        weekly_report(ws, week="2026-W47", countries=["XX"])


def test_cli_json_on_the_history(
    world: tuple[Any, World], capsys: pytest.CaptureFixture[str]
) -> None:
    from labelbench.cli import main as entry
    from labelbench.cli import report

    ws, w = world
    added = None
    if not any(g.name == "report" for g in entry.app.registered_groups):
        entry.app.add_typer(report.app, name="report")
        added = entry.app.registered_groups[-1]
    try:
        url = ["--database-url", ws.settings.database_url]
        code = entry.main(
            [
                *url,
                "report",
                "weekly",
                "--week",
                "2026-W47",
                "--countries",
                "om,kw",
                "--format",
                "json",
            ]
        )
        out, err = capsys.readouterr()
        assert code == 0 and err == ""
        obj = json.loads(out)
        rows = {r["country"]: r for r in obj["countries"]}
        assert obj["week"] == "2026-W47" and set(rows) == {"KW", "OM"}
        assert (rows["OM"]["labels"], rows["OM"]["positives"]) == (10, 4)
        assert rows["KW"]["yield_ci"] == [approx(0.045587), approx(0.699358)]
        assert rows["OM"]["expected_positives"] == approx(2.5)
        assert rows["OM"]["random_expected_positives"] == approx(0.8)
        assert rows["OM"]["cumulative_new_positives"] == 2 and rows["OM"]["target"] == 25
        code = entry.main([*url, "report", "batch", str(w.bob_batch), "--format", "json"])
        out, _ = capsys.readouterr()
        assert code == 0 and json.loads(out)["totals"]["labels"] == 8
        assert entry.main([*url, "report", "batch", "999999"]) == 6
        assert entry.main([*url, "report", "batch", str(w.ana_batch)]) == 0
        assert "Labelling batch" in capsys.readouterr().out
    finally:
        if added is not None:
            entry.app.registered_groups.remove(added)
