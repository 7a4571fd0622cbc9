"""The envelope (SPEC §7): an event's kind, its id, and the one table from kind to payload type.

An :class:`Event` wraps a payload with what it is about (week, account, kind, subject); its id is
derived from those, never random, so appending it twice stores it once. Every payload type has
exactly one kind (`PAYLOAD_MODELS`); steps and reports read and write through `llmtrade.events`, not
through this envelope.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from llmtrade.schemas.payloads import (
    ChairmanDecision,
    CheckpointSkipped,
    CheckpointUpdate,
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
    RunClaim,
    RunDisabled,
    VirtualWeek,
    WeekPostmortem,
)
from llmtrade.schemas.views import WeekSummary


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
    VIRTUAL_WEEK = "virtual_week"


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
    EventKind.VIRTUAL_WEEK: VirtualWeek,
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


def event_id(week_id: str, account_id: str, kind: EventKind | str, subject: str = "") -> str:
    kind_value = kind.value if isinstance(kind, EventKind) else kind
    return "/".join(part for part in (week_id, account_id, kind_value, subject) if part)
