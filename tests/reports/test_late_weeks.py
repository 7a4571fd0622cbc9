"""A week whose research was produced past its moment + grace (`WeekSummary.late`) is left out of
the leaderboard's statistics and shown as left out, with why."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.config import Settings
from llmtrade.domain.evaluation import LATE, Board
from llmtrade.reports import leaderboard_report_html
from llmtrade.reports.leaderboard import board
from llmtrade.services import Services

from tests.reports.conftest import WEEKS
from tests.support import cli


def _with_late_week(data: Path, copy: Path, week_id: str) -> None:
    """A copy of the store whose `week_id` summary says a pack came late."""
    copy.mkdir()
    with contextlib.closing(sqlite3.connect(data / "events.sqlite")) as source, \
            contextlib.closing(sqlite3.connect(copy / "events.sqlite")) as target:
        source.backup(target)
    with contextlib.closing(sqlite3.connect(copy / "events.sqlite", isolation_level=None)) as db:
        event_id, text = db.execute("SELECT event_id, payload FROM events WHERE week_id = ?"
                                    " AND kind = 'week_summary'", (week_id,)).fetchone()
        summary = json.loads(text)
        assert summary["late"] is False
        db.execute("UPDATE events SET payload = ? WHERE event_id = ?",
                   (json.dumps({**summary, "late": True}), event_id))


def _pooled(result: Board) -> int:
    """How many account-weeks the calibration pooled."""
    return sum(level.n for level in result.calibration.conviction)


def test_a_late_week_is_excluded_and_shown(replay: tuple[Path, Services], settings: Settings,
                                          tmp_path: Path) -> None:
    data, services = replay
    on_time = board(services.store, settings)
    assert on_time.weeks == len(WEEKS) and on_time.excluded == {}
    _with_late_week(data, tmp_path / "late", WEEKS[0])
    store = SqliteEventStore(tmp_path / "late" / "events.sqlite", read_only=True)
    late = board(store, settings)
    assert late.weeks == 1 and late.excluded_weeks == 1 and late.excluded == {WEEKS[0]: LATE}
    assert {r.weeks for r in late.rows} == {1}
    assert _pooled(late) < _pooled(on_time)
    shown = f"1 week(s) left out, {LATE} ({WEEKS[0]})"
    assert late.exclusions == [shown]
    code, out = cli("leaderboard", "--data-dir", str(tmp_path / "late"))
    assert code == 0 and shown in out.splitlines()[0]
    code, out = cli("leaderboard", "--json", "--data-dir", str(tmp_path / "late"))
    assert code == 0 and json.loads(out)["excluded"] == {WEEKS[0]: LATE}
    assert shown.replace("'", "&#39;") in leaderboard_report_html(store, settings)
