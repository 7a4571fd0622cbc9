"""Calibration pooled across weeks (pure): does a higher conviction or a better peer review go with
a better realized decision return?

One sample per settled PM or council week with a position: its conviction, its decision return
and, for a PM, the peer-review scores of its pitch (overall and each of the 7 criteria). Per
conviction level: n, the mean decision return with its t interval, the direction hit rate. Per
score: Spearman's rho against the decision return with n and a Fisher-z interval. A week alone
holds only 4 pitches; pooling is what makes these say anything, and the intervals say how little.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from llmtrade.domain.statistics import mean_interval, spearman_interval
from llmtrade.schemas import PitchScores

OVERALL = "overall"
SCORES = [OVERALL, *PitchScores.model_fields]


@dataclass(frozen=True)
class Sample:
    conviction: int
    decision_return: float
    scores: Mapping[str, float] = field(default_factory=dict)  # none: not peer reviewed


class ConvictionLevel(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    conviction: int
    n: int
    mean_return: float | None
    ci95: list[float] | None
    hit_rate: float | None  # decision P/L > 0


class ScoreCorrelation(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    score: str
    n: int
    spearman: float | None
    ci95: list[float] | None


class Calibration(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    conviction: list[ConvictionLevel] = []
    scores: list[ScoreCorrelation] = []


def _level(conviction: int, returns: list[float]) -> ConvictionLevel:
    interval = mean_interval(returns)
    return ConvictionLevel(
        conviction=conviction, n=len(returns),
        mean_return=interval.estimate if interval else (returns[0] if returns else None),
        ci95=[interval.low, interval.high] if interval else None,
        hit_rate=sum(1 for r in returns if r > 0) / len(returns) if returns else None)


def _correlation(score: str, samples: list[Sample]) -> ScoreCorrelation:
    scored = [s for s in samples if score in s.scores]
    xs, ys = [s.scores[score] for s in scored], [s.decision_return for s in scored]
    interval = spearman_interval(xs, ys)
    return ScoreCorrelation(score=score, n=len(scored),
                            spearman=interval.estimate if interval else None,
                            ci95=[interval.low, interval.high] if interval else None)


def calibrate(samples: Iterable[Sample]) -> Calibration:
    positioned = [s for s in samples if s.conviction]
    levels = sorted({s.conviction for s in positioned})
    return Calibration(
        conviction=[_level(c, [s.decision_return for s in positioned if s.conviction == c])
                    for c in levels],
        scores=[_correlation(score, positioned) for score in SCORES])
