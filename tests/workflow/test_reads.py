"""Reads in proportion to the work: a replay parses each stored event about once, however many
steps read it (the SQLite store decodes a row once, the log validates a payload once). A week's
checkpoints read it again and again: without that, a week parsed each event ~30 times."""

from __future__ import annotations

import contextlib
import io
import sqlite3
from pathlib import Path

from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.config import Settings
from llmtrade.entrypoints.cli.weekly import replay_weeks
from llmtrade.wiring import offline_services


def test_a_replayed_week_parses_each_stored_event_at_most_twice(settings: Settings,
                                                                tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "events.sqlite")
    services = offline_services(settings, store, SqliteOrderLedger(tmp_path / "sim.sqlite"))
    with contextlib.redirect_stdout(io.StringIO()):
        assert replay_weeks(services, ["2026-11-18"], as_json=True) == 0
    stored = sqlite3.connect(tmp_path / "events.sqlite").execute(
        "SELECT count(*) FROM events").fetchone()[0]
    assert stored > 150  # a week's run and its checkpoints, settled
    assert store.decoded <= 2 * stored
    assert services.events.payloads.validated <= 2 * stored
