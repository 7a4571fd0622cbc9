"""One contract, every EventStore: the embedded SQLite store and DynamoDB (under moto)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.ports import EventStore
from llmtrade.schemas import CheckpointSkipped, Event, EventKind, UnreadableEvent, canonical_json

T0 = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
WEEK = "2026-11-25"


def event(week: str = "2026-11-25", account: str = "pm-gpt", subject: str = "a", minutes: int = 0,
          reason: str = "r") -> Event:
    payload = CheckpointSkipped(week_id=week, at=T0, reason=reason)
    return Event.of(payload, week_id=week, account_id=account, kind=EventKind.CHECKPOINT_SKIPPED,
                    subject=subject, recorded_at=T0 + timedelta(minutes=minutes))


def test_append_then_get_round_trips(store: EventStore) -> None:
    assert store.append(event()) is True
    got = store.get("2026-11-25", "pm-gpt", EventKind.CHECKPOINT_SKIPPED, "a")
    assert got == event()
    assert got.parsed() == CheckpointSkipped(week_id="2026-11-25", at=T0, reason="r")
    assert store.get("2026-11-25", "pm-gpt", EventKind.CHECKPOINT_SKIPPED, "b") is None


def test_the_same_logical_event_is_stored_once(store: EventStore) -> None:
    assert store.append(event(reason="first")) is True
    # same id, different content and time: the first write wins, the rerun changes nothing
    assert store.append(event(reason="second", minutes=5)) is False
    listed = store.list_week("2026-11-25")
    assert len(listed) == 1
    assert listed[0].payload["reason"] == "first"


def test_list_week_is_oldest_first_and_filters_by_account(store: EventStore) -> None:
    store.append(event(subject="late", minutes=2))
    store.append(event(subject="early", minutes=0))
    store.append(event(account="council", subject="mid", minutes=1))
    store.append(event(week="2026-12-02", subject="other-week"))
    assert [e.subject for e in store.list_week("2026-11-25")] == ["early", "mid", "late"]
    assert [e.subject for e in store.list_week("2026-11-25", "pm-gpt")] == ["early", "late"]
    assert store.list_week("2026-12-09") == []


def test_account_prefix_does_not_leak_into_another_account(store: EventStore) -> None:
    store.append(event(account="pm-g", subject="short"))
    store.append(event(account="pm-gpt", subject="long"))
    assert [e.subject for e in store.list_week("2026-11-25", "pm-g")] == ["short"]


def test_list_account_reads_across_weeks_with_kind_filter(store: EventStore) -> None:
    store.append(event(week="2026-12-02", subject="second"))
    store.append(event(week="2026-11-25", subject="first"))
    store.append(event(week="2026-11-25", account="council", subject="not-mine"))
    assert [(e.week_id, e.subject) for e in store.list_account("pm-gpt")] == [
        ("2026-11-25", "first"), ("2026-12-02", "second")]
    assert store.list_account("pm-gpt", EventKind.PITCH) == []
    assert len(store.list_account("pm-gpt", EventKind.CHECKPOINT_SKIPPED)) == 2


def test_event_ids_are_derived_from_what_the_event_is_about() -> None:
    assert event().event_id == "2026-11-25/pm-gpt/checkpoint_skipped/a"
    assert event(minutes=3, reason="x").event_id == event().event_id


def test_recorded_at_must_carry_a_time_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Event(week_id="w", account_id="a", kind=EventKind.PITCH, recorded_at=datetime(2026, 1, 1),
              payload={})


def test_a_large_event_round_trips(store: EventStore) -> None:
    # an LLM call with every research pack in its prompt can pass DynamoDB's 400 KB item limit as
    # plain JSON
    import random

    words = random.Random(1).choices(
        ["rates", "curve", "credit", "dollar", "oil", "gold", "growth"], k=120_000)
    big = event(reason=" ".join(words))  # ~700 KB of text
    assert len(big.model_dump_json()) > 600_000
    assert store.append(big) is True and store.append(big) is False
    assert store.get("2026-11-25", "pm-gpt", EventKind.CHECKPOINT_SKIPPED, "a") == big
    assert store.list_week("2026-11-25") == [big]


def test_dynamodb_lists_one_kind_by_its_key_and_reads_items_written_before_the_kind_index() -> None:
    """The index is keyed by kind: a history read queries that kind's keys only. An item the store
    wrote before (with its week-first gsi1sk) is indexed by its kind too."""
    import boto3
    from llmtrade.adapters.store.dynamodb import DynamoDBEventStore
    from moto import mock_aws

    from tests.support import create_event_table

    with mock_aws():
        create_event_table("events")
        store = DynamoDBEventStore("events")
        for week in ("2026-11-18", "2026-11-25"):
            store.append(event(week=week))
        old = {"pk": "WEEK#2026-11-11", "sk": "pm-gpt#week_summary#", "gsi1pk": "ACCOUNT#pm-gpt",
               "gsi1sk": "2026-11-11#week_summary#", "event_id": "old", "week_id": "2026-11-11",
               "account_id": "pm-gpt", "kind": "week_summary", "subject": "",
               "recorded_at": T0.isoformat(), "payload": "{}"}
        boto3.resource("dynamodb").Table("events").put_item(Item=old)
        listed: list[int] = []
        store._client.meta.events.register(
            "after-call.dynamodb.Query", lambda parsed, **_: listed.append(parsed["Count"]))
        skipped = store.list_account("pm-gpt", EventKind.CHECKPOINT_SKIPPED)
        assert [e.week_id for e in skipped] == ["2026-11-18", "2026-11-25"] and listed == [2]
        [summary] = store.list_account("pm-gpt", EventKind.WEEK_SUMMARY)
        assert (summary.week_id, summary.kind) == ("2026-11-11", EventKind.WEEK_SUMMARY)
        assert [e.week_id for e in store.list_account("pm-gpt")] == [
            "2026-11-11", "2026-11-18", "2026-11-25"]


def test_sqlite_decodes_a_row_once_and_a_changed_row_again(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    store = SqliteEventStore(path)
    store.append(event())
    first = store.list_week(WEEK)
    assert store.list_week(WEEK)[0] is first[0]
    assert store.get(WEEK, "pm-gpt", EventKind.CHECKPOINT_SKIPPED, "a") is first[0]
    assert store.decoded == 1
    db = sqlite3.connect(path, isolation_level=None)
    edited = canonical_json({**first[0].payload, "reason": "edited"})
    db.execute("UPDATE events SET payload = ?", (edited,))
    assert store.list_week(WEEK)[0].payload["reason"] == "edited" and store.decoded == 2
    db.execute("UPDATE events SET payload = ?", (edited.replace(": ", ":"),))
    with pytest.raises(UnreadableEvent):
        store.list_week(WEEK)


def test_an_existing_sqlite_store_gets_the_week_index_when_opened_to_write(
        tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    SqliteEventStore(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP INDEX events_by_week")

    def indexes() -> set[str]:
        return {row[1] for row in db.execute("PRAGMA index_list(events)")}

    SqliteEventStore(path, read_only=True).close()
    assert "events_by_week" not in indexes()
    SqliteEventStore(path).close()
    assert "events_by_week" in indexes()
    plan = db.execute("EXPLAIN QUERY PLAN SELECT * FROM events WHERE week_id = ? AND"
                      " account_id = ? AND kind = ? AND subject = ?", ("w", "a", "k", ""))
    assert "events_by_week" in str(plan.fetchall())


def test_dynamodb_asks_again_for_keys_left_unprocessed_after_a_pause_and_gives_up_saying_so(
        ) -> None:
    from llmtrade.adapters.store.dynamodb import UNPROCESSED_ATTEMPTS, DynamoDBEventStore
    from moto import mock_aws

    from tests.support import create_event_table

    with mock_aws():
        create_event_table("events")
        store = DynamoDBEventStore("events")
        weeks = ("2026-11-11", "2026-11-18", "2026-11-25")
        for week in weeks:
            store.append(event(week=week))
        real, asked = store._client.batch_get_item, []
        pauses: list[float] = []
        store._sleep = pauses.append

        def throttled(RequestItems: dict[str, Any]) -> dict[str, Any]:
            request = RequestItems["events"]
            asked.append(len(request["Keys"]))
            if leave_all:
                return {"Responses": {}, "UnprocessedKeys": RequestItems}
            if len(asked) == 1:  # the first call processes one key only
                answer: dict[str, Any] = real(
                    RequestItems={"events": {**request, "Keys": request["Keys"][:1]}})
                answer["UnprocessedKeys"] = {"events": {**request, "Keys": request["Keys"][1:]}}
                return answer
            return dict(real(RequestItems=RequestItems))

        store._client.batch_get_item = throttled
        leave_all = False
        listed = store.list_account("pm-gpt", EventKind.CHECKPOINT_SKIPPED)
        assert [e.week_id for e in listed] == list(weeks)
        assert asked == [3, 2] and len(pauses) == 1 and pauses[0] > 0

        asked.clear()
        leave_all = True
        with pytest.raises(RuntimeError, match="unprocessed"):
            store.list_account("pm-gpt", EventKind.CHECKPOINT_SKIPPED)
        assert len(asked) == UNPROCESSED_ATTEMPTS
