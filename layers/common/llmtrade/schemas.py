"""Pydantic models of every event and decision (SPEC §3-§7).

Two families live here:
- *answers*: what an LLM or research provider must return (validated before anything is stored);
- *event payloads*: what the event store keeps, wrapped in an :class:`Event` envelope whose id is
  derived from what the event is about, so appending it twice stores it once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Conviction = Annotated[int, Field(ge=-2, le=2, description="-2 strong SHORT, 0 FLAT, +2 strong LONG")]
Score = Annotated[int, Field(ge=1, le=10)]
ShortText = Annotated[str, Field(min_length=1, max_length=600)]


class Strict(BaseModel):
    # defer_build: validators are compiled on first use, not at import (a Lambda cold start uses few)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Direction(StrEnum):
    LONG = "LONG"
    SHORT = "SHORT"
    FLAT = "FLAT"


class AccountKind(StrEnum):
    """What an account is: a PM's, the council's, or the FLAT baseline (which never trades)."""

    PM = "pm"
    COUNCIL = "council"
    FLAT = "flat"


def direction_of(conviction: int) -> Direction:
    return Direction.LONG if conviction > 0 else Direction.SHORT if conviction < 0 else Direction.FLAT


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


class Citation(Strict):
    title: str
    url: str
    date: str | None = None
    snippet: str | None = None


class ResearchAnswer(Strict):
    """What a research provider must answer; the adapter adds identity, time and sources."""

    macro_regime: MacroRegime
    top_narratives: list[Narrative] = Field(min_length=1, max_length=5)
    consensus_map: ConsensusMap
    tradable_candidates: list[TradableCandidate] = Field(min_length=1)
    event_calendar_next_7d: list[CalendarEvent]
    confidence_notes: ConfidenceNotes


class ResearchPack(ResearchAnswer):
    """A frozen research pack (SPEC §3.2): the answer, who produced it, when, and its sources."""

    week_id: str
    asof_et: datetime
    research_source: str
    citations: list[Citation] = []


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
        description="confirms: the thesis is playing out when this holds; invalidates: exit when it holds; "
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


class Pitch(PitchAnswer):
    idea_id: str
    week_id: str
    model: str
    answered_by: str
    timestamp: datetime


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
        values = self.model_dump().values()
        return sum(values) / len(values)


class PitchReview(Strict):
    scores: PitchScores
    best_argument_against: ShortText
    one_flip_condition: ShortText
    suggested_fix: ShortText


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

    @model_validator(mode="after")
    def _coherent(self) -> ChairmanAnswer:
        _check_direction(self.selected_trade.direction, self.conviction)
        return self


class ChairmanDecision(ChairmanAnswer):
    week_id: str
    model: str
    answered_by: str
    label_map: dict[str, str]
    aggregates: list[ReviewAggregate]
    indicators: list[Indicator] = Field(
        default=[], description="frozen indicators of the pitch on the same trade, if any"
    )
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
class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderRequest(Strict):
    symbol: str
    qty: int = Field(gt=0, description="whole shares: valid for shorts and while the market is closed")
    side: OrderSide
    type: Literal["market"] = "market"
    time_in_force: Literal["day"] = "day"
    client_order_id: Annotated[str, Field(max_length=128)]


class BrokerOrder(Strict):
    id: str
    client_order_id: str
    symbol: str
    qty: int
    side: OrderSide
    status: str
    submitted_at: datetime
    filled_at: datetime | None = None
    filled_qty: int = 0  # less than qty while partially filled
    filled_avg_price: Decimal | None = None


class OrderEvent(Strict):
    week_id: str
    account_id: str
    leg: str
    request: OrderRequest
    broker_order: BrokerOrder | None = None
    rejected: str | None = None


class OrderFinal(Strict):
    """How an order ended (filled, canceled, expired, rejected), with its fill, once the broker says so.
    An order submitted while closed is only `accepted`; a later step records this when it is known."""

    week_id: str
    account_id: str
    broker_order: BrokerOrder
    seen_at: datetime


class Position(Strict):
    symbol: str
    qty: int
    avg_entry_price: Decimal
    market_value: Decimal
    unrealized_pl: Decimal


class PositionSnapshot(Strict):
    week_id: str
    account_id: str
    at: datetime
    target_instrument: str | None
    target_direction: Direction
    conviction: int
    target_qty: int = Field(default=0, description="signed shares the week aims for, after the buying-power check")
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


class CheckpointSkipped(Strict):
    week_id: str
    at: datetime
    reason: str


# --------------------------------------------------------------------------- operations
class RunClaim(Strict):
    """The execution that runs a scheduled run: a second delivery of the same schedule finds it and stops."""

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
    """One account's week, settled at the next weekly run: P/L is the broker's equity change (§5)."""

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
    indicators_fired: list[str] = Field(description="frozen indicators that fired at any checkpoint")
    invalidation_fired: bool
    thesis_played_out: bool | None = Field(description="the instrument moved the position's way; None when FLAT")
    review_score: float | None = Field(description="peer-review overall of its pitch (the council: the picked idea)")
    llm_cost_usd: Decimal
    notes: str = ""


class WeekPostmortem(Strict):
    """The week across accounts: ranking, and whether peer-review scores predicted the outcomes (§5)."""

    week_id: str
    settled_at: datetime
    ranking: list[str] = Field(description="account ids, best P/L first")
    pnl_by_account: dict[str, Decimal]
    review_scores: dict[str, float] = Field(description="PM account → overall peer-review score")
    score_pnl_spearman: float | None = Field(description="rank correlation over PMs; None below 3 or no spread")
    llm_cost_usd: Decimal
    research_cost_usd: Decimal = Field(description="the week's research provider calls (shared)")


class ResearchCall(Strict):
    """One call to a research provider (start, or one check of a running job), kept for audit (§7).
    The start call of a job that kept running holds its handle and start time: the deadline counts from it."""

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
    """A provider that produced no pack this week; with no provider (subject ""), the week has no research."""

    week_id: str
    provider: str | None = Field(description="None: no provider produced a pack, the week cannot pitch")
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
    template: str = Field(default="", description="the prompt template rendered (pitch, review, qa_answer, ...)")
    provider: str | None = Field(default=None, description="the upstream provider that served the call")
    http_attempts: int = Field(default=1, description="HTTP requests made; 0 when refused before any (budget)")
    http_status: int | None = Field(default=None, description="of a failed call, when the provider gave one")
    raw_response: str = Field(default="", description="the response body as received (long bodies truncated)")
    parsed: dict[str, Any] | None = Field(default=None, description="the validated answer, when there was one")


# --------------------------------------------------------------------------- general council (§6)
LongText = Annotated[str, Field(min_length=1, max_length=6000)]


class QAAnswer(Strict):
    """Stage 1 of `llmtrade council`: one model's answer to the question."""

    answer: LongText
    key_points: list[ShortText] = Field(min_length=1, max_length=5)


class QARanking(Strict):
    """Stage 2: the other models' answers, best first, by their anonymous labels, each exactly once.
    The council narrows `ranking` to the labels a reviewer was shown."""

    ranking: list[str] = Field(min_length=1)
    reasoning: ShortText

    @model_validator(mode="after")
    def _each_once(self) -> QARanking:
        if len(set(self.ranking)) != len(self.ranking):
            raise ValueError(f"rank each answer exactly once, not {self.ranking}")
        return self


class QASynthesis(Strict):
    """Stage 3: the chairman's answer for the council."""

    answer: LongText
    consensus: ShortText
    dissent: ShortText


class AccountWeek(Strict):
    account_id: str
    kind: AccountKind
    model: str | None
    instrument: str | None
    direction: Direction
    conviction: int
    conviction_now: int | None = Field(default=None, description="after the latest checkpoint, when one ran")
    last_checkpoint: str | None = Field(default=None, description="its time, action and reason")
    order_statuses: list[str] = Field(description="each order as last known: queued, filled at a price, rejected")
    equity: Decimal | None = Field(description="at the weekly run, from the account's week_open snapshot")
    holdings: list[str] = Field(description="positions held at the weekly run, e.g. 'SPY +54'")
    llm_cost_usd: Decimal
    note: str = ""


class WeekSummary(Strict):
    week_id: str
    asof_et: datetime
    offline: bool
    accounts: list[AccountWeek]
    llm_cost_usd: Decimal
    llm_calls: int
    research_cost_usd: Decimal = Decimal(0)


# --------------------------------------------------------------------------- the envelope (§7)
class EventKind(StrEnum):
    RESEARCH_PACK = "research_pack"
    PITCH = "pitch"
    PEER_REVIEW = "peer_review"
    CHAIRMAN_DECISION = "chairman_decision"
    MODEL_FAILURE = "model_failure"
    ORDER = "order"
    POSITION_SNAPSHOT = "position_snapshot"
    CHECKPOINT_UPDATE = "checkpoint_update"
    CHECKPOINT_SKIPPED = "checkpoint_skipped"
    POSTMORTEM = "postmortem"
    WEEK_POSTMORTEM = "week_postmortem"
    LLM_CALL = "llm_call"
    WEEK_SUMMARY = "week_summary"
    RESEARCH_CALL = "research_call"
    RESEARCH_FAILURE = "research_failure"
    ORDER_FINAL = "order_final"
    RUN_CLAIM = "run_claim"
    RUN_DISABLED = "run_disabled"


PAYLOAD_MODELS: dict[EventKind, type[BaseModel]] = {
    EventKind.RESEARCH_PACK: ResearchPack,
    EventKind.PITCH: Pitch,
    EventKind.PEER_REVIEW: PeerReview,
    EventKind.CHAIRMAN_DECISION: ChairmanDecision,
    EventKind.MODEL_FAILURE: ModelFailure,
    EventKind.ORDER: OrderEvent,
    EventKind.POSITION_SNAPSHOT: PositionSnapshot,
    EventKind.CHECKPOINT_UPDATE: CheckpointUpdate,
    EventKind.CHECKPOINT_SKIPPED: CheckpointSkipped,
    EventKind.POSTMORTEM: Postmortem,
    EventKind.WEEK_POSTMORTEM: WeekPostmortem,
    EventKind.LLM_CALL: LLMCallRecord,
    EventKind.WEEK_SUMMARY: WeekSummary,
    EventKind.RESEARCH_CALL: ResearchCall,
    EventKind.RESEARCH_FAILURE: ResearchFailure,
    EventKind.ORDER_FINAL: OrderFinal,
    EventKind.RUN_CLAIM: RunClaim,
    EventKind.RUN_DISABLED: RunDisabled,
}

SHARED_ACCOUNT = "shared"
"""account_id of week-level events that belong to no single account (research, week summary)."""


class Event(BaseModel):
    """An immutable fact. Its id is derived from (week, account, kind, subject): never random."""

    model_config = ConfigDict(frozen=True)

    week_id: str
    account_id: str
    kind: EventKind
    subject: str = ""
    recorded_at: datetime
    payload: dict[str, Any]

    @field_validator("recorded_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("recorded_at must be timezone-aware")
        return value.astimezone(UTC)

    @property
    def event_id(self) -> str:
        return event_id(self.week_id, self.account_id, self.kind, self.subject)

    @property
    def time_order(self) -> tuple[datetime, str]:
        """How stores list a week: oldest first, ties broken by key. Both backends sort by this."""
        return self.recorded_at, self.sort_key

    @property
    def sort_key(self) -> str:
        return f"{self.account_id}#{self.kind.value}#{self.subject}"

    def parsed(self) -> Any:
        return PAYLOAD_MODELS[self.kind].model_validate(self.payload)

    @classmethod
    def of(
        cls,
        payload: BaseModel,
        *,
        week_id: str,
        account_id: str,
        kind: EventKind,
        subject: str = "",
        recorded_at: datetime,
    ) -> Event:
        if not isinstance(payload, PAYLOAD_MODELS[kind]):
            raise TypeError(f"{kind.value} events carry {PAYLOAD_MODELS[kind].__name__}")
        return cls(
            week_id=week_id,
            account_id=account_id,
            kind=kind,
            subject=subject,
            recorded_at=recorded_at,
            payload=payload.model_dump(mode="json"),
        )


def of_kind(events: Iterable[Event], kind: EventKind) -> list[Any]:
    """The parsed payloads of the events of one kind, in the order given (stores list oldest first)."""
    return [e.parsed() for e in events if e.kind is kind]


def event_id(week_id: str, account_id: str, kind: EventKind | str, subject: str = "") -> str:
    kind_value = kind.value if isinstance(kind, EventKind) else kind
    return "/".join(part for part in (week_id, account_id, kind_value, subject) if part)
