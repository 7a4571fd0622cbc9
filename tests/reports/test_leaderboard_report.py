"""The cross-week page: a curve per leaderboard row, the table, and one dot per PM week with a peer
score."""

from __future__ import annotations

import re
from pathlib import Path

from llmtrade.config import Settings
from llmtrade.reports import leaderboard_report_html
from llmtrade.reports.leaderboard import board, postmortems
from llmtrade.services import Services

from tests.reports.conftest import WEEKS


def test_leaderboard_page_has_every_row_curve_and_dot(replay: tuple[Path, Services],
                                                      settings: Settings) -> None:
    _, services = replay
    html = leaderboard_report_html(services.store, settings)
    settled = postmortems(services.store, [a.id for a in settings.accounts.accounts])
    rows = board(services.store, settings).rows
    # 4 PMs, the council, FLAT, 3 benchmarks and 4 shadows, the virtual ones labelled so
    assert len(rows) == 13 and sum(1 for r in rows if r.virtual) == 7
    assert html.count("(virtual, never traded)") == 7
    for row in rows:
        assert f"<b>{row.name}</b>" in html and f"{row.cumulative_return * 100:+.2f}%" in html
    curves = html[html.index("Cumulative return per model and council"):
                  html.index("<h2>Table</h2>")]
    # one path per row, each through the start and every settled week
    paths = re.findall(r'<path d="(M[^"]+)" fill="none"', curves)
    assert len(paths) == len(rows) and all(p.count("L") == len(WEEKS) for p in paths)
    dots = [p for p in settled if p.kind == "pm" and p.review_score is not None]
    assert len(dots) == 8
    scatter = html[html.index("Peer-review score vs the week"):]
    assert scatter.count("<circle") == len(dots)
    for week_id in WEEKS:
        assert f"<td>{week_id}</td>" in html
    # the page says which weeks it pools, what may be claimed, and draws each interval
    assert "<b>Offline weeks</b>" in html and "Nothing is distinguishable over" in html
    assert "<span>Leader</span>" not in html
    assert html.count('<span class="range"') == sum(1 for r in rows if r.ci95)
    assert "<h2>Comparisons</h2>" in html and "p (Holm," in html
    calibration = html[html.index("Calibration, pooled across weeks"):]
    for criterion in ("overall", "edge plausibility", "indicator integrity", "tradeability"):
        assert f"<td>{criterion}</td>" in calibration


def test_an_empty_store_says_no_week_is_settled(settings: Settings, tmp_path: Path) -> None:
    from llmtrade.adapters.store.sqlite import SqliteEventStore

    html = leaderboard_report_html(SqliteEventStore(tmp_path / "events.sqlite"), settings)
    assert "No settled week yet" in html
