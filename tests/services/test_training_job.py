"""The baseline trains in a child process that reports progress and failures as JSON lines."""

from __future__ import annotations

import pytest

from labelbench.services.predict import Predictor
from labelbench.services.training_job import BaselineTrainer, TrainingFailedError, TrainingJob
from labelbench.services.workspace import Workspace


def test_the_child_trains_and_promotes_the_baseline(tiny_world_ws: Workspace) -> None:
    steps: list[tuple[int, int, str]] = []
    predictor = BaselineTrainer("ana")(tiny_world_ws, lambda d, t, s: steps.append((d, t, s)))
    assert isinstance(predictor, Predictor)
    assert Predictor.for_production(tiny_world_ws) is not None
    assert steps and max(d for d, _, _ in steps) > 0  # progress crossed the process boundary


def test_a_failing_child_reports_its_reason(workspace: Workspace) -> None:
    # a migrated database without samples: nothing to train on
    with pytest.raises(TrainingFailedError) as err:
        TrainingJob(workspace.settings, "ana").run()
    assert "no samples" in str(err.value)  # the child's own reason, not an exit status
