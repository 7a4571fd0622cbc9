"""Pydantic models of every event and decision (SPEC §3-§7), by family; import them from here.

- `answers`: what an LLM or research provider must answer (validated before anything is stored);
- `payloads`: what the event store keeps, one fact each;
- `broker`: what a broker takes and gives (orders, positions, the account, an asset);
- `views`: what a week looks like, derived from its events (the week summary);
- `envelope`: the :class:`Event` wrapping a payload, whose id is derived from what the event is
  about, so appending it twice stores it once; the kinds and the kind -> payload type table;
- `basics`: the vocabulary the families share (the strict base, bounded texts, direction,
  account kind).

The modules import one way, basics <- answers, broker <- payloads, views <- envelope; none imports
this face, which only re-exports them.
"""

from llmtrade.schemas.answers import (
    CalendarEvent,
    ChairmanAnswer,
    ConfidenceNotes,
    ConsensusMap,
    Indicator,
    MacroRegime,
    MonitoringPlan,
    Narrative,
    PitchAnswer,
    PitchReview,
    PitchScores,
    QAAnswer,
    QARanking,
    QASynthesis,
    ResearchAnswer,
    SelectedTrade,
    TradableCandidate,
)
from llmtrade.schemas.basics import (
    AccountKind,
    Conviction,
    Direction,
    LongText,
    Score,
    ShortText,
    Strict,
    direction_of,
)
from llmtrade.schemas.broker import (
    AccountState,
    AssetInfo,
    BrokerOrder,
    OrderRequest,
    OrderSide,
    Position,
)
from llmtrade.schemas.envelope import (
    PAYLOAD_MODELS,
    SHARED_ACCOUNT,
    Event,
    EventKind,
    UnreadableEvent,
    canonical_json,
    event_id,
    payload_from_text,
)
from llmtrade.schemas.payloads import (
    ChairmanDecision,
    CheckpointAction,
    CheckpointInputs,
    CheckpointSkipped,
    CheckpointUpdate,
    Citation,
    IndicatorReading,
    LLMCallRecord,
    ModelFailure,
    OrderEvent,
    OrderFinal,
    PeerReview,
    Pitch,
    PositionSnapshot,
    Postmortem,
    ResearchCall,
    ResearchFailure,
    ResearchPack,
    ReviewAggregate,
    RunClaim,
    RunDisabled,
    VirtualLeg,
    VirtualWeek,
    WeekPostmortem,
)
from llmtrade.schemas.seal import Seal
from llmtrade.schemas.views import AccountWeek, WeekSummary

__all__ = [
    "PAYLOAD_MODELS", "SHARED_ACCOUNT", "AccountKind", "AccountState", "AccountWeek", "AssetInfo",
    "BrokerOrder", "CalendarEvent", "ChairmanAnswer", "ChairmanDecision", "CheckpointAction",
    "CheckpointInputs", "CheckpointSkipped", "CheckpointUpdate", "Citation", "ConfidenceNotes",
    "ConsensusMap", "Conviction", "Direction", "Event", "EventKind", "Indicator",
    "IndicatorReading", "LLMCallRecord", "LongText", "MacroRegime", "ModelFailure",
    "MonitoringPlan", "Narrative", "OrderEvent", "OrderFinal", "OrderRequest", "OrderSide",
    "PeerReview", "Pitch", "PitchAnswer", "PitchReview", "PitchScores", "Position",
    "PositionSnapshot", "Postmortem", "QAAnswer", "QARanking", "QASynthesis", "ResearchAnswer",
    "ResearchCall", "ResearchFailure", "ResearchPack", "ReviewAggregate", "RunClaim",
    "RunDisabled", "Score", "Seal", "SelectedTrade", "ShortText", "Strict", "TradableCandidate",
    "UnreadableEvent", "VirtualLeg", "VirtualWeek", "WeekPostmortem", "WeekSummary",
    "canonical_json", "direction_of", "event_id", "payload_from_text",
]
