"""The real `labelbench label` in a pseudo-terminal, as analysts run it over SSH.

Pilot runs the app without a terminal, and so it never saw the baseline model fail to train in a
real one (loky could not start its workers from inside Textual). Here the installed entry point
runs on a pty of 200x55, the screen is rebuilt with a terminal emulator (pyte), keys are typed as
bytes, and the database is the witness: a model is trained and promoted, the queue is rebuilt on
it, decisions are stored, and a kill -9 loses nothing that was confirmed.
"""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyte
import pytest
from sqlalchemy import func, select

from labelbench.db.models import Label, QueueBuild
from labelbench.services.registry import run_for_alias
from labelbench.services.workspace import Workspace

COLS, ROWS = 200, 55


class Terminal:
    """A child process on a pty whose screen is kept up to date by a reader thread."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.lock = threading.Lock()
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABELBENCH_")}
        env.update(TERM="xterm-256color", COLUMNS=str(COLS), LINES=str(ROWS))
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env,
            start_new_session=True,  # the pty becomes its controlling terminal, as with sshd
        )
        os.close(slave)
        self.master = master
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.stream.feed(data)

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.screen.display)

    def press(self, key: str) -> None:
        os.write(self.master, key.encode())

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if self.proc.poll() is not None:
                pytest.fail(
                    f"app exited ({self.proc.returncode}) waiting for {what}:\n{self.text()}"
                )
            time.sleep(0.2)
        pytest.fail(f"timed out waiting for {what}; the screen:\n{self.text()}")

    def item_line(self) -> str:
        """The header line naming the served country-day."""
        with self.lock:
            return self.screen.display[1]

    def decide(self, key: str, count: Callable[[], int]) -> None:
        """Type a verdict and wait until it is stored and the next item is on screen."""
        before, item = count(), self.item_line()
        self.press(key)
        self.wait_for("a stored decision", lambda: count() == before + 1, timeout=30)
        self.wait_for("the next item", lambda: self.item_line() != item, timeout=30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


@pytest.fixture
def app_in_terminal(tiny_world_ws: Workspace, tmp_path: Path) -> Iterator[Terminal]:
    ws = tiny_world_ws
    exe = Path(sys.executable).with_name("labelbench")
    argv = [
        str(exe),
        "--database-url",
        ws.settings.database_url,
        "--models-dir",
        str(ws.settings.models_dir),
        "label",
        "--analyst",
        "ana",
    ]
    term = Terminal(argv, cwd=tmp_path)
    try:
        yield term
    finally:
        term.kill()


def _count_labels(ws: Workspace) -> int:
    with ws.transaction(readonly=True) as session:
        return int(
            session.scalar(select(func.count()).select_from(Label).where(Label.analyst == "ana"))
            or 0
        )


def _production(ws: Workspace) -> str | None:
    with ws.transaction(readonly=True) as session:
        run = run_for_alias(session, "production")
        return None if run is None else run.id


def _queue_model(ws: Workspace) -> str | None:
    with ws.transaction(readonly=True) as session:
        return session.scalar(
            select(QueueBuild.model_run_id).order_by(QueueBuild.id.desc()).limit(1)
        )


def test_the_app_trains_its_model_in_a_real_terminal_and_a_kill_loses_nothing(
    app_in_terminal: Terminal, tiny_world_ws: Workspace
) -> None:
    term, ws = app_in_terminal, tiny_world_ws
    term.wait_for("the first item", lambda: "why:" in term.text(), timeout=60)
    assert "no model yet" in term.text()

    # label while the baseline trains in its own process
    term.decide("y", lambda: _count_labels(ws))

    term.wait_for("a promoted baseline", lambda: _production(ws) is not None, timeout=180)
    run_id = _production(ws)
    assert run_id is not None
    term.wait_for(
        "the model in the panel", lambda: f"model {run_id[:20]}" in term.text(), timeout=60
    )
    assert "training failed" not in term.text()
    # the served item is re-scored by the new model (keys are dropped while that is in flight)
    term.wait_for("the item re-scored", lambda: "cluster head" in term.text(), timeout=60)
    assert _queue_model(ws) == run_id  # the queue now follows the model

    for key in ("n", "y"):
        term.decide(key, lambda: _count_labels(ws))
    confirmed = _count_labels(ws)
    assert confirmed == 3

    term.kill()  # kill -9 while an item is on screen: what was confirmed stays
    assert _count_labels(ws) == confirmed
