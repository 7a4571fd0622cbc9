"""Offline research: a research pack read off the simulated market's last five sessions.

Deterministic and labelled offline; it stands in for Perplexity, Gemini and the OpenRouter fallback
when no keys are used. Its candidates follow the week's biggest movers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from llmtrade.domain.calendar import ET, trading_days
from llmtrade.ports import MarketData
from llmtrade.schemas import (
    CalendarEvent,
    ConfidenceNotes,
    ConsensusMap,
    Direction,
    MacroRegime,
    Narrative,
    ResearchPack,
    ResearchStatus,
    TradableCandidate,
)


def _impulse(change: float, up: str, down: str, band: float = 0.3) -> str:
    return up if change > band else down if change < -band else "stable"


class OfflineResearch:
    name = "offline:simulated-market"

    def __init__(self, market: MarketData) -> None:
        self._market = market

    def start(self, week_id: str, asof: datetime) -> ResearchStatus:
        return ResearchStatus(state="completed", pack=self.produce(week_id, asof))

    def check(self, week_id: str, asof: datetime, handle: str) -> ResearchStatus:
        return self.start(week_id, asof)

    def cancel(self, handle: str) -> str:
        return "offline research runs nothing in the background"

    def produce(self, week_id: str, asof: datetime) -> ResearchPack:
        days = trading_days(asof.date() - timedelta(days=10), asof.date() - timedelta(days=1))[-5:]
        start = datetime.combine(days[0], datetime.min.time(), tzinfo=ET).replace(hour=9, minute=31)
        moves = {
            s: float(self._market.price(s, asof) / self._market.price(s, start) - 1) * 100
            for s in self._market.symbols
        }
        spy, tlt, uup = moves.get("SPY", 0.0), moves.get("TLT", 0.0), moves.get("UUP", 0.0)
        gold, oil = moves.get("GLD", 0.0), moves.get("USO", 0.0)
        regime = MacroRegime(
            risk_mode="risk_on" if spy > 0.5 else "risk_off" if spy < -0.5 else "mixed",
            rates_impulse=_impulse(-tlt, "rising", "falling"),
            usd_impulse=_impulse(uup, "stronger", "weaker"),
            inflation_impulse=_impulse((gold + oil) / 2, "rising", "falling", band=1.0),
            growth_impulse={"rising": "accelerating", "falling": "slowing"}.get(
                _impulse(spy, "rising", "falling"), "stable"),
        )
        movers = sorted(moves, key=lambda s: -abs(moves[s]))[:3]
        candidates = [
            TradableCandidate(
                instrument=s,
                directional_bias=Direction.LONG if moves[s] > 0 else Direction.SHORT,
                one_week_thesis=f"[offline] {s} moved {moves[s]:+.2f}% over five sessions;"
                                " momentum persists",
                primary_risks=[f"[offline] mean reversion in {s}"],
                watch_indicators=[f"[offline] {s} week return versus {moves[s] / 2:+.2f}%"],
                invalidation_rule=f"[offline] {s} gives back half of the move",
            )
            for s in movers
        ]
        return ResearchPack(
            week_id=week_id, asof_et=asof.astimezone(ET), research_source=self.name,
            macro_regime=regime,
            top_narratives=[Narrative(
                name=f"[offline] {movers[0]} leads the tape",
                why_it_moves_prices_this_week="[offline] simulated momentum across the universe",
                key_catalysts_next_7d=["[offline] no real catalysts: simulated market"],
                what_would_falsify_it=f"[offline] {movers[0]} reverses",
            )],
            consensus_map=ConsensusMap(
                street_consensus=f"[offline] regime reads {regime.risk_mode}",
                positioning_guess="[offline] unknown: simulated market",
                what_market_is_priced_for="[offline] continuation",
                what_would_surprise="[offline] a sharp reversal",
            ),
            tradable_candidates=candidates,
            event_calendar_next_7d=[CalendarEvent(
                date=asof.date().isoformat(), event="[offline] weekly run",
                why_it_matters="[offline] frozen research for the week")],
            confidence_notes=ConfidenceNotes(
                known_unknowns=["[offline] everything outside the simulation"],
                data_quality_flags=["offline: simulated prices, no real sources"]),
        )
