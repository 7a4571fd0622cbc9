"""The event log over every store: payloads in and out by type, kinds derived, reruns return the
first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from llmtrade.events import EventLog, kind_of
from llmtrade.ports import EventStore
from llmtrade.schemas import CheckpointSkipped, EventKind, PitchAnswer, RunDisabled

T0 = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
WEEK = "2026-11-25"


def clock(start: datetime = T0) -> Callable[[], datetime]:
    ticks = iter(range(1000))
    return lambda: start + timedelta(seconds=next(ticks))


def skipped(reason: str) -> CheckpointSkipped:
    return CheckpointSkipped(week_id=WEEK, at=T0, reason=reason)


def test_record_derives_the_kind_and_stamps_time_once(store: EventStore) -> None:
    log = EventLog(store, clock())
    entry = log.record(skipped("closed"), week_id=WEEK, account_id="shared", subject="a")
    assert (entry.new and entry.event.kind is EventKind.CHECKPOINT_SKIPPED
            and entry.recorded_at == T0)
    assert store.get(WEEK, "shared", EventKind.CHECKPOINT_SKIPPED, "a") is not None
    assert log.get(CheckpointSkipped, WEEK, "shared", "a") == skipped("closed")


def test_recording_again_returns_the_first_payload(store: EventStore) -> None:
    log = EventLog(store, clock())
    log.record(skipped("first"), week_id=WEEK, account_id="shared", subject="a")
    again = log.record(skipped("second"), week_id=WEEK, account_id="shared", subject="a")
    assert not again.new and again.payload.reason == "first" and again.recorded_at == T0


def test_recorded_runs_the_work_only_when_the_event_is_missing(
        store: EventStore) -> None:
    log, calls = EventLog(store, clock()), []

    def work() -> CheckpointSkipped:
        calls.append(1)
        return skipped(f"call {len(calls)}")

    first = log.recorded(CheckpointSkipped, WEEK, "shared", "a", otherwise=work)
    second = log.recorded(CheckpointSkipped, WEEK, "shared", "a", otherwise=work)
    assert calls == [1] and first.event_id == second.event_id and second.payload.reason == "call 1"


def test_week_queries_by_type_account_and_subject(store: EventStore) -> None:
    log = EventLog(store, clock())
    for account, subject in [("pm-a", "x"), ("pm-b", "x"), ("pm-a", "y")]:
        log.record(skipped(f"{account}/{subject}"), week_id=WEEK, account_id=account,
                   subject=subject)
    log.record(RunDisabled(workflow="weekly", at=T0, reason="off"), week_id=WEEK,
               account_id="shared")
    week = log.week(WEEK)
    assert [s.reason for s in week.all(CheckpointSkipped)] == ["pm-a/x", "pm-b/x", "pm-a/y"]
    assert [s.reason for s in week.all(CheckpointSkipped, "pm-a")] == ["pm-a/x", "pm-a/y"]
    assert week.get(CheckpointSkipped, "pm-b", "x") == skipped("pm-b/x")
    assert week.by_subject(CheckpointSkipped, "pm-a").keys() == {"x", "y"}
    assert week.subjects(CheckpointSkipped) == {"x", "y"} and week.has(RunDisabled, "shared")
    assert log.history(CheckpointSkipped, ["pm-b", "pm-a"])[0].reason == "pm-b/x"


def test_only_payload_types_are_recorded() -> None:
    with pytest.raises(TypeError, match="PitchAnswer is not an event payload"):
        kind_of(PitchAnswer)


def test_a_week_validates_each_payload_once(store: EventStore) -> None:
    log = EventLog(store, clock())
    for subject in "xyz":
        log.record(skipped(subject), week_id=WEEK, account_id="pm-a", subject=subject)
    week = log.week(WEEK)
    before = log.payloads.validated
    first = week.all(CheckpointSkipped)
    assert week.all(CheckpointSkipped, "pm-a") == first
    assert first[0] is week.all(CheckpointSkipped)[0]
    assert week.get(CheckpointSkipped, "pm-a", "y") is first[1]
    assert week.by_subject(CheckpointSkipped).keys() == {"x", "y", "z"}
    assert log.payloads.validated - before == 3


def test_week_now_adds_what_this_log_recorded_since_the_read(
        store: EventStore, monkeypatch: pytest.MonkeyPatch) -> None:
    log, other = EventLog(store, clock()), EventLog(store, clock(T0 + timedelta(hours=1)))
    log.record(skipped("before"), week_id=WEEK, account_id="pm-a", subject="0")
    week = log.week(WEEK, "pm-a")
    log.record(skipped("mine"), week_id=WEEK, account_id="pm-a", subject="1")
    log.record(skipped("another account"), week_id=WEEK, account_id="pm-b", subject="1")
    log.record(skipped("another week"), week_id="2026-12-02", account_id="pm-a", subject="1")
    other.record(skipped("another writer"), week_id=WEEK, account_id="pm-a", subject="2")
    monkeypatch.setattr(store, "list_week", lambda *args: pytest.fail("week_now read the store"))
    now = log.week_now(week)
    monkeypatch.undo()
    assert [s.reason for s in now.all(CheckpointSkipped)] == ["before", "mine"]
    # over the whole week: every account's, still only this log's own since the read
    everyone = log.week_now(log.week(WEEK))
    assert {s.reason for s in everyone.all(CheckpointSkipped)} == {
        "before", "mine", "another account", "another writer"}
    with pytest.raises(ValueError, match="a week this log read"):
        log.week_now(type(week)([]))
