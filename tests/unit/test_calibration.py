"""Calibration pooled across weeks: conviction levels and peer-review scores vs decision return."""

from __future__ import annotations

import pytest
from llmtrade.domain.calibration import SCORES, Sample, calibrate


def test_levels_and_rank_correlations_are_pooled_with_n_and_intervals() -> None:
    samples = [Sample(2, 0.02, {"overall": 8.0, "clarity": 5.0}),
               Sample(2, -0.01, {"overall": 4.0, "clarity": 5.0}),
               Sample(1, 0.01, {"overall": 7.0}), Sample(-1, -0.02, {"overall": 3.0}),
               Sample(1, 0.005, {"overall": 6.0}), Sample(0, 0.5, {"overall": 9.0})]
    result = calibrate(samples)
    levels = {c.conviction: c for c in result.conviction}
    assert set(levels) == {-1, 1, 2}  # FLAT weeks make no call
    assert levels[2].n == 2 and levels[2].mean_return == pytest.approx(0.005)
    assert levels[2].hit_rate == 0.5 and levels[2].ci95 is not None
    assert levels[-1].n == 1 and levels[-1].ci95 is None and levels[-1].hit_rate == 0
    scores = {s.score: s for s in result.scores}
    assert list(scores) == SCORES and len(SCORES) == 8
    overall = scores["overall"]
    assert overall.n == 5 and overall.spearman == pytest.approx(1.0)
    assert overall.ci95 is not None and overall.ci95[0] < 1
    assert scores["clarity"].n == 2 and scores["clarity"].spearman is None
