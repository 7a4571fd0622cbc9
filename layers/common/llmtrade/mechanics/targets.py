"""What an account holds for the week: the target its pitch or the chairman's decision sets."""

from __future__ import annotations

from llmtrade.ports import EventStore
from llmtrade.schemas import ChairmanDecision, EventKind, ModelFailure, Pitch


def target_of(store: EventStore, week_id: str, account_id: str, kind: str) -> tuple[str | None, int, str]:
    """(instrument, conviction, note) an account holds for the week, from its pitch or decision."""
    if kind == "flat":
        return None, 0, "baseline: never trades"
    stage, event_kind, model = ("pitch", EventKind.PITCH, Pitch) if kind == "pm" else \
        ("chairman", EventKind.CHAIRMAN_DECISION, ChairmanDecision)
    if failure := store.get(week_id, account_id, EventKind.MODEL_FAILURE, stage):
        return None, 0, f"FLAT: {ModelFailure.model_validate(failure.payload).reason}"
    event = store.get(week_id, account_id, event_kind)
    if event is None:
        raise LookupError(f"week {week_id}: no {stage} for {account_id} yet")
    decided = model.model_validate(event.payload)
    instrument = decided.instrument if isinstance(decided, Pitch) else decided.selected_trade.instrument
    return (instrument if decided.conviction else None), decided.conviction, ""
