"""Several weeks offline: weekly runs, every checkpoint, the postmortems and the leaderboard
(SPEC §3.1, §4, §5).

One replay of three weeks (2026-11-11 → 2026-11-25: Thanksgiving Thursday is closed and Friday
closes at 13:00) through the real command, shared by the tests of this module; each test only reads
it, except the rerun, which must leave it exactly as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import cast

import pytest
from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.broker.sim_broker import SimBroker
from llmtrade.config import Settings
from llmtrade.domain.calendar import ET
from llmtrade.domain.leaderboard import spearman
from llmtrade.entrypoints.cli import main
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    ChairmanDecision,
    CheckpointUpdate,
    EventKind,
    Pitch,
    PositionSnapshot,
    Postmortem,
    WeekPostmortem,
)
from llmtrade.services import Services
from llmtrade.wiring import local_services

from tests.support import cli
from tests.workflow.expected import stored

WEEKS = ["2026-11-11", "2026-11-18", "2026-11-25"]
END = datetime(2026, 12, 2, 8, 0, tzinfo=ET)  # the last week is settled at the following weekly run
TRADING = ["pm-gpt", "pm-gemini", "pm-claude", "pm-grok", "council"]
ACCOUNTS = [*TRADING, "flat"]


@dataclass
class Replay:
    data: Path
    services: Services
    out: str
    code: int


@pytest.fixture(scope="module")
def replay(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replay]:
    data = tmp_path_factory.mktemp("weeks")
    code, out = cli("run-weeks", "--offline", "--from", WEEKS[0], "--to", WEEKS[-1],
                    "--data-dir", str(data))
    yield Replay(data=data, services=local_services(data, settings), out=out, code=code)


def scheduled_checkpoints(week_id: str) -> list[str]:
    """Every configured checkpoint time on the weekdays from this week's run until the next one."""
    from datetime import date, timedelta

    start = date.fromisoformat(week_id)
    days = [start + timedelta(days=i) for i in range(7)
            if (start + timedelta(days=i)).weekday() < 5]
    return [datetime.fromisoformat(f"{day}T{t}").replace(tzinfo=ET).isoformat()
            for day in days for t in ("09:00", "12:00", "14:00", "15:50")]


def test_every_week_is_decided_checkpointed_and_settled(replay: Replay) -> None:
    assert replay.code == 0
    store = replay.services.store
    for week_id in WEEKS:
        assert store.get(week_id, SHARED_ACCOUNT, EventKind.WEEK_SUMMARY) is not None
        assert store.get(week_id, "council", EventKind.CHAIRMAN_DECISION) is not None
        events = store.list_week(week_id)
        skipped = {e.subject for e in events if e.kind is EventKind.CHECKPOINT_SKIPPED}
        # each one ran for every trading account, or was skipped
        for at in scheduled_checkpoints(week_id):
            updated = {e.account_id for e in events
                       if e.kind is EventKind.CHECKPOINT_UPDATE and e.subject == at}
            assert (at in skipped) != (updated == set(TRADING)), at
        settled = {e.account_id for e in events if e.kind is EventKind.POSTMORTEM}
        assert settled == set(ACCOUNTS)
        assert store.get(week_id, SHARED_ACCOUNT, EventKind.WEEK_POSTMORTEM) is not None
    thanksgiving = store.list_week("2026-11-25", SHARED_ACCOUNT)
    holiday_skips = sorted(e.subject for e in thanksgiving
                           if e.kind is EventKind.CHECKPOINT_SKIPPED)
    # Thursday's four, and Friday's 14:00 and 15:50 after the 13:00 close
    assert len(holiday_skips) == 6
    assert all(s.startswith("2026-11-26") for s in holiday_skips[:4])
    assert holiday_skips[4:] == ["2026-11-27T14:00:00-05:00", "2026-11-27T15:50:00-05:00"]
    for week_id in WEEKS:  # one line per week as it is settled, then the leaderboard
        assert f"Week {week_id}: " in replay.out
    # the day after Thanksgiving closes at 13:00: a checkpoint at 12:50 too
    assert "Week 2026-11-25: 21 checkpoints (6 skipped)" in replay.out
    assert "sharpe" in replay.out and "GPT-5.1" in replay.out and "FLAT" in replay.out


def test_the_leaderboard_pnl_is_the_brokers_equity_change_to_the_cent(
        replay: Replay, settings: Settings) -> None:
    code, out = cli("leaderboard", "--data-dir", str(replay.data), "--json")
    document = json.loads(out)
    assert document["offline"] is True and document["weeks"] == 3
    # random offline PMs over 3 weeks: nothing may be called better than anything
    assert document["verdict"].startswith("Nothing is distinguishable over 3 offline")
    assert not any(c["significant"] for c in document["comparisons"])
    scores = {s["score"]: s for s in document["calibration"]["scores"]}
    assert len(scores) == 8 and scores["overall"]["n"] > 4  # pooled over the weeks
    assert sum(c["n"] for c in document["calibration"]["conviction"]) >= 3 * 4
    virtual = {r["name"]: r for r in document["rows"] if r["virtual"]}
    assert set(virtual) == {"bench-spy", "bench-universe", "bench-tbill", "shadow-vote",
                            "shadow-blend", "shadow-top", "shadow-random"}
    assert {r["kind"] for r in virtual.values()} == {"benchmark", "shadow"}
    ledger = SqliteOrderLedger(replay.data / "sim_broker.sqlite", read_only=True)
    assert all(ledger.orders(name) == [] for name in virtual)  # never sent to a broker
    assert all(Decimal(r["carry_pnl_usd"]) == 0 and r["weeks"] == 3 for r in virtual.values())
    rows = {tuple(r["accounts"]): r for r in document["rows"] if not r["virtual"]}
    assert code == 0 and set(rows) == {(a,) for a in ACCOUNTS}
    for r in [*rows.values(), *virtual.values()]:
        assert {"name", "kind", "weeks", "mean_weekly_return", "ci95", "decision_pnl_usd",
                "carry_pnl_usd"} <= set(r)
        assert (Decimal(r["decision_pnl_usd"]) + Decimal(r["carry_pnl_usd"])
                == Decimal(r["total_pnl_usd"]))
        low, high = r["ci95"]
        assert low <= r["mean_weekly_return"] <= high
    assert {r["kind"] for r in rows.values()} == {"pm", "council", "flat"}
    broker = replay.services.broker_at(END)
    start = Decimal(str(settings.risk.starting_equity_usd))
    for account_id in TRADING:
        assert (Decimal(rows[(account_id,)]["total_pnl_usd"])
                == broker.account(account_id).equity - start)
        assert rows[(account_id,)]["weeks"] == 3
    flat = rows[("flat",)]
    assert (flat["name"] == "FLAT" and Decimal(flat["total_pnl_usd"]) == 0
            and flat["cumulative_return"] == 0)
    assert (rows[("pm-gpt",)]["name"] == "GPT-5.1"
            and rows[("pm-gpt",)]["model"] == "openai/gpt-5.1")
    assert rows[("council",)]["name"] == "council"


def test_weeks_chain_and_the_postmortem_says_what_happened(
        replay: Replay, settings: Settings) -> None:
    store = replay.services.store
    for account_id in ACCOUNTS:
        weeks = [Postmortem.model_validate(e.payload)
                 for e in store.list_account(account_id, EventKind.POSTMORTEM)]
        assert [w.week_id for w in weeks] == WEEKS
        assert weeks[0].equity_start == Decimal(str(settings.risk.starting_equity_usd))
        for earlier, later in pairwise(weeks):
            # settled at the moment the next week opens
            assert earlier.equity_end == later.equity_start
            assert (earlier.settled_at
                    == datetime.fromisoformat(f"{later.week_id}T08:00").replace(tzinfo=ET))
    for week_id in WEEKS:
        flat = Postmortem.model_validate(
            stored(store, week_id, "flat", EventKind.POSTMORTEM).payload)
        assert flat.pnl == 0 and flat.instrument is None and flat.thesis_played_out is None
        decision = ChairmanDecision.model_validate(
            stored(store, week_id, "council", EventKind.CHAIRMAN_DECISION).payload)
        overall = {a.idea_id: a.overall for a in decision.aggregates}
        for account_id in TRADING:
            week = Postmortem.model_validate(
                stored(store, week_id, account_id, EventKind.POSTMORTEM).payload)
            assert (week.pnl == week.equity_end - week.equity_start
                    and week.pnl_vs_flat == week.pnl - flat.pnl)
            snapshot = stored(store, week_id, account_id, EventKind.POSITION_SNAPSHOT,
                              "week_open").payload
            assert ((week.instrument, week.conviction)
                    == (snapshot["target_instrument"], snapshot["conviction"]))
            updates = sorted((CheckpointUpdate.model_validate(e.payload)
                              for e in store.list_week(week_id, account_id)
                              if e.kind is EventKind.CHECKPOINT_UPDATE), key=lambda u: u.at)
            assert week.final_conviction == updates[-1].conviction_after
            fired = {r.indicator.name for u in updates for r in u.indicators if r.fired}
            assert set(week.indicators_fired) == fired
            if week.instrument is not None:
                market = replay.services.market
                entry = market.next_open(datetime.fromisoformat(snapshot["at"]))
                move = (market.price(week.instrument, week.settled_at)
                        - market.price(week.instrument, entry))
                assert week.thesis_played_out == (move * week.conviction > 0)
            if account_id != "council":  # the score the chairman saw for this PM's pitch
                pitch = Pitch.model_validate(
                    stored(store, week_id, account_id, EventKind.PITCH).payload)
                assert week.review_score == overall[pitch.idea_id]
        summary = WeekPostmortem.model_validate(
            stored(store, week_id, SHARED_ACCOUNT, EventKind.WEEK_POSTMORTEM).payload)
        pnl = [summary.decision_pnl_by_account[a] for a in summary.ranking]
        assert set(summary.ranking) == set(ACCOUNTS) and pnl == sorted(pnl, reverse=True)
        pms = list(summary.review_scores)
        assert len(pms) == 4 and summary.score_pnl_spearman == pytest.approx(
            spearman([summary.review_scores[a] for a in pms],
                     [float(summary.decision_pnl_by_account[a]) for a in pms]))


def test_decision_and_carry_sum_to_the_brokers_pnl_to_the_cent(replay: Replay) -> None:
    """Carry is last week's position from the run's mark to its close fill (or, kept, to the open
    where this week's trade starts); decision is the rest, so the two sum to the broker's P/L."""
    store, market = replay.services.store, replay.services.market
    broker = cast(SimBroker, replay.services.broker_at(END))
    carried = 0
    for account_id in ACCOUNTS:
        fills = {o.client_order_id: o for o in (broker.orders(account_id)
                                                if account_id != "flat" else [])}
        for e in store.list_account(account_id, EventKind.POSTMORTEM):
            week = Postmortem.model_validate(e.payload)
            assert week.decision_pnl + week.carry_pnl == week.pnl
            assert week.carry_pnl == week.carry_pnl.quantize(Decimal("0.01"))
            snapshot = PositionSnapshot.model_validate(stored(
                store, week.week_id, account_id, EventKind.POSITION_SNAPSHOT, "week_open").payload)
            expected = Decimal(0)
            for held in snapshot.positions:
                mark, kept = held.market_value / held.qty, held.qty
                for leg in ("close", "adjust"):  # shares the run's own fills took off it
                    order = fills.get(f"{account_id}-{week.week_id}-{held.symbol}-{leg}")
                    if order and order.filled_avg_price and (order.side == "buy") != (kept > 0):
                        closed = min(order.filled_qty, abs(kept)) * (1 if kept > 0 else -1)
                        expected += closed * (order.filled_avg_price - mark)
                        kept -= closed
                entry = market.next_open(snapshot.at)  # the rest re-enters at the open's mid
                expected += kept * (market.price(held.symbol, entry) - mark)
                carried += 1
            assert week.carry_pnl == expected.quantize(Decimal("0.01")), (account_id, week.week_id)
            updates = [u for u in store.list_week(week.week_id, account_id)
                       if u.kind is EventKind.CHECKPOINT_UPDATE]
            assert len(week.checkpoint_equity) == (0 if account_id == "flat" else len(updates))
    assert carried > 0  # some week did carry a position in


def test_a_rerun_of_the_range_changes_nothing(replay: Replay) -> None:
    ledger = SqliteOrderLedger(replay.data / "sim_broker.sqlite", read_only=True)

    def state() -> tuple[object, ...]:
        broker = cast(SimBroker, replay.services.broker_at(END))
        return ([replay.services.store.list_week(w) for w in WEEKS],
                [ledger.orders(a) for a in TRADING],
                [(broker.orders(a), broker.positions(a), broker.account(a)) for a in TRADING])

    before = state()
    code, out = cli("run-weeks", "--offline", "--from", WEEKS[0], "--to", WEEKS[-1],
                    "--data-dir", str(replay.data), "--json")
    assert code == 0 and state() == before
    document = json.loads(out)
    kinds = [row["kind"] for row in document["leaderboard"]["rows"]]
    assert [w["week_id"] for w in document["weeks"]] == WEEKS
    assert (kinds.count("pm"), kinds.count("council"), kinds.count("flat")) == (4, 1, 1)
    assert {"benchmark", "shadow"} <= set(kinds) and "verdict" in document["leaderboard"]


def test_the_commands_refuse_a_bad_range_or_a_missing_store(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run-weeks", "--offline", "--from", "2026-11-18", "--to", "2026-11-11",
                 "--data-dir", str(tmp_path)])
    assert code == 2 and "--to 2026-11-11 is before --from 2026-11-18" in capsys.readouterr().err
    code = main(["run-weeks", "--offline", "--from", "2026-11-10", "--to", "2026-11-18",
                 "--data-dir", str(tmp_path)])
    assert code == 2 and "2026-11-10 is a Tuesday" in capsys.readouterr().err
    assert not (tmp_path / "events.sqlite").exists()
    code = main(["leaderboard", "--data-dir", str(tmp_path / "none")])
    assert code == 2 and "no event store there" in capsys.readouterr().err


def test_a_week_cannot_be_settled_before_its_run_and_a_week_without_a_run_settles_nothing(
        replay: Replay) -> None:
    from llmtrade.steps.postmortem import settle_week

    with pytest.raises(ValueError, match="before its run at 2026-11-11T08:00:00-05:00"):
        settle_week(replay.services, WEEKS[0], datetime(2026, 11, 10, 16, 0, tzinfo=ET))
    assert settle_week(replay.services, "2026-11-04", END) == {"week_id": "2026-11-04",
                                                              "settled": []}
