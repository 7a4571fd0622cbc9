"""What a PM and the chairman answer (SPEC §3.3-§3.5): a pitch with its indicators, a peer
review, the chairman's selected trade and monitoring plan."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from llmtrade.schemas.basics import (
    Conviction,
    Direction,
    Score,
    ShortText,
    Strict,
    direction_of,
)


def _check_direction(direction: Direction, conviction: int) -> None:
    if direction is not direction_of(conviction):
        raise ValueError(f"direction {direction.value} disagrees with conviction {conviction}")


# --------------------------------------------------------------------------- PM pitch (§3.3)
class Indicator(Strict):
    """A machine-checkable condition: `measure(instrument) comparison threshold`."""

    name: Annotated[str, Field(min_length=1, max_length=80)]
    measure: Literal["price", "week_return_pct"] = Field(
        description="price: last trade price in USD; week_return_pct: % change since the weekly run"
    )
    instrument: str
    comparison: Literal[">", ">=", "<", "<="]
    threshold: float
    role: Literal["confirms", "invalidates", "flips"] = Field(
        description="confirms: the thesis is playing out when this holds; "
                    "invalidates: exit when it holds; "
                    "flips: the opposite trade is right when this holds (reverse the position)"
    )


class PitchAnswer(Strict):
    """What a PM model must answer; the step adds identity and time to make a :class:`Pitch`."""

    instrument: str
    direction: Direction
    horizon: Literal["1w"] = "1w"
    thesis_bullets: list[ShortText] = Field(min_length=1, max_length=5)
    indicators: list[Indicator] = Field(min_length=1, max_length=5)
    invalidation: ShortText
    conviction: Conviction

    @model_validator(mode="after")
    def _coherent(self) -> PitchAnswer:
        _check_direction(self.direction, self.conviction)
        return self


# --------------------------------------------------------------------------- peer review (§3.4)
class PitchScores(Strict):
    clarity: Score
    edge_plausibility: Score
    timing_catalyst: Score
    risk_definition: Score
    indicator_integrity: Score
    originality: Score
    tradeability: Score

    def mean(self) -> float:
        scores: list[int] = list(self.model_dump().values())
        return sum(scores) / len(scores)


class PitchReview(Strict):
    scores: PitchScores
    best_argument_against: ShortText
    one_flip_condition: ShortText
    suggested_fix: ShortText


# --------------------------------------------------------------------------- chairman (§3.5)
class SelectedTrade(Strict):
    instrument: str
    direction: Direction
    horizon: Literal["1w"] = "1w"


class MonitoringPlan(Strict):
    checkpoints: list[str]
    key_indicators: list[ShortText]
    watch_conditions: list[ShortText]


class ChairmanAnswer(Strict):
    selected_trade: SelectedTrade
    conviction: Conviction
    rationale: ShortText
    dissent_summary: ShortText
    monitoring_plan: MonitoringPlan
    indicators: list[Indicator] = Field(
        min_length=1, max_length=5,
        description="the council trade's own frozen, machine-checkable conditions (as a pitch's), "
                    "read at every checkpoint")

    @model_validator(mode="after")
    def _coherent(self) -> ChairmanAnswer:
        _check_direction(self.selected_trade.direction, self.conviction)
        return self
