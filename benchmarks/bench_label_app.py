"""Keypress to next item rendered, inside the real Textual app (headless).

Complements `bench_label.py` (the worker's database and model work alone). The clock starts when
the app handles the `n` key (the decide action) and stops when the next item's view has been
rendered into every panel (the ItemShown handler returns). It starts from a production model
and a label log of 50,000 events (`--events`); key dispatch, the worker thread,
message passing and widget updates are included. The terminal paint follows on the next refresh
(Textual refreshes at up to 60 Hz, i.e. within ~17 ms). Pilot's own waiting is not counted: it
idles between steps and measures itself, not the app.

    python benchmarks/bench_label_app.py [--items 100] [--database-url URL] [--scale K]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from labelbench.config import Settings
from labelbench.services.demo import create_demo
from labelbench.services.queue import build_queue
from labelbench.services.retrain import ensure_baseline
from labelbench.services.workspace import Workspace, open_workspace
from labelbench.tui.app import create_app
from labelbench.tui.screens.label import LabelScreen

sys.path.insert(0, str(Path(__file__).parent))
from realistic import seed_label_log


class Clock:
    """Times decide-action -> next item rendered by wrapping the two screen methods."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.timings: list[float] = []
        self.rendered = asyncio.Event()
        decide, shown = LabelScreen.action_decide, LabelScreen.on_item_shown
        clock = self

        def action_decide(screen: LabelScreen, verdict: str) -> None:
            clock.started = time.perf_counter()
            decide(screen, verdict)

        def on_item_shown(screen: LabelScreen, message: Any) -> None:
            shown(screen, message)
            if clock.started is not None:
                clock.timings.append((time.perf_counter() - clock.started) * 1000)
                clock.started = None
            clock.rendered.set()

        LabelScreen.action_decide = action_decide  # type: ignore[method-assign]
        LabelScreen.on_item_shown = on_item_shown  # type: ignore[method-assign]


async def drive(ws: Workspace, items: int, clock: Clock) -> None:
    app = create_app(ws, analyst="bench-app", train_baseline=False)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, LabelScreen)
        deadline = time.monotonic() + 60
        while screen.shown is None:
            if time.monotonic() > deadline:
                raise SystemExit("the app showed no item within 60 s (empty queue?)")
            await pilot.pause(0.01)
        for _ in range(items):
            clock.rendered.clear()
            await pilot.press("n")
            # wait on the render itself: polling the app from the test would compete with it
            await asyncio.wait_for(clock.rendered.wait(), timeout=30)
            if screen.shown is None:
                break
            await pilot.pause()  # let the progress refresh of the previous decision settle
        await pilot.press("q")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="sqlite:///benchmarks/results/bench-label-app.db")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--events", type=int, default=50_000, help="label log length to start from")
    args = parser.parse_args()
    Path("benchmarks/results").mkdir(parents=True, exist_ok=True)
    settings = Settings(
        database_url=args.database_url, models_dir=Path("benchmarks/results/models-app")
    )
    create_demo(settings, scale=args.scale)
    ws = open_workspace(settings)
    ensure_baseline(ws)
    print(f"label log: {seed_label_log(ws, args.events):,} events")
    build_queue(ws, actor="bench", size=args.items + 20)
    clock = Clock()
    asyncio.run(drive(ws, args.items, clock))
    ws.close()
    timings = clock.timings
    if not timings:
        print("no items were served", file=sys.stderr)
        return 1
    ordered = sorted(timings)
    p95 = ordered[round(0.95 * (len(ordered) - 1))]
    print(f"{settings.safe_database_url}  scale {args.scale}  items {len(timings)}")
    print(
        f"key handled -> next item rendered: p50 {statistics.median(timings):.1f} ms  "
        f"p95 {p95:.1f} ms  max {max(timings):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
