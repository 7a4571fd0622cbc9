"""The week's HTML report, from a real offline replay: content, the heatmap's mapping, escaping,
self-containment."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest
from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.config import Settings
from llmtrade.events import EventLog
from llmtrade.reports import week_report_html
from llmtrade.reports.week import build_week
from llmtrade.reports.week_council import HeatCell
from llmtrade.reports.week_trading import equity_curves
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    CheckpointUpdate,
    EventKind,
    OrderFinal,
    PeerReview,
    Pitch,
    PositionSnapshot,
    Postmortem,
)
from llmtrade.services import Services

from tests.reports.conftest import WEEKS
from tests.support import cli

WEEK = WEEKS[0]
HOSTILE = '<script>alert("pwned")</script>'


def test_every_pitch_and_decision_is_shown(replay: tuple[Path, Services],
                                           settings: Settings) -> None:
    _, services = replay
    html = week_report_html(services.store, settings, WEEK)
    pitches = [Pitch.model_validate(e.payload) for e in services.store.list_week(WEEK)
               if e.kind is EventKind.PITCH]
    assert len(pitches) == 4
    for pitch in pitches:
        for bullet in pitch.thesis_bullets:
            assert bullet in html
        assert pitch.invalidation in html
        assert f"{pitch.direction.value} {pitch.instrument}" in html
    decision = services.store.get(WEEK, "council", EventKind.CHAIRMAN_DECISION)
    assert decision is not None
    assert decision.payload["rationale"] in html and decision.payload["dissent_summary"] in html
    assert "OFFLINE" in html and "Result" in html  # the week is settled: its P/L table is there


def test_heatmap_maps_each_reviewers_labels_back_to_the_pitching_account(
        replay: tuple[Path, Services], settings: Settings) -> None:
    _, services = replay
    events = services.store.list_week(WEEK)
    reviews = [PeerReview.model_validate(e.payload) for e in events
               if e.kind is EventKind.PEER_REVIEW]
    account_of = {Pitch.model_validate(e.payload).idea_id: e.account_id for e in events
                  if e.kind is EventKind.PITCH}
    view = build_week(services.store, settings, WEEK)
    columns = cast(list[str], view["heat_columns"])
    rows = dict(cast(list[tuple[str, list[HeatCell]]], view["heat_rows"]))
    assert set(rows) == {r.reviewer_account for r in reviews}
    for review in reviews:
        expected = {account_of[review.label_map[label]]: round(r.scores.mean(), 1)
                    for label, r in review.reviews.items()}
        got = {columns[i]: cell.score for i, cell in enumerate(rows[review.reviewer_account])
               if cell.score is not None}
        assert got == expected
        assert review.reviewer_account not in got  # nobody reviews their own pitch
    html = week_report_html(services.store, settings, WEEK)
    heat_table = html[html.index('<table class="heat">'):]
    heat_table = heat_table[:heat_table.index("</table>")]
    assert heat_table.count('title="clarity') == sum(len(r.reviews) for r in reviews) == 12


def _equity_mismatches(services: Services, settings: Settings,
                       carried: bool) -> tuple[int, list[tuple[str, str, int]]]:
    """(points checked, points that differ from the broker) for the trading accounts that held
    (`carried`) or did not hold positions at the week's run. A point is the equity the checkpoint
    saw before it traded: a fill at that very moment has already paid its half-spread at the
    broker, so that cost is added back."""
    market = cast(SimMarket, services.market)
    checked, wrong = 0, []
    for week_id in WEEKS:
        week = EventLog(services.store).week(week_id)
        spread_paid: dict[tuple[str, datetime], Decimal] = defaultdict(Decimal)
        for final in week.all(OrderFinal):
            placed = final.broker_order
            if placed.filled_at is not None and placed.filled_avg_price is not None:
                mid = market.price(placed.symbol, placed.filled_at)
                spread_paid[final.account_id, placed.filled_at] += \
                    placed.filled_qty * abs(placed.filled_avg_price - mid)
        view = build_week(services.store, settings, week_id)
        moments = sorted({u.at for u in week.all(CheckpointUpdate)}
                         | {s.at for s in week.all(PositionSnapshot)}
                         | {p.settled_at for p in week.all(Postmortem)})
        curves = equity_curves(week, moments, {"flat"})
        assert set(curves) == {a.id for a in settings.accounts.accounts} and view["equity_svg"]
        opened = week.by_account(PositionSnapshot, subject="week_open")
        for account, points in curves.items():
            assert len(points) == len(moments)  # run, every checkpoint, settlement
            if account == "flat" or bool(opened[account].positions) != carried:
                continue
            for index, equity in points:
                at = moments[index]
                checked += 1
                truth = services.broker_at(at).account(account).equity + spread_paid[account, at]
                if equity != truth:
                    wrong.append((week_id, account, index))
    return checked, wrong


def test_equity_curves_from_events_match_the_simulated_broker(replay: tuple[Path, Services],
                                                              settings: Settings) -> None:
    """The checkpoints' points come from events only; the simulated broker knows the truth."""
    checked, wrong = _equity_mismatches(replay[1], settings, carried=False)
    assert checked > 100 and wrong == []


def test_equity_curves_with_a_carried_position_match_the_simulated_broker(
        replay: tuple[Path, Services], settings: Settings) -> None:
    checked, wrong = _equity_mismatches(replay[1], settings, carried=True)
    assert checked > 0 and wrong == []


def _tampered_store(source: Services, path: Path) -> SqliteEventStore:
    """The week's events, with model-written text that tries to inject HTML and a hostile source
    link."""
    store = SqliteEventStore(path)
    for event in source.store.list_week(WEEK):
        payload = dict(event.payload)
        if event.kind is EventKind.PITCH and event.account_id == "pm-gpt":
            payload["thesis_bullets"] = [HOSTILE, *payload["thesis_bullets"][1:]]
        elif event.kind is EventKind.CHAIRMAN_DECISION:
            payload["rationale"] = f'<img src=x onerror="alert(1)"> {HOSTILE}'
        elif event.kind is EventKind.RESEARCH_PACK:
            payload["citations"] = [
                {"title": "Fed minutes", "url": "https://www.federalreserve.gov/minutes.htm",
                 "date": "2026-11-10"},
                {"title": f"evil {HOSTILE}", "url": "javascript:alert(1)"},
            ]
        store.append(event.model_copy(update={"payload": payload}))
    return store


def test_model_text_is_escaped_and_the_page_is_self_contained(replay: tuple[Path, Services],
                                                              settings: Settings,
                                                              tmp_path: Path) -> None:
    _, services = replay
    html = week_report_html(_tampered_store(services, tmp_path / "events.sqlite"), settings, WEEK)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in html
    # shown as text, never as a link
    assert "javascript:" not in html.replace("(javascript:alert(1))", "")
    assert 'href="javascript' not in html
    assert ('<a href="https://www.federalreserve.gov/minutes.htm" '
            'rel="noopener noreferrer nofollow"') in html
    # no resource is fetched at view time: the only URLs are the research sources' links
    urls = set(re.findall(r"https?://[^\s\"'<)]+", html))
    assert urls == {"https://www.federalreserve.gov/minutes.htm"}
    assert not re.search(r"<(link|iframe|object|embed)\b|<[a-z]+[^>]*\ssrc=", html, re.IGNORECASE)


def test_an_unsettled_week_shows_its_positions(settings: Settings, tmp_path: Path) -> None:
    code, _ = cli("run-week", "--offline", "--week", "2026-11-25", "--data-dir", str(tmp_path))
    assert code == 0
    store = SqliteEventStore(tmp_path / "events.sqlite", read_only=True)
    html = week_report_html(store, settings, "2026-11-25")
    assert "not settled yet" in html and "Positions" in html and "No checkpoint has run yet" in html
    assert store.get("2026-11-25", SHARED_ACCOUNT, EventKind.WEEK_SUMMARY) is not None


def test_a_week_without_events_is_a_clear_error(replay: tuple[Path, Services],
                                                settings: Settings) -> None:
    _, services = replay
    with pytest.raises(LookupError, match="no events for week 2026-12-30"):
        week_report_html(services.store, settings, "2026-12-30")


def test_report_command_writes_the_file(replay: tuple[Path, Services], tmp_path: Path) -> None:
    data, _ = replay
    out = tmp_path / "nested" / "week.html"
    code, printed = cli("report", "--week", WEEK, "--data-dir", str(data), "--out", str(out))
    assert code == 0 and str(out) in printed and out.read_text().startswith("<!doctype html>")
    code, printed = cli("report", "--leaderboard", "--data-dir", str(data), "--out",
                        str(tmp_path / "lb.html"))
    assert code == 0 and "Leaderboard" in (tmp_path / "lb.html").read_text()
    assert cli("report", "--data-dir", str(data))[0] == 2  # neither --week nor --leaderboard
    assert cli("report", "--week", "2026-12-30", "--data-dir", str(data))[0] == 2
