"""Training the baseline model in a child process, so the labelling app never trains in its own.

Why a process and not a thread: LOCO folds run on loky worker processes, and loky hands each
worker the parent's stderr descriptor. Inside a running Textual app ``sys.stderr`` is a capture
object without a real descriptor, so in a real terminal every start failed with "bad value(s) in
fds_to_keep" and the app labelled on heuristics forever (Pilot tests never saw it: they do not
run in a terminal). A child process has its own stdio, whatever the terminal, SSH session or
redirection does to the app; it also keeps training's CPU-bound work off the app's interpreter.

Protocol: the parent writes the settings and the actor as JSON to the child's stdin; the child
prints one JSON object per line on stdout (``progress``, then ``done`` or ``error``) and keeps
its stderr in a log file under the models folder, whose last line becomes the reason when the
child dies without saying one. A child whose parent is killed keeps training and promotes its
model, so the next start of the app finds it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from labelbench.config import Settings
from labelbench.errors import LabelbenchError, ModelError

if TYPE_CHECKING:
    from labelbench.services.predict import Predictor
    from labelbench.services.workspace import Workspace

Progress = Callable[[int, int, str], None]
"""``progress(done, total, stage)``, called from the thread that waits for the child."""

LOG_NAME = "baseline-training.log"


class TrainingFailedError(ModelError):
    """The child process could not train a model; the message is its reason."""


class TrainingJob:
    """One baseline training in a child process; :meth:`run` blocks until it ends."""

    def __init__(self, settings: Settings, actor: str) -> None:
        self.settings = settings
        self.actor = actor
        self.log_path = Path(settings.models_dir) / LOG_NAME
        self._proc: subprocess.Popen[str] | None = None
        self._cancelled = threading.Event()

    def run(self, progress: Progress | None = None) -> str | None:
        """Train; the promoted run id (None when there was nothing to train on).

        Raises :class:`TrainingFailedError` with the child's reason when it fails or is cancelled.
        """
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(
            {"settings": self.settings.model_dump(mode="json"), "actor": self.actor}
        )
        with self.log_path.open("w", encoding="utf-8") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "labelbench.services.training_job"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,  # no SIGINT/SIGHUP from the analyst's terminal
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            if self._cancelled.is_set():
                self._proc.terminate()
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._proc.stdin.write(payload)
            self._proc.stdin.close()
            result = _follow(self._proc.stdout, progress)
            code = self._proc.wait()
        if self._cancelled.is_set():
            raise TrainingFailedError("training cancelled")
        if "error" in result:
            raise TrainingFailedError(str(result["error"]))
        if code != 0 or "run_id" not in result:
            reason = self._last_log_line() or f"training process exited with {code}"
            raise TrainingFailedError(reason)
        run_id = result["run_id"]
        return None if run_id is None else str(run_id)

    def cancel(self) -> None:
        """Stop the child (the app quits before training ended); :meth:`run` then raises."""
        self._cancelled.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()

    def _last_log_line(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return next((line.strip() for line in reversed(lines) if line.strip()), "")


class BaselineTrainer:
    """The labelling app's trainer: the production model, trained in a child if there is none.

    Callable as ``trainer(ws, progress) -> Predictor | None`` from a worker thread;
    :meth:`cancel` stops a training still running when the app quits.
    """

    def __init__(self, actor: str) -> None:
        self.actor = actor
        self._job: TrainingJob | None = None

    def __call__(self, ws: Workspace, progress: Progress | None = None) -> Predictor | None:
        from labelbench.services.predict import Predictor

        existing = Predictor.for_production(ws)
        if existing is not None:
            return existing
        self._job = TrainingJob(ws.settings, self.actor)
        self._job.run(progress)
        return Predictor.for_production(ws)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()


def _follow(stream: IO[str], progress: Progress | None) -> dict[str, Any]:
    """Relay the child's progress lines; the final ``done``/``error`` object."""
    final: dict[str, Any] = {}
    for line in stream:
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue  # a stray print from a library: not part of the protocol
        if not isinstance(msg, dict):
            continue
        if msg.get("event") == "progress" and progress is not None:
            progress(int(msg.get("done", 0)), int(msg.get("total", 0)), str(msg.get("stage", "")))
        elif msg.get("event") == "done":
            final = {"run_id": msg.get("run_id")}
        elif msg.get("event") == "error":
            final = {"error": msg.get("message") or "training failed"}
    return final


def _emit(obj: dict[str, Any]) -> None:
    """One protocol line; a parent that went away must not stop the training."""
    try:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass


def _child_main() -> int:
    """The child: train and promote the baseline unless production exists by now."""
    payload = json.loads(sys.stdin.read())
    settings = Settings(**payload["settings"])
    from labelbench.services.retrain import ensure_baseline
    from labelbench.services.workspace import open_workspace

    try:
        ws = open_workspace(settings)
    except LabelbenchError as exc:
        _emit({"event": "error", "message": str(exc)})
        return 1
    try:
        predictor = ensure_baseline(
            ws,
            progress=lambda done, total, stage: _emit(
                {"event": "progress", "done": done, "total": total, "stage": stage}
            ),
            actor=str(payload.get("actor") or "labelbench"),
        )
    except LabelbenchError as exc:
        _emit({"event": "error", "message": str(exc)})
        return 1
    finally:
        ws.close()
    _emit({"event": "done", "run_id": None if predictor is None else predictor.run_id})
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through TrainingJob in a subprocess
    sys.exit(_child_main())
