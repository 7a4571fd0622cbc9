"""The virtual book (benchmarks and shadows): entered at the fill moment, marked at checkpoints,
managed by the real checkpoint rules, valued at the settlement; and what the shadows hold."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from llmtrade.domain.calendar import ET
from llmtrade.domain.shadows import blend, held_at_gross, legs_of, random_pm, top, vote
from llmtrade.domain.virtual_book import Leg, Moments, Rules, run_week
from llmtrade.schemas import Direction, Indicator, Pitch

RUN = datetime(2026, 11, 18, 8, 0, tzinfo=ET)
MOMENTS = Moments(run=RUN, entry=RUN + timedelta(minutes=90),
                  checkpoints=(RUN + timedelta(hours=4), RUN + timedelta(days=1)),
                  settlement=RUN + timedelta(days=7))
RULES = Rules(stop_loss_pct=3.0, reduce_loss_pct=1.5)


def path(*values: str) -> dict[datetime, Decimal]:
    moments = [MOMENTS.run, MOMENTS.entry, *MOMENTS.checkpoints, MOMENTS.settlement]
    return dict(zip(moments, (Decimal(v) for v in values), strict=True))


def test_a_fixed_leg_is_held_and_marked_at_every_checkpoint() -> None:
    prices = path("100", "100", "98", "101", "105")
    week = run_week([Leg("SPY", shares=10)], Decimal(100_000), MOMENTS,
                    lambda s, at: prices[at], RULES)
    assert week.marks == [Decimal("99980.00"), Decimal("100010.00")]
    assert week.equity_end == Decimal("100050.00") and week.gross_usd == Decimal("1000.00")
    assert week.traded_usd == Decimal("1000.00")


def test_a_managed_leg_is_stopped_out_by_the_checkpoint_rules() -> None:
    prices = path("100", "100", "96", "80", "70")  # -4 % at the first checkpoint: past the stop
    week = run_week([Leg("SPY", conviction=2, budget_usd=20_000)], Decimal(100_000), MOMENTS,
                    lambda s, at: prices[at], RULES)
    # 200 shares bought at 100, sold at 96: -800, nothing held afterwards
    assert week.equity_end == Decimal("99200.00") and week.marks[-1] == Decimal("99200.00")
    assert week.traded_usd == Decimal("39200.00")


def test_cash_earns_only_the_interest_it_is_given() -> None:
    week = run_week([], Decimal(100_000), MOMENTS, lambda s, at: Decimal(1), RULES,
                    Decimal("76.71"))
    assert week.equity_end == Decimal("100076.71") and week.gross_usd == 0


def pitch(account: str, symbol: str, conviction: int) -> Pitch:
    direction = Direction.LONG if conviction > 0 else Direction.SHORT
    indicator = Indicator(name="i", measure="price", instrument=symbol, comparison=">",
                          threshold=1.0, role="confirms")
    return Pitch(instrument=symbol, direction=direction, thesis_bullets=["x"],
                 indicators=[indicator], invalidation="y", conviction=conviction,
                 idea_id=f"idea-{account}", week_id="2026-11-18", model="m", answered_by="m",
                 timestamp=RUN)


def test_the_shadows_vote_blend_and_pick_from_the_stored_pitches() -> None:
    pitches = [pitch("a", "SPY", 2), pitch("b", "SPY", 1), pitch("c", "TLT", -2),
               pitch("d", "GLD", 1)]
    scores = {"idea-a": 6.0, "idea-b": 7.0, "idea-c": 9.0, "idea-d": 5.0}
    [voted] = vote(pitches, scores, 20_000)
    assert (voted.symbol, voted.conviction) == ("SPY", 2)  # two voted SPY long: mean |1.5| -> 2
    assert vote(pitches[1:], scores, 20_000) == []  # no two pitches agree: FLAT
    assert [(leg.symbol, leg.budget_usd) for leg in blend(pitches, 20_000)] == [
        ("SPY", 5000), ("SPY", 5000), ("TLT", 5000), ("GLD", 5000)]
    assert [(leg.symbol, leg.conviction) for leg in top(pitches, scores, 20_000)] == [("TLT", -2)]
    assert random_pm(["SPY", "TLT"], 13, "2026-11-18", 1) == random_pm(["TLT", "SPY"], 13,
                                                                       "2026-11-18", 1)
    legs = held_at_gross(["SPY", "TLT"], Decimal(1000), lambda s: Decimal(30))
    assert [leg.shares for leg in legs] == [16, 16]
    assert legs_of("bench-tbill", pitches, scores, symbols=["SPY"], gross_usd=Decimal(1),
                   budget_usd=1, seed=1, week_id="w", entry_price=lambda s: Decimal(1)) == []
