"""Crash safety: confirmed labels survive a kill, and the next start resumes the same batch."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from tui_helpers import ANALYST, batches, labels, run_async, settle

from labelbench.config import Settings
from labelbench.services.labelling import LabellingService
from labelbench.services.workspace import Workspace, open_workspace
from labelbench.tui.app import create_app
from labelbench.tui.screens.label import LabelScreen

HERE = Path(__file__).parent


@run_async
async def test_restart_after_a_crash_resumes_the_batch_and_the_claimed_item(
    tui_ws: Workspace,
) -> None:
    app = create_app(tui_ws, analyst=ANALYST, train_baseline=False, retry_delays=(0.0,))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LabelScreen) and screen.shown is not None
        on_screen = screen.shown.sample_id
        batch_id = screen.batch_id
    # the app went away without `q` (as in a crash): the batch is still open
    assert [b.status for b in batches(tui_ws)] == ["open"]

    again = create_app(tui_ws, analyst=ANALYST, train_baseline=False, retry_delays=(0.0,))
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = again.screen
        assert isinstance(screen, LabelScreen) and screen.shown is not None
        assert screen.batch_id == batch_id
        assert "resumed" in screen.sub_title
        assert screen.shown.sample_id == on_screen
    assert len(batches(tui_ws)) == 1
    assert len(labels(tui_ws, ANALYST)) == 1


def _read_lines(proc: subprocess.Popen[str], want: int, timeout: float) -> list[str]:
    """Read stdout lines until ``want`` of them arrived (fails after ``timeout`` seconds)."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while len(lines) < want:
        left = deadline - time.monotonic()
        assert left > 0, f"subprocess too slow; got {lines}"
        if sel.select(left):
            line = proc.stdout.readline()
            assert line, f"subprocess ended early; got {lines}"
            lines.append(line.strip())
    return lines


def test_sigkill_mid_session_loses_no_confirmed_label(
    tui_settings: Settings, tmp_path: Path
) -> None:
    k = 3
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)])}
    proc = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "kill_session_script.py"),
            tui_settings.database_url,
            ANALYST,
            str(k),
        ],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        stderr=(tmp_path / "child.err").open("w"),
        text=True,
        env=env,
    )
    try:
        lines = _read_lines(proc, k, timeout=120)  # generous: shared, loaded CI cores
    except AssertionError:
        print((tmp_path / "child.err").read_text()[-3000:])
        raise
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    decided = [int(line.split()[1]) for line in lines]
    shown = int(lines[-1].split()[3])
    assert len(decided) == k

    ws = open_workspace(tui_settings)
    try:
        stored = labels(ws, ANALYST)
        assert [(lab.sample_id, lab.verdict) for lab in stored] == [
            (s, "positive") for s in decided
        ]
        service = LabellingService(ws, ANALYST)
        info = service.start()
        assert info.resumed
        assert info.batch_id == stored[0].batch_id
        first = service.next_item()
        assert first is not None and first.sample_id == shown
        assert service.progress().decisions == k
    finally:
        ws.close()
