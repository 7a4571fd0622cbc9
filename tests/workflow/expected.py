"""What one week must produce (issue: research, 4 pitches, 4 reviews, a chairman decision, orders
for the 5 trading accounts, a FLAT snapshot and the week summary), and the events tests expect."""

from __future__ import annotations

from collections import Counter

from llmtrade.ports import EventStore
from llmtrade.schemas import Event, EventKind

TRADING = {"pm-gpt", "pm-gemini", "pm-claude", "pm-grok", "council"}


def assert_complete_week(events: list[Event]) -> None:
    kinds = Counter(e.kind for e in events)
    assert kinds[EventKind.RESEARCH_PACK] == 1
    assert kinds[EventKind.PITCH] == 4
    assert kinds[EventKind.PEER_REVIEW] == 4
    assert kinds[EventKind.CHAIRMAN_DECISION] == 1
    assert kinds[EventKind.WEEK_SUMMARY] == 1
    assert kinds[EventKind.MODEL_FAILURE] == 0
    assert {e.account_id for e in events if e.kind is EventKind.ORDER} == TRADING
    snapshots = {e.account_id: e for e in events if e.kind is EventKind.POSITION_SNAPSHOT}
    assert set(snapshots) == TRADING | {"flat"}
    assert (snapshots["flat"].payload["positions"] == []
            and snapshots["flat"].payload["conviction"] == 0)
    assert kinds[EventKind.LLM_CALL] == 9  # 4 pitches, 4 reviews, 1 chairman, each valid first time
    assert len({e.event_id for e in events}) == len(events)


def stored(store: EventStore, week_id: str, account_id: str, kind: EventKind,
           subject: str = "") -> Event:
    """The event a test expects the store to hold."""
    event = store.get(week_id, account_id, kind, subject)
    assert event is not None, f"no {kind} event for {account_id} {subject} in week {week_id}"
    return event
