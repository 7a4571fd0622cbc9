"""What a model or a research provider must answer for the week (SPEC §3), validated before it is
stored (the general council's answers, §6, are `llmtrade.schemas.qa`).

Each answer is the schema the model is given; a step adds identity and time to turn it into an event
payload (`llmtrade.schemas.payloads`). Rules that span fields (a direction that agrees with its
conviction) are validators here, so a model's answer that breaks them is repaired or recorded
as a failure, never stored as a decision.
"""

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


# --------------------------------------------------------------------------- research (§3.2)
class MacroRegime(Strict):
    risk_mode: Literal["risk_on", "risk_off", "mixed"]
    rates_impulse: Literal["rising", "falling", "stable"]
    usd_impulse: Literal["stronger", "weaker", "stable"]
    inflation_impulse: Literal["rising", "falling", "stable"]
    growth_impulse: Literal["accelerating", "slowing", "stable"]


class Narrative(Strict):
    name: ShortText
    why_it_moves_prices_this_week: ShortText
    key_catalysts_next_7d: list[ShortText]
    what_would_falsify_it: ShortText


class ConsensusMap(Strict):
    street_consensus: ShortText
    positioning_guess: ShortText
    what_market_is_priced_for: ShortText
    what_would_surprise: ShortText


class TradableCandidate(Strict):
    instrument: str
    directional_bias: Direction
    one_week_thesis: ShortText
    primary_risks: list[ShortText]
    watch_indicators: list[ShortText]
    invalidation_rule: ShortText


class CalendarEvent(Strict):
    date: str
    event: ShortText
    why_it_matters: ShortText


class ConfidenceNotes(Strict):
    known_unknowns: list[ShortText]
    data_quality_flags: list[ShortText]


class ResearchAnswer(Strict):
    """What a research provider must answer; the adapter adds identity, time and sources."""

    macro_regime: MacroRegime
    top_narratives: list[Narrative] = Field(min_length=1, max_length=5)
    consensus_map: ConsensusMap
    tradable_candidates: list[TradableCandidate] = Field(min_length=1)
    event_calendar_next_7d: list[CalendarEvent]
    confidence_notes: ConfidenceNotes


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
