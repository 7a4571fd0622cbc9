"""The envelope (SPEC §7): an event's kind, its id, and the one table from kind to payload type.

An :class:`Event` wraps a payload with what it is about (week, account, kind, subject); its id is
derived from those, never random, so appending it twice stores it once. Every payload type has
exactly one kind (`PAYLOAD_TYPES`, by module and name: a kind's payload module is imported when
an event of that kind is first built or read); steps and reports read and write through
`llmtrade.events`, not through this envelope.

The log is tamper-evident: an event recorded through the log is a link of its (week, account)
chain: `chain_index` from 1, `prev_hash` the hash of the link before ("" for the first) and
`chain_hash`, the SHA-256 of the envelope and the payload as canonical (sorted-key) JSON. Stores
keep payloads in that canonical text, so a stored payload that is not canonical was edited.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


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
    SEAL = "seal"


# kind -> (module, class) of its payload type: a step that records or reads a few kinds loads only
# their modules (a cold start defines the pydantic classes it uses, not all of them)
PAYLOAD_TYPES: dict[EventKind, tuple[str, str]] = {
    EventKind.RESEARCH_PACK: ("llmtrade.schemas.payloads.research", "ResearchPack"),
    EventKind.PITCH: ("llmtrade.schemas.payloads.council", "Pitch"),
    EventKind.PEER_REVIEW: ("llmtrade.schemas.payloads.council", "PeerReview"),
    EventKind.CHAIRMAN_DECISION: ("llmtrade.schemas.payloads.council", "ChairmanDecision"),
    EventKind.MODEL_FAILURE: ("llmtrade.schemas.payloads.council", "ModelFailure"),
    EventKind.ORDER: ("llmtrade.schemas.payloads.orders", "OrderEvent"),
    EventKind.POSITION_SNAPSHOT: ("llmtrade.schemas.payloads.orders", "PositionSnapshot"),
    EventKind.CHECKPOINT_UPDATE: ("llmtrade.schemas.payloads.checkpoints", "CheckpointUpdate"),
    EventKind.CHECKPOINT_SKIPPED: ("llmtrade.schemas.payloads.checkpoints", "CheckpointSkipped"),
    EventKind.POSTMORTEM: ("llmtrade.schemas.payloads.postmortem", "Postmortem"),
    EventKind.WEEK_POSTMORTEM: ("llmtrade.schemas.payloads.postmortem", "WeekPostmortem"),
    EventKind.LLM_CALL: ("llmtrade.schemas.payloads.calls", "LLMCallRecord"),
    EventKind.WEEK_SUMMARY: ("llmtrade.schemas.views", "WeekSummary"),
    EventKind.RESEARCH_CALL: ("llmtrade.schemas.payloads.calls", "ResearchCall"),
    EventKind.RESEARCH_FAILURE: ("llmtrade.schemas.payloads.research", "ResearchFailure"),
    EventKind.ORDER_FINAL: ("llmtrade.schemas.payloads.orders", "OrderFinal"),
    EventKind.RUN_CLAIM: ("llmtrade.schemas.payloads.runs", "RunClaim"),
    EventKind.RUN_DISABLED: ("llmtrade.schemas.payloads.runs", "RunDisabled"),
    EventKind.VIRTUAL_WEEK: ("llmtrade.schemas.payloads.postmortem", "VirtualWeek"),
    EventKind.SEAL: ("llmtrade.schemas.seal", "Seal"),
}


@cache
def payload_type_of(kind: EventKind) -> type[BaseModel]:
    """The payload type events of this kind carry, its module imported on first use."""
    module, name = PAYLOAD_TYPES[kind]
    found: type[BaseModel] = getattr(importlib.import_module(module), name)
    return found


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
    # the link of the (week, account) chain; None: stored before the log was chained
    chain_index: int | None = None
    prev_hash: str | None = None
    chain_hash: str | None = None

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

    def chained(self, index: int, prev_hash: str) -> Event:
        """This event as link `index` of its chain, after the link whose hash is `prev_hash`."""
        link = self.model_copy(update={"chain_index": index, "prev_hash": prev_hash,
                                       "chain_hash": None})
        return link.model_copy(update={"chain_hash": link.link_hash()})

    def link_hash(self) -> str:
        """The hash this link must carry: over the envelope, its place in the chain and the
        payload's canonical text."""
        body = {"week_id": self.week_id, "account_id": self.account_id, "kind": self.kind.value,
                "subject": self.subject, "recorded_at": self.recorded_at.isoformat(),
                "chain_index": self.chain_index, "prev_hash": self.prev_hash,
                "payload": canonical_json(self.payload)}
        return hashlib.sha256(canonical_json(body).encode()).hexdigest()

    def parsed(self) -> Any:
        return payload_type_of(self.kind).model_validate(self.payload)

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
        if not isinstance(payload, carried := payload_type_of(kind)):
            raise TypeError(f"{kind.value} events carry {carried.__name__}")
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


def canonical_json(value: Any) -> str:
    """The one text of a JSON value: sorted keys, ASCII. Stores keep payloads in it."""
    return json.dumps(value, sort_keys=True)


class UnreadableEvent(ValueError):
    """A stored event that cannot be what was written: its payload is not the canonical JSON text
    the store writes (edited by hand, or corrupt)."""

    def __init__(self, week_id: str, account_id: str, kind: str, subject: str, why: str) -> None:
        self.week_id, self.account_id, self.kind, self.subject = week_id, account_id, kind, subject
        self.why = why
        super().__init__(f"week {week_id}, account {account_id}, {kind} {subject!r}: {why}")


def payload_from_text(text: str, week_id: str, account_id: str, kind: str,
                      subject: str) -> dict[str, Any]:
    """A stored payload read back, refused unless its text is exactly what a store writes."""
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or canonical_json(payload) != text:
        raise UnreadableEvent(week_id, account_id, kind, subject,
                              "the stored payload is not the text that was written")
    return payload
