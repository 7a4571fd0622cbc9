"""A research provider's answer for the week (SPEC §3.2): regime, narratives, consensus,
candidates, calendar and confidence."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from llmtrade.schemas.basics import (
    Direction,
    ShortText,
    Strict,
)


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
