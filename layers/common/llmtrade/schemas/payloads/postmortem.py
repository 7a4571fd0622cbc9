"""Evaluation (SPEC §5): each account's week settled at the next weekly run, the week across
accounts, and the virtual accounts (benchmarks, shadow councils) marked from market data.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, model_validator

from llmtrade.schemas.basics import AccountKind, Direction, Strict


class Postmortem(Strict):
    """An account's week, settled at the next weekly run: P/L is the broker's equity change (§5)."""

    week_id: str
    account_id: str
    kind: AccountKind
    model: str | None = Field(description="the configured model (PM or chairman); None for FLAT")
    settled_at: datetime = Field(description="the moment of equity_end (the next weekly run)")
    equity_start: Decimal = Field(description="at the week's run, from its week_open snapshot")
    equity_end: Decimal
    pnl: Decimal
    pnl_pct: float
    pnl_vs_flat: Decimal
    instrument: str | None
    direction: Direction
    conviction: int
    final_conviction: int = Field(description="after the week's checkpoints")
    indicators_fired: list[str] = Field(
        description="frozen indicators that fired at any checkpoint (while in force)")
    invalidation_fired: bool = Field(description="an `invalidates` indicator fired")
    flipped: bool = Field(default=False, description="a checkpoint FLIPped the position (a `flips` "
                          "indicator fired; settled before this field: False)")
    thesis_played_out: bool | None = Field(
        description="the instrument moved the position's way; None when FLAT")
    review_score: float | None = Field(
        description="peer-review overall of its pitch (the council: the picked idea)")
    llm_cost_usd: Decimal
    notes: str = ""
    # added by the decision/carry split; events stored before it read carry 0, decision = pnl
    carry_pnl: Decimal = Field(
        default=Decimal(0),
        description="last week's position from the run's mark until closed or re-entered")
    decision_pnl: Decimal = Field(
        default=Decimal(0),  # never used: the validator below fills pnl - carry_pnl when absent
        description="this week's trade from its entry: pnl - carry_pnl, to the cent")
    checkpoint_equity: list[Decimal] = Field(
        default=[], description="equity marked at each checkpoint moment (intra-week path)")
    traded_usd: Decimal = Field(default=Decimal(0), description="the week's fills, in dollars")
    gross_exposure_usd: Decimal = Field(
        default=Decimal(0), description="the week's position at its entry, in dollars")

    @model_validator(mode="before")
    @classmethod
    def _decision_is_the_rest(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("decision_pnl") is None and "pnl" in data:
            data = {**data, "decision_pnl": Decimal(str(data["pnl"]))
                    - Decimal(str(data.get("carry_pnl", 0)))}
        return data


class WeekPostmortem(Strict):
    """The week across accounts: ranking, and whether peer-review scores predicted outcomes (§5)."""

    week_id: str
    settled_at: datetime
    ranking: list[str] = Field(description="account ids, best decision P/L first")
    pnl_by_account: dict[str, Decimal]
    decision_pnl_by_account: dict[str, Decimal] = Field(
        default={}, description="this week's trades only (no carry); empty in older events")
    review_scores: dict[str, float] = Field(description="PM account → overall peer-review score")
    score_pnl_spearman: float | None = Field(
        description="rank correlation over PMs; None below 3 or no spread")
    llm_cost_usd: Decimal
    research_cost_usd: Decimal = Field(description="the week's research provider calls (shared)")


class VirtualLeg(Strict):
    symbol: str
    shares_at_entry: int = Field(description="signed")
    conviction: int = Field(description="0: a fixed leg (a benchmark's), else managed")


class VirtualWeek(Strict):
    """A virtual account's week (a benchmark or a shadow council): marked from market data at the
    mid, never sent to a broker, no model call. Starts with no position, so pnl is all decision."""

    week_id: str
    account_id: str = Field(description="bench-spy, bench-universe, bench-tbill, shadow-...")
    kind: Literal["benchmark", "shadow"]
    virtual: Literal[True] = True
    description: str
    settled_at: datetime
    entry_at: datetime
    equity_start: Decimal
    equity_end: Decimal
    pnl: Decimal
    legs: list[VirtualLeg]
    checkpoint_equity: list[Decimal]
    traded_usd: Decimal
    gross_exposure_usd: Decimal
    prices: Literal["mid"] = Field(
        default="mid", description="virtual fills pay no spread (the market data's mid)")
