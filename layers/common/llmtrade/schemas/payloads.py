"""What the event store keeps (SPEC §3-§7): each payload is one fact about a week, an account or a
run.

A payload is what a step decided or saw, with who and when; the envelope
(`llmtrade.schemas.envelope`) maps each payload type to its event kind. Payloads never change once
stored: a step that reruns finds its payload and returns it (`llmtrade.events.EventLog.recorded`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, model_validator

from llmtrade.schemas.answers import (
    ChairmanAnswer,
    Indicator,
    PitchAnswer,
    PitchReview,
    ResearchAnswer,
)
from llmtrade.schemas.basics import AccountKind, Direction, Strict
from llmtrade.schemas.broker import BrokerOrder, OrderRequest, Position


# ------------------------------------------------------------------------- the week's council (§3)
class Citation(Strict):
    title: str
    url: str
    date: str | None = None
    snippet: str | None = None


class ResearchPack(ResearchAnswer):
    """A frozen research pack (SPEC §3.2): the answer, who produced it, when, and its sources."""

    week_id: str
    asof_et: datetime
    research_source: str
    citations: list[Citation] = []
    # when the pack was written (a live pack: the real time; offline: the simulated run's moment)
    produced_at: datetime | None = None


class Pitch(PitchAnswer):
    idea_id: str
    week_id: str
    model: str
    answered_by: str
    timestamp: datetime


class PeerReview(Strict):
    """One reviewer's reviews; `label_map` turns neutral labels back into idea ids."""

    week_id: str
    reviewer_account: str
    reviewer_model: str
    label_map: dict[str, str]
    reviews: dict[str, PitchReview]
    timestamp: datetime


class ReviewAggregate(Strict):
    idea_id: str
    reviews: int
    mean_scores: dict[str, float]
    overall: float


class ChairmanDecision(ChairmanAnswer):
    week_id: str
    model: str
    answered_by: str
    label_map: dict[str, str]
    aggregates: list[ReviewAggregate]
    # decisions stored before the chairman stated its own indicators hold a pitch's, or none
    indicators: list[Indicator] = Field(default=[], max_length=5)
    timestamp: datetime


class ModelFailure(Strict):
    """A model that did not produce a valid answer: its account goes FLAT for the week (§3)."""

    week_id: str
    account_id: str
    model: str
    stage: Literal["research", "pitch", "review", "chairman"]
    reason: str
    timestamp: datetime


# --------------------------------------------------------------------------- execution (§3.6)
class OrderEvent(Strict):
    week_id: str
    account_id: str
    leg: str
    request: OrderRequest
    broker_order: BrokerOrder | None = None
    rejected: str | None = None


class OrderFinal(Strict):
    """How an order ended (filled, canceled, expired, rejected), with its fill, once the broker says
    so. An order submitted while closed is only `accepted`; a later step records this when it is
    known."""

    week_id: str
    account_id: str
    broker_order: BrokerOrder
    seen_at: datetime


class PositionSnapshot(Strict):
    week_id: str
    account_id: str
    at: datetime
    target_instrument: str | None
    target_direction: Direction
    conviction: int
    target_qty: int = Field(
        default=0, description="signed shares the week aims for, after the buying-power check")
    equity: Decimal
    cash: Decimal
    positions: list[Position]
    note: str = ""


# --------------------------------------------------------------------------- checkpoints (§4)
class CheckpointAction(StrEnum):
    STAY = "STAY"
    EXIT = "EXIT"
    FLIP = "FLIP"
    REDUCE = "REDUCE"


class IndicatorReading(Strict):
    indicator: Indicator
    value: float
    fired: bool


class CheckpointInputs(Strict):
    """What a checkpoint decided from besides `conviction_before` and its indicator readings:
    with them, `domain.checkpoint_rules.decide` gives the recorded decision again (replay)."""

    weekly_conviction: int
    instrument: str | None
    position: Position | None
    week_entry_price: Decimal
    short_borrowable: bool | None
    stop_loss_pct: float
    reduce_loss_pct: float


class CheckpointUpdate(Strict):
    week_id: str
    account_id: str
    at: datetime
    action: CheckpointAction
    conviction_before: int
    conviction_after: int
    reason_delta: str
    indicators: list[IndicatorReading]
    unrealized_pl: Decimal
    inputs: CheckpointInputs | None = None  # None: recorded before the inputs were


class CheckpointSkipped(Strict):
    week_id: str
    at: datetime
    reason: str


# --------------------------------------------------------------------------- operations
class RunClaim(Strict):
    """Who runs a scheduled run: a second delivery of the same schedule finds this and stops."""

    workflow: str
    scheduled_time: datetime
    execution: str


class RunDisabled(Strict):
    """A run the kill switch stopped before it called a model or placed an order."""

    workflow: str
    at: datetime
    reason: str


# --------------------------------------------------------------------------- evaluation (§5)
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


# --------------------------------------------------------------------------- audit (§7)
class ResearchCall(Strict):
    """One call to a research provider (start, or one check of a running job), kept for audit (§7).
    The start call of a job that kept running holds its handle and start time: the deadline
    counts from it."""

    week_id: str
    provider: str
    call: Literal["start", "check"]
    state: Literal["running", "completed", "failed"]
    handle: str = ""
    prompt: str = ""
    raw: str = ""
    error: str | None = None
    cost_usd: Decimal
    at: datetime


class ResearchFailure(Strict):
    """A provider that produced no pack this week; with no provider (subject ""), no research."""

    week_id: str
    provider: str | None = Field(
        description="None: no provider produced a pack, the week cannot pitch")
    reason: str
    timestamp: datetime


class LLMCallRecord(Strict):
    """Prompt, response and cost of one LLM call, kept so any decision can be audited (§7)."""

    week_id: str
    account_id: str
    purpose: str
    model_requested: str
    model_answered: str
    offline: bool
    attempt: int
    messages: list[dict[str, str]]
    response_text: str
    valid: bool
    error: str | None = None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    latency_ms: int
    template: str = Field(
        default="", description="the prompt template rendered (pitch, review, qa_answer, ...)")
    provider: str | None = Field(
        default=None, description="the upstream provider that served the call")
    http_attempts: int = Field(
        default=1, description="HTTP requests made; 0 when refused before any (budget)")
    http_status: int | None = Field(
        default=None, description="of a failed call, when the provider gave one")
    raw_response: str = Field(
        default="", description="the response body as received (long bodies truncated)")
    parsed: dict[str, Any] | None = Field(
        default=None, description="the validated answer, when there was one")
