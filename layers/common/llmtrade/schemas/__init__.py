"""Pydantic models of every event and decision (SPEC §3-§7), by family; import them from here.

- `answers`: what an LLM or research provider must answer for the week (validated before anything
  is stored), one module per family (research, council); `qa`: what the general council's models
  answer;
- `payloads`: what the event store keeps, one fact each, one module per family (research, council,
  orders, checkpoints, postmortem, runs, calls);
- `broker`: what a broker takes and gives (orders, positions, the account, an asset);
- `views`: what a week looks like, derived from its events (the week summary);
- `seal`: the seal of a week's decisions;
- `envelope`: the :class:`Event` wrapping a payload, whose id is derived from what the event is
  about, so appending it twice stores it once; the kinds and the kind -> payload type table (by
  module and name: a payload module is imported when its kind is first used);
- `basics`: the vocabulary the families share (the strict base, bounded texts, direction,
  account kind).

The modules import one way: basics <- answers.*, qa, broker, views, seal; basics, answers.*,
broker <- payloads.*; envelope imports none of them (its kind table names the payload modules,
imported on first use). None imports this face.

The face is lazy: `from llmtrade.schemas import X` imports only X's module (`_HOMES`), so a Lambda
cold start defines the pydantic classes its step uses, not all of them (~0.3 ms each). Type
checkers and editors read the same names from the imports under TYPE_CHECKING.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmtrade.schemas.answers.council import (
        ChairmanAnswer,
        Indicator,
        MonitoringPlan,
        PitchAnswer,
        PitchReview,
        PitchScores,
        SelectedTrade,
    )
    from llmtrade.schemas.answers.research import (
        CalendarEvent,
        ConfidenceNotes,
        ConsensusMap,
        MacroRegime,
        Narrative,
        ResearchAnswer,
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
        PAYLOAD_TYPES,
        SHARED_ACCOUNT,
        Event,
        EventKind,
        UnreadableEvent,
        canonical_json,
        event_id,
        payload_from_text,
        payload_type_of,
    )
    from llmtrade.schemas.payloads.calls import LLMCallRecord, ResearchCall
    from llmtrade.schemas.payloads.checkpoints import (
        CheckpointAction,
        CheckpointInputs,
        CheckpointSkipped,
        CheckpointUpdate,
        IndicatorReading,
    )
    from llmtrade.schemas.payloads.council import (
        ChairmanDecision,
        ModelFailure,
        PeerReview,
        Pitch,
        ReviewAggregate,
    )
    from llmtrade.schemas.payloads.orders import OrderEvent, OrderFinal, PositionSnapshot
    from llmtrade.schemas.payloads.postmortem import (
        Postmortem,
        VirtualLeg,
        VirtualWeek,
        WeekPostmortem,
    )
    from llmtrade.schemas.payloads.research import (
        Citation,
        ResearchFailure,
        ResearchPack,
        ResearchStatus,
    )
    from llmtrade.schemas.payloads.runs import RunClaim, RunDisabled
    from llmtrade.schemas.qa import QAAnswer, QARanking, QASynthesis
    from llmtrade.schemas.seal import Seal
    from llmtrade.schemas.views import AccountWeek, WeekSummary

# name -> the module of this package that defines it
_HOMES: dict[str, str] = {
    **dict.fromkeys((
        "AccountKind", "Conviction", "Direction", "LongText", "Score", "ShortText", "Strict",
        "direction_of",
    ), "basics"),
    **dict.fromkeys((
        "CalendarEvent", "ConfidenceNotes", "ConsensusMap", "MacroRegime", "Narrative",
        "ResearchAnswer", "TradableCandidate",
    ), "answers.research"),
    **dict.fromkeys((
        "ChairmanAnswer", "Indicator", "MonitoringPlan", "PitchAnswer", "PitchReview",
        "PitchScores", "SelectedTrade",
    ), "answers.council"),
    **dict.fromkeys(("QAAnswer", "QARanking", "QASynthesis"), "qa"),
    **dict.fromkeys((
        "AccountState", "AssetInfo", "BrokerOrder", "OrderRequest", "OrderSide", "Position",
    ), "broker"),
    **dict.fromkeys(("Citation", "ResearchFailure", "ResearchPack", "ResearchStatus"),
                   "payloads.research"),
    **dict.fromkeys((
        "ChairmanDecision", "ModelFailure", "PeerReview", "Pitch", "ReviewAggregate",
    ), "payloads.council"),
    **dict.fromkeys(("OrderEvent", "OrderFinal", "PositionSnapshot"), "payloads.orders"),
    **dict.fromkeys((
        "CheckpointAction", "CheckpointInputs", "CheckpointSkipped", "CheckpointUpdate",
        "IndicatorReading",
    ), "payloads.checkpoints"),
    **dict.fromkeys((
        "Postmortem", "VirtualLeg", "VirtualWeek", "WeekPostmortem",
    ), "payloads.postmortem"),
    **dict.fromkeys(("RunClaim", "RunDisabled"), "payloads.runs"),
    **dict.fromkeys(("LLMCallRecord", "ResearchCall"), "payloads.calls"),
    **dict.fromkeys(("AccountWeek", "WeekSummary"), "views"),
    **dict.fromkeys(("Seal",), "seal"),
    **dict.fromkeys((
        "PAYLOAD_TYPES", "SHARED_ACCOUNT", "Event", "EventKind", "UnreadableEvent",
        "canonical_json", "event_id", "payload_from_text", "payload_type_of",
    ), "envelope"),
}

__all__ = [
    "PAYLOAD_TYPES", "SHARED_ACCOUNT", "AccountKind", "AccountState", "AccountWeek", "AssetInfo",
    "BrokerOrder", "CalendarEvent", "ChairmanAnswer", "ChairmanDecision", "CheckpointAction",
    "CheckpointInputs", "CheckpointSkipped", "CheckpointUpdate", "Citation", "ConfidenceNotes",
    "ConsensusMap", "Conviction", "Direction", "Event", "EventKind", "Indicator",
    "IndicatorReading", "LLMCallRecord", "LongText", "MacroRegime", "ModelFailure",
    "MonitoringPlan", "Narrative", "OrderEvent", "OrderFinal", "OrderRequest", "OrderSide",
    "PeerReview", "Pitch", "PitchAnswer", "PitchReview", "PitchScores", "Position",
    "PositionSnapshot", "Postmortem", "QAAnswer", "QARanking", "QASynthesis", "ResearchAnswer",
    "ResearchCall", "ResearchFailure", "ResearchPack", "ResearchStatus", "ReviewAggregate",
    "RunClaim", "RunDisabled", "Score", "Seal", "SelectedTrade", "ShortText", "Strict",
    "TradableCandidate", "UnreadableEvent", "VirtualLeg", "VirtualWeek", "WeekPostmortem",
    "WeekSummary", "canonical_json", "direction_of", "event_id", "payload_from_text",
    "payload_type_of",
]


if not TYPE_CHECKING:  # hidden from type checkers: an unknown name must stay an error for them

    def __getattr__(name: str) -> Any:
        """X's module imported on first use, X kept here so the next lookup is a plain one."""
        try:
            home = _HOMES[name]
        except KeyError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
