"""The effective-label rules of the append-only label log."""

from __future__ import annotations

import datetime as dt

from labelbench.domain.labels import DISPUTED, LabelEvent, effective_label, effective_labels

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def ev(i: int, verdict: str, analyst: str = "ana", minutes: int = 0, **kw: object) -> LabelEvent:
    return LabelEvent(
        id=i,
        sample_id=kw.pop("sample_id", 1),  # type: ignore[arg-type]
        verdict=verdict,
        event=kw.pop("event", "decision"),  # type: ignore[arg-type]
        analyst=analyst,
        created_at=T0 + dt.timedelta(minutes=minutes or i),
        evidence_fingerprint=kw.pop("fp", "fp1"),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_no_events_no_label() -> None:
    assert effective_label([]) is None


def test_latest_decision_of_one_analyst_wins() -> None:
    got = effective_label([ev(1, "negative"), ev(2, "positive")])
    assert got is not None and got.verdict == "positive" and got.training_label == 1


def test_retraction_restores_previous_decision() -> None:
    got = effective_label(
        [ev(1, "negative"), ev(2, "positive"), ev(3, "positive", event="retraction", retracts_id=2)]
    )
    assert got is not None and got.verdict == "negative"


def test_retracting_the_only_decision_leaves_nothing() -> None:
    assert (
        effective_label([ev(1, "positive"), ev(2, "positive", event="retraction", retracts_id=1)])
        is None
    )


def test_two_analysts_disagreeing_is_disputed_until_adjudicated() -> None:
    events = [ev(1, "positive", "ana"), ev(2, "negative", "bob")]
    got = effective_label(events)
    assert got is not None and got.verdict == DISPUTED and got.training_label is None
    assert got.decided_by == ("ana", "bob")
    adjudicated = effective_label([*events, ev(3, "positive", "lead", event="adjudication")])
    assert adjudicated is not None and adjudicated.verdict == "positive"
    # a later ordinary decision does not override an adjudication
    later = effective_label(
        [*events, ev(3, "positive", "lead", event="adjudication"), ev(4, "negative", "bob")]
    )
    assert later is not None and later.verdict == "positive"


def test_agreeing_analysts_are_not_disputed() -> None:
    got = effective_label([ev(1, "positive", "ana"), ev(2, "positive", "bob")])
    assert got is not None and got.verdict == "positive"


def test_unsure_and_skip_are_excluded_from_training() -> None:
    for verdict in ("unsure", "skip"):
        got = effective_label([ev(1, verdict)])
        assert got is not None and got.training_label is None


def test_reverted_batches_do_not_count() -> None:
    got = effective_label([ev(1, "negative"), ev(2, "positive", reverted=True)])
    assert got is not None and got.verdict == "negative"


def test_fingerprint_is_the_one_the_decider_saw() -> None:
    got = effective_label([ev(1, "negative", fp="old"), ev(2, "positive", fp="new")])
    assert got is not None and got.evidence_fingerprint == "new"


def test_effective_labels_groups_by_sample() -> None:
    got = effective_labels([ev(1, "positive", sample_id=1), ev(2, "negative", sample_id=2)])
    assert {k: v.verdict for k, v in got.items()} == {1: "positive", 2: "negative"}


def test_second_opinion_unsure_disputes_rather_than_erases_a_positive() -> None:
    got = effective_label([ev(1, "positive", "ana"), ev(2, "unsure", "bo")])
    assert got is not None and got.verdict == DISPUTED and got.training_label is None


def test_second_opinion_skip_never_overrides_a_verdict() -> None:
    got = effective_label([ev(1, "positive", "ana"), ev(2, "skip", "bo")])
    assert got is not None and got.verdict == "positive" and got.training_label == 1


def test_one_analyst_changing_to_unsure_is_unsure() -> None:
    got = effective_label([ev(1, "positive", "ana"), ev(2, "unsure", "ana")])
    assert got is not None and got.verdict == "unsure"


def test_outcomes_count_new_positives_apart_from_confirmations() -> None:
    from labelbench.domain.labels import (
        CONFIRMED,
        NEGATIVE,
        NEW_POSITIVE,
        OVERTURNED,
        UNDECIDED,
        outcome,
    )

    assert outcome("positive", 0) == NEW_POSITIVE
    assert outcome("positive", 1) == CONFIRMED
    assert outcome("negative", True) == OVERTURNED
    assert outcome("negative", False) == NEGATIVE
    assert outcome(DISPUTED, 1) == UNDECIDED
    assert outcome(None, 1) is None


def test_day_outcomes_replay_the_log_and_select_a_batch() -> None:
    from labelbench.domain.labels import CONFIRMED, NEW_POSITIVE, UNDECIDED, day_outcomes

    events = [
        ev(1, "positive", sample_id=1, batch_id=7),  # new positive
        ev(2, "positive", sample_id=2, batch_id=7),  # confirms an incident day
        ev(3, "negative", "bob", sample_id=1, batch_id=8),  # bob disputes day 1 later
        ev(4, "negative", sample_id=3, batch_id=8),
    ]
    incident = {1: 0, 2: 1, 3: 0}
    now = day_outcomes(events, incident)
    assert {k: v.outcome for k, v in now.items()} == {1: UNDECIDED, 2: CONFIRMED, 3: "negative"}
    assert now[1].settled_at == events[2].created_at  # the week a report counts it in
    before = day_outcomes(events, incident, until=events[2].created_at)
    assert {k: v.outcome for k, v in before.items()} == {1: NEW_POSITIVE, 2: CONFIRMED}
    assert set(day_outcomes(events, incident, batch_id=8)) == {1, 3}


def test_a_lone_event_follows_the_rules_on_every_path() -> None:
    """Days with one event take a shortcut; it must agree with the rules (and with the same
    event seen through the general path, beside an event that cancels nothing)."""
    for kind in ("decision", "adjudication", "retraction"):
        for verdict in ("positive", "negative", "unsure", "skip"):
            for reverted in (False, True):
                lone = ev(5, verdict, event=kind, reverted=reverted)
                got = effective_label([lone])
                if reverted or kind == "retraction":
                    assert got is None
                    continue
                assert got is not None
                assert (
                    got.verdict,
                    got.decided_by,
                    got.evidence_fingerprint,
                    got.last_event_id,
                ) == (
                    verdict,
                    ("ana",),
                    "fp1",
                    5,
                )
                # the general path: a reverted earlier event changes nothing
                noise = ev(1, "positive", analyst="bo", reverted=True)
                assert effective_label([noise, lone]) == got
