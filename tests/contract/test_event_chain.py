"""The tamper-evident log: every event recorded through the log is a link of its (week, account)
chain, in both stores; `verify` catches a one-byte change to any stored payload and names it."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from llmtrade.adapters.store.dynamodb import DynamoDBEventStore
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.events import EventLog
from llmtrade.mechanics.provenance import Verified, verify
from llmtrade.ports import EventStore
from llmtrade.schemas import CheckpointSkipped, Event, EventKind
from moto import mock_aws

from tests.support import create_event_table

T0 = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
WEEK = "2026-11-25"


def skipped(reason: str = "closed") -> CheckpointSkipped:
    return CheckpointSkipped(week_id=WEEK, at=T0, reason=reason)


def small_log(store: EventStore) -> EventLog:
    """Two chains of one week and one of the next."""
    ticks = iter(T0 + timedelta(seconds=i) for i in range(100))
    log = EventLog(store, clock=lambda: next(ticks))
    for account, subject in [("pm-gpt", "a"), ("pm-gpt", "b"), ("council", "a"),
                             ("pm-gpt", "c")]:
        log.record(skipped(f"{account} {subject} ü"), week_id=WEEK, account_id=account,
                   subject=subject)
    log.record(skipped(), week_id="2026-12-02", account_id="pm-gpt", subject="a")
    return log


class CountedHeads:
    """The store, counting the chain heads read from it."""

    def __init__(self, store: EventStore) -> None:
        self.store, self.reads = store, 0

    def chain_head(self, week_id: str, account_id: str) -> tuple[int, str] | None:
        self.reads += 1
        return self.store.chain_head(week_id, account_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def intact(store: EventStore) -> Verified:
    return verify(store, [WEEK, "2026-12-02"])


def test_each_account_week_is_one_chain_and_a_rerun_does_not_fork_it(
        store: EventStore) -> None:
    log = small_log(store)
    chain = sorted(store.list_week(WEEK, "pm-gpt"), key=lambda e: e.chain_index or 0)
    assert [e.chain_index for e in chain] == [1, 2, 3]
    assert [e.prev_hash for e in chain] == ["", chain[0].chain_hash, chain[1].chain_hash]
    assert store.chain_head(WEEK, "pm-gpt") == (3, chain[2].chain_hash)
    assert store.chain_head(WEEK, "council") is not None
    assert store.chain_head("2026-12-02", "council") is None

    again = log.record(skipped("a rerun's other answer"), week_id=WEEK, account_id="pm-gpt",
                       subject="b")
    assert not again.new and again.payload.reason == "pm-gpt b ü"
    assert store.chain_head(WEEK, "pm-gpt") == (3, chain[2].chain_hash)
    verified = intact(store)
    assert not verified.broken and verified.links == 5 and verified.unchained == 0


def test_two_writers_of_one_chain_conflict_and_the_loser_takes_the_next_link(
        store: EventStore) -> None:
    log = EventLog(store)
    log.record(skipped(), week_id=WEEK, account_id="pm-gpt", subject="a")
    stale = store.chain_head(WEEK, "pm-gpt")

    class StaleOnce:
        """A writer that read the head just before another writer appended."""

        def __init__(self) -> None:
            self.reads = 0

        def chain_head(self, week_id: str, account_id: str) -> tuple[int, str] | None:
            self.reads += 1
            return stale if self.reads == 1 else store.chain_head(week_id, account_id)

        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

    log.record(skipped(), week_id=WEEK, account_id="pm-gpt", subject="b")  # the other writer
    racing = StaleOnce()
    entry = EventLog(racing).record(skipped(), week_id=WEEK, account_id="pm-gpt", subject="c")
    assert entry.new and entry.event.chain_index == 3 and racing.reads == 2
    assert not intact(store).broken


def test_verify_names_a_changed_event_in_sqlite(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "events.sqlite")
    small_log(store)
    db = sqlite3.connect(tmp_path / "events.sqlite", isolation_level=None)
    rows = db.execute("SELECT event_id, payload, account_id, kind, subject, week_id"
                      " FROM events").fetchall()
    assert len(rows) == 5 and not intact(store).broken
    for event_id, text, account, kind, subject, week in rows:
        for position in range(len(text)):  # every byte of every stored payload
            changed = _one_byte_changed(text, position)
            db.execute("UPDATE events SET payload = ? WHERE event_id = ?", (changed, event_id))
            broken = intact(store).broken
            assert broken, (event_id, position, changed)
            first = broken[0]
            assert (first.week_id, first.account_id, first.kind, first.subject) == (
                week, account, kind, subject)
            db.execute("UPDATE events SET payload = ? WHERE event_id = ?", (text, event_id))
    assert not intact(store).broken


def _one_byte_changed(text: str, position: int) -> str:
    data = bytearray(text.encode())
    data[position] = data[position] + 1 if data[position] < 126 else 32
    return data.decode()


def test_verify_names_a_changed_event_in_dynamodb() -> None:
    with mock_aws():
        create_event_table("events")
        store = DynamoDBEventStore("events")
        small_log(store)
        table = boto3.resource("dynamodb").Table("events")
        items = [i for i in table.scan()["Items"] if "payload" in i]
        assert len(items) == 5 and not intact(store).broken
        pick = random.Random(13)
        for item in items:
            text = str(item["payload"])
            for position in [*pick.sample(range(len(text)), 12), 0, len(text) - 1]:
                key = {"pk": item["pk"], "sk": item["sk"]}
                table.update_item(Key=key, UpdateExpression="SET payload = :p",
                                  ExpressionAttributeValues={
                                      ":p": _one_byte_changed(text, position)})
                broken = intact(store).broken
                assert broken and (broken[0].account_id, broken[0].subject) == (
                    item["account_id"], item["subject"])
                table.update_item(Key=key, UpdateExpression="SET payload = :p",
                                  ExpressionAttributeValues={":p": text})
        assert not intact(store).broken


def test_verify_catches_a_removed_or_rehashed_link(store: EventStore, tmp_path: Path) -> None:
    small_log(store)
    events = sorted(store.list_week(WEEK, "pm-gpt"), key=lambda e: e.chain_index or 0)
    forged = events[1].model_copy(update={"payload": {**events[1].payload, "reason": "forged"}})
    # a forger who recomputes the changed link's own hash still breaks the link after it
    relinked = forged.chained(2, events[0].chain_hash or "")
    twin = SqliteEventStore(tmp_path / "twin.sqlite")
    for event in [*store.list_week(WEEK), *store.list_week("2026-12-02")]:
        twin.append(relinked if event.event_id == relinked.event_id else event)
    broken = intact(twin).broken
    assert broken and broken[0].subject == "c" and "does not follow" in broken[0].why


def test_an_old_store_is_chained_from_now_on_and_its_events_reported_unchained(
        tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript("""CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE, week_id TEXT NOT NULL, account_id TEXT NOT NULL,
        kind TEXT NOT NULL, subject TEXT NOT NULL, recorded_at TEXT NOT NULL,
        payload TEXT NOT NULL);""")
    legacy = Event.of(skipped(), week_id=WEEK, account_id="pm-gpt",
                      kind=EventKind.CHECKPOINT_SKIPPED, subject="old", recorded_at=T0)
    old.execute("INSERT INTO events (event_id, week_id, account_id, kind, subject, recorded_at,"
                 " payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (legacy.event_id, WEEK, "pm-gpt", "checkpoint_skipped", "old", T0.isoformat(),
                  '{"at": "2026-11-25T13:00:00Z", "reason": "closed", "week_id": "2026-11-25"}'))
    old.close()
    assert SqliteEventStore(path, read_only=True).chain_head(WEEK, "pm-gpt") is None
    store = SqliteEventStore(path)
    EventLog(store).record(skipped(), week_id=WEEK, account_id="pm-gpt", subject="new")
    verified = verify(store, [WEEK])
    assert not verified.broken and (verified.links, verified.unchained) == (1, 1)


def test_a_log_keeps_its_chain_heads_and_one_left_behind_takes_the_next_link(
        store: EventStore) -> None:
    counted = CountedHeads(store)
    log = EventLog(counted)
    for subject in "abc":
        log.record(skipped(), week_id=WEEK, account_id="pm-gpt", subject=subject)
    assert counted.reads == 1  # read once, then kept
    EventLog(store).record(skipped(), week_id=WEEK, account_id="pm-gpt", subject="d")
    # the kept head is behind another writer's link: the append conflicts, the head is read again
    entry = log.record(skipped(), week_id=WEEK, account_id="pm-gpt", subject="e")
    assert entry.new and entry.event.chain_index == 5 and counted.reads == 2
    # a rerun stores nothing and leaves the chain where it was
    assert not log.record(skipped("again"), week_id=WEEK, account_id="pm-gpt", subject="a").new
    assert log.record(skipped(), week_id=WEEK, account_id="pm-gpt",
                      subject="f").event.chain_index == 6
    verified = intact(store)
    assert not verified.broken and verified.links == 6


def test_the_heads_a_week_read_shows_are_kept_and_a_stale_one_is_read_again(
        store: EventStore) -> None:
    EventLog(store).record(skipped(), week_id=WEEK, account_id="pm-gpt", subject="a")
    counted = CountedHeads(store)
    log = EventLog(counted)
    log.week(WEEK)  # pm-gpt's chain has one link, council's none
    assert log.record(skipped(), week_id=WEEK, account_id="pm-gpt",
                      subject="b").event.chain_index == 2
    assert log.record(skipped(), week_id=WEEK, account_id="council",
                      subject="a").event.chain_index == 1
    assert counted.reads == 0  # the heads came with the week
    log.week(WEEK, "pm-gpt")
    EventLog(store).record(skipped(), week_id=WEEK, account_id="pm-gpt", subject="c")
    # another writer took the link after the read: the append conflicts, the head is read again
    entry = log.record(skipped(), week_id=WEEK, account_id="pm-gpt", subject="d")
    assert entry.new and entry.event.chain_index == 4 and counted.reads == 1
    verified = intact(store)
    assert not verified.broken and verified.links == 5
