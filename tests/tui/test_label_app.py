"""Pilot tests of the labelling screen: every key, the guards, and failure handling."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from textual.widgets import Input, Static
from tui_helpers import ANALYST, batches, labels, run_async, screen_text, settle

from labelbench.config import Settings
from labelbench.errors import ConfigError, DatabaseError
from labelbench.services.item_view import SampleView
from labelbench.services.labelling import LabellingService
from labelbench.services.workspace import Workspace
from labelbench.tui.app import create_app
from labelbench.tui.messages import ConnectionLost, TrainingProgress
from labelbench.tui.screens.dialogs import HelpScreen
from labelbench.tui.screens.label import LabelScreen
from labelbench.tui.summary import SessionSummary

SIZE = (130, 42)


def make_app(ws: Workspace, **kwargs: Any):  # type: ignore[no-untyped-def]
    kwargs.setdefault("train_baseline", False)
    kwargs.setdefault("retry_delays", (0.0,))
    return create_app(ws, analyst=kwargs.pop("analyst", ANALYST), **kwargs)


def screen(app: Any) -> LabelScreen:
    assert isinstance(app.screen, LabelScreen), app.screen
    return app.screen


def shown(app: Any) -> SampleView:
    view = screen(app).shown
    assert view is not None
    return view


@run_async
async def test_positive_label_records_the_fingerprint_seen_and_serves_the_next_item(
    tui_ws: Workspace,
) -> None:
    app = make_app(tui_ws)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = shown(app)
        assert first.item is not None
        await pilot.press("y")
        await settle(pilot)
        second = shown(app)
        assert second.sample_id != first.sample_id
        [label] = labels(tui_ws, ANALYST)
        assert (label.sample_id, label.verdict, label.event) == (
            first.sample_id,
            "positive",
            "decision",
        )
        assert label.evidence_fingerprint == first.fingerprint
        assert label.seconds_spent is not None and label.seconds_spent >= 0
        assert screen(app).history[-1].sample_id == first.sample_id
        progress = screen_text(app.query_one("#progress-text", Static))
        assert "decided 1" in progress


@run_async
async def test_keys_while_a_decision_is_in_flight_do_not_decide_twice(tui_ws: Workspace) -> None:
    app = make_app(tui_ws)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = shown(app)
        scr = screen(app)
        scr.action_decide("positive")  # starts the worker; busy is set synchronously
        scr.action_decide("negative")  # dropped
        scr.action_undo()  # dropped
        await settle(pilot)
        decided = labels(tui_ws, ANALYST)
        assert [(lab.sample_id, lab.verdict) for lab in decided] == [(first.sample_id, "positive")]


@run_async
async def test_undo_retracts_and_serves_the_item_again(tui_ws: Workspace) -> None:
    app = make_app(tui_ws)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = shown(app)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("z")
        await settle(pilot)
        assert shown(app).sample_id == first.sample_id
        assert screen(app).history == []
        events = [(lab.event, lab.verdict) for lab in labels(tui_ws, ANALYST)]
        assert events == [("decision", "negative"), ("retraction", "negative")]
        await pilot.press("y")
        await settle(pilot)
        assert labels(tui_ws, ANALYST)[-1].verdict == "positive"
        assert shown(app).sample_id != first.sample_id


@run_async
async def test_skip_is_logged_and_moves_on(tui_ws: Workspace) -> None:
    app = make_app(tui_ws)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = shown(app)
        await pilot.press("s")
        await settle(pilot)
        assert shown(app).sample_id != first.sample_id
        [label] = labels(tui_ws, ANALYST)
        assert (label.sample_id, label.verdict) == (first.sample_id, "skip")


@run_async
async def test_note_and_url_attach_to_the_next_decision(tui_ws: Workspace) -> None:
    app = make_app(tui_ws)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = shown(app)
        await pilot.press("e")
        await pilot.pause()
        await pilot.press(*"dns")
        await pilot.press("enter")  # to the URL field
        await pilot.press(*"u.rl")
        await pilot.press("enter")  # save
        await pilot.pause()
        assert isinstance(app.screen, LabelScreen)
        assert "note attached" in screen_text(app.query_one("#item-header", Static))
        await pilot.press("y")
        await settle(pilot)
        [label] = labels(tui_ws, ANALYST)
        assert label.sample_id == first.sample_id
        assert (label.note, label.citation_url) == ("dns", "u.rl")
        assert screen(app).notes == {}


@run_async
async def test_escape_cancels_the_note_dialog(tui_ws: Workspace) -> None:
    app = make_app(tui_ws)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e", "x", "escape")
        await pilot.pause()
        assert screen(app).notes == {}


@run_async
async def test_left_and_right_walk_through_this_sessions_decisions(tui_ws: Workspace) -> None:
    app = make_app(tui_ws)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        decided = []
        for key in ("y", "n"):
            decided.append(shown(app).sample_id)
            await pilot.press(key)
            await settle(pilot)
        live = shown(app).sample_id
        await pilot.press("left")
        await settle(pilot)
        assert shown(app).sample_id == decided[1]
        assert shown(app).current_verdict == "negative"
        assert "decided earlier (2/2)" in screen_text(app.query_one("#item-header", Static))
        await pilot.press("left")
        await settle(pilot)
        assert shown(app).sample_id == decided[0]
        await pilot.press("left")  # already the first: stays
        await settle(pilot)
        assert shown(app).sample_id == decided[0]
        # deciding again records a new decision and moves right
        await pilot.press("u")
        await settle(pilot)
        assert shown(app).sample_id == decided[1]
        assert [lab.verdict for lab in labels(tui_ws, ANALYST)] == [
            "positive",
            "negative",
            "unsure",
        ]
        assert screen(app).history[0].verdict == "unsure"
        await pilot.press("right")
        await settle(pilot)
        assert shown(app).sample_id == live
        assert screen(app).cursor is None


@run_async
async def test_country_filter_restricts_the_queue(tui_ws: Workspace) -> None:
    app = make_app(tui_ws, countries=["all"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shown(app).country != "OM"
        await pilot.press("slash")
        await pilot.pause()
        field = app.screen.query_one("#filter-input", Input)
        field.value = ""
        await pilot.press(*"om", "enter")
        await settle(pilot)
        assert screen(app).targets == ["OM"]
        for _ in range(2):  # OM holds 3 of the 25 items served to all 8 countries
            assert shown(app).country == "OM"
            await pilot.press("n")
            await settle(pilot)
        # an unknown code is refused with a notification; the session keeps serving
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one("#filter-input", Input).value = ""
        await pilot.press(*"XX", "enter")
        await settle(pilot)
        assert screen(app).targets == ["OM"]
        assert shown(app).country == "OM"
        assert any("XX" in n.message for n in app._notifications)


@run_async
async def test_quit_closes_the_batch_and_returns_the_summary(tui_ws: Workspace) -> None:
    app = make_app(tui_ws)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)
    summary = app.return_value
    assert isinstance(summary, SessionSummary)
    assert summary.closed and summary.decisions_this_run == 1
    assert summary.progress is not None and summary.progress.decisions == 1
    [batch] = batches(tui_ws)
    assert batch.status == "closed"


@run_async
async def test_help_lists_the_keys_as_configured(tui_settings: Settings) -> None:
    from labelbench.services.workspace import open_workspace

    settings = tui_settings.model_copy(update={"keys": {"positive": "1", "negative": "0"}})
    ws = open_workspace(settings)
    try:
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            first = shown(app)
            await pilot.press("y")  # no longer bound
            await settle(pilot)
            assert labels(ws, ANALYST) == []
            await pilot.press("1")
            await settle(pilot)
            assert [(lab.sample_id, lab.verdict) for lab in labels(ws, ANALYST)] == [
                (first.sample_id, "positive")
            ]
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            text = screen_text(app.screen.query_one("#help-keys", Static))
            assert "1  " in text and "Censorship event" in text
            assert "0  " in text
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, LabelScreen)
    finally:
        ws.close()


def test_unknown_key_action_is_a_config_error(tui_settings: Settings) -> None:
    from labelbench.services.workspace import open_workspace

    ws = open_workspace(tui_settings.model_copy(update={"keys": {"positve": "1"}}))
    try:
        with pytest.raises(ConfigError, match="positve"):
            make_app(ws)
    finally:
        ws.close()


@run_async
async def test_too_small_terminal_collapses_panels_and_keys_still_work(tui_ws: Workspace) -> None:
    app = make_app(tui_ws)
    async with app.run_test(size=(60, 18)) as pilot:
        await settle(pilot)
        scr = screen(app)
        assert scr.has_class("-compact")
        notice = app.query_one("#size-notice", Static)
        assert notice.display and "60x18" in screen_text(notice)
        assert not app.query_one("#features").display
        first = shown(app)
        await pilot.press("y")
        await settle(pilot)
        assert [lab.sample_id for lab in labels(tui_ws, ANALYST)] == [first.sample_id]
        await pilot.resize_terminal(130, 42)
        await settle(pilot)
        assert not scr.has_class("-compact")
        assert app.query_one("#features").display


class FlakyService(LabellingService):
    """Loses the database connection on the first ``next_item`` call."""

    failures = 1

    def next_item(self, *, skip_items: Any = ()) -> SampleView | None:
        if self.failures:
            self.failures -= 1
            raise DatabaseError("database error on sqlite:///x: connection lost")
        return super().next_item(skip_items=skip_items)


@run_async
async def test_lost_connection_is_retried_with_a_clear_message(tui_ws: Workspace) -> None:
    seen: list[object] = []
    app = make_app(tui_ws, service=FlakyService(tui_ws, ANALYST))
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await settle(pilot)
        lost = [m for m in seen if isinstance(m, ConnectionLost)]
        assert len(lost) == 1 and "connection lost" in lost[0].error
        assert shown(app).item is not None  # the retry served the item
        assert not app.query_one("#notice").display  # banner cleared on success
        assert any("restored" in n.message for n in app._notifications)
        assert not any(n.severity == "error" for n in app._notifications)


@run_async
async def test_lost_claim_is_announced_and_the_decision_refused(tui_ws: Workspace) -> None:
    app = make_app(tui_ws)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = shown(app)
        assert first.item is not None
        # the lease runs out and another analyst claims the item
        LabellingService(tui_ws, ANALYST).release(first.item.item_id)
        bob = LabellingService(tui_ws, "bob")
        bob.start()
        taken = bob.next_item()
        assert taken is not None and taken.sample_id == first.sample_id
        screen(app).renew_lease()
        await settle(pilot)
        notice = app.query_one("#notice", Static)
        assert notice.display and "claim" in screen_text(notice)
        await pilot.press("y")
        await settle(pilot)
        assert labels(tui_ws, ANALYST) == []
        assert shown(app).sample_id != first.sample_id


class FakePredictor:
    run_id = "baseline-test"

    def predict_display(self, rows: Any) -> list[tuple[dict[str, float | None], float]]:
        return [({"base": 0.8, "cluster": 0.7, "stack": 0.9, "final": 0.9}, 0.4)] * len(rows)


@run_async
async def test_baseline_trains_in_the_background_and_the_app_switches_to_it(
    tui_ws: Workspace,
) -> None:
    calls: list[str] = []

    def fake_ensure_baseline(ws: Workspace, progress: Any = None) -> FakePredictor:
        calls.append("called")
        assert progress is not None
        for k in range(1, 4):
            progress(k, 3, f"fold {k}")
        return FakePredictor()

    seen: list[object] = []
    app = make_app(tui_ws, train_baseline=True, ensure_baseline=fake_ensure_baseline)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await settle(pilot)
        assert calls == ["called"]
        steps = [(m.done, m.total) for m in seen if isinstance(m, TrainingProgress)]
        assert (3, 3) in steps
        assert "model baseline-test" in screen_text(app.query_one("#training-text", Static))
        assert shown(app).probabilities["final"] == 0.9  # the shown item was re-scored
        assert "90%" in screen_text(app.query_one("#probs", Static))
        await pilot.press("y")
        await settle(pilot)
        assert shown(app).probabilities["stack"] == 0.9  # the next item too


@run_async
async def test_a_decision_key_during_the_rescore_after_training_is_kept(
    tui_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The item stays on screen while a new model re-scores it: its key must not be lost."""
    trained, rescore = threading.Event(), threading.Event()
    real_view = LabellingService.view_sample

    def slow_view(self: LabellingService, sample_id: int) -> SampleView:
        assert rescore.wait(20)
        return real_view(self, sample_id)

    monkeypatch.setattr(LabellingService, "view_sample", slow_view)

    def fake_ensure_baseline(ws: Workspace, progress: Any = None) -> FakePredictor:
        assert trained.wait(20)  # finish only once the first item is on screen
        return FakePredictor()

    app = make_app(tui_ws, train_baseline=True, ensure_baseline=fake_ensure_baseline)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(100):
            await pilot.pause(0.02)
            if screen(app).shown is not None:
                break
        first = shown(app)
        trained.set()
        for _ in range(200):
            await pilot.pause(0.02)
            if screen(app).refreshing:
                break
        assert screen(app).refreshing
        await pilot.press("n")  # while the shown item is re-scored
        await pilot.press("y")  # a second key would decide an item not yet seen: dropped
        assert labels(tui_ws, ANALYST) == []
        rescore.set()
        await settle(pilot)
        decided = labels(tui_ws, ANALYST)
        assert [(lab.sample_id, lab.verdict) for lab in decided] == [(first.sample_id, "negative")]
        assert shown(app).sample_id != first.sample_id


@run_async
async def test_no_train_flag_never_trains(tui_ws: Workspace) -> None:
    def boom(ws: Workspace, progress: Any = None) -> None:
        raise AssertionError("must not train")

    app = make_app(tui_ws, train_baseline=False, ensure_baseline=boom)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "evidence heuristics" in screen_text(app.query_one("#training-text", Static))


@run_async
async def test_a_failed_training_shows_its_reason_and_t_retries(tui_ws: Workspace) -> None:
    from labelbench.services.training_job import TrainingFailedError

    attempts: list[int] = []

    def flaky(ws: Workspace, progress: Any = None) -> FakePredictor:
        attempts.append(1)
        if len(attempts) == 1:
            raise TrainingFailedError("MemoryError: the machine ran out of memory")
        return FakePredictor()

    app = make_app(tui_ws, train_baseline=True, ensure_baseline=flaky)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app.query_one("#training-text", Static))
        assert "training failed: MemoryError" in text and "t retries" in text
        await pilot.press("t")
        await settle(pilot)
        assert len(attempts) == 2
        assert "model baseline-test" in screen_text(app.query_one("#training-text", Static))
