"""`simulate` text output: verdicts only where the interval supports them, no false precision."""

from __future__ import annotations

from labelbench.cli.simulate import verdicts, with_ci


def test_intervals_of_zero_width_or_one_run_are_not_printed_as_precise() -> None:
    assert with_ci(52.5, [52.5, 52.5], 1) == "52.5 (same in every run)"
    assert with_ci(52.5, [None, None], 1) == "52.5 (one run: no interval)"
    assert with_ci(52.5, [48.1, 57.0], 1) == "52.5 [48.1, 57.0]"
    assert with_ci(0.0712, [0.06, 0.08], 3, sign=True) == "+0.071 [0.060, 0.080]"
    assert with_ci(None, [None, None], 1) == "-"


def test_a_verdict_needs_an_interval_above_one() -> None:
    strategies = {
        "hybrid": {"vs_random": 3.4, "vs_random_ci": [2.9, 3.9]},
        "margin": {"vs_random": 1.1, "vs_random_ci": [0.8, 1.4]},
        "seed": {"vs_random": 2.0, "vs_random_ci": [None, None]},
        "random": {},
        "oracle": {"vs_random": 17.0, "vs_random_ci": [12.0, 21.0]},
    }
    assert verdicts(strategies) == [
        "hybrid beats random: 3.4x [2.9, 3.9]",
        "margin does not clearly beat random: 1.1x [0.8, 1.4]",
        "seed vs random: 2.0x (one run: no interval, no verdict)",
    ]
