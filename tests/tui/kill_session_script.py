"""Run by test_kill_resume.py in a subprocess: label through the real app, then wait to be killed.

Usage: python kill_session_script.py DATABASE_URL ANALYST K
Prints ``DECIDED <sample_id> SHOWN <next sample_id>`` after each committed decision, then blocks
forever (until the test kills it).
"""

from __future__ import annotations

import asyncio
import sys

from tui_helpers import settle

from labelbench.config import Settings
from labelbench.services.workspace import open_workspace
from labelbench.tui.app import create_app
from labelbench.tui.screens.label import LabelScreen


async def main(url: str, analyst: str, k: int) -> None:
    ws = open_workspace(Settings(database_url=url))
    app = create_app(ws, analyst=analyst, train_baseline=False, retry_delays=(0.0,))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LabelScreen)
        for _ in range(k):
            assert screen.shown is not None
            sample_id = screen.shown.sample_id
            await pilot.press("y")
            await settle(pilot)
            assert screen.shown is not None
            print(f"DECIDED {sample_id} SHOWN {screen.shown.sample_id}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
