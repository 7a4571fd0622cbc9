from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from llmtrade.domain.checkpoint_rules import CheckpointFacts, decide
from llmtrade.domain.indicators import read
from llmtrade.domain.reviews import aggregate, label_map
from llmtrade.domain.sizing import legs_to_target, target_shares
from llmtrade.schemas import (
    Indicator,
    IndicatorReading,
    OrderSide,
    PeerReview,
    PitchReview,
    PitchScores,
    Position,
)


def position(symbol: str, qty: int) -> Position:
    return Position(symbol=symbol, qty=qty, avg_entry_price=Decimal(10),
                    market_value=Decimal(qty * 10), unrealized_pl=Decimal(0))


def test_size_follows_conviction_in_whole_shares() -> None:
    assert target_shares(2, 20000, Decimal("100")) == 200
    assert target_shares(1, 20000, Decimal("100")) == 100
    assert target_shares(-1, 20000, Decimal("33")) == -303
    assert target_shares(0, 20000, Decimal("100")) == 0


@pytest.mark.parametrize(
    ("held", "symbol", "target", "expected"),
    [
        ([], "SPY", 10, [("open", "SPY", OrderSide.BUY, 10)]),
        ([position("SPY", 10)], "SPY", 10, []),
        # same side: adjust, never close and reopen (SPEC §3.1)
        ([position("SPY", 10)], "SPY", 15, [("adjust", "SPY", OrderSide.BUY, 5)]),
        ([position("SPY", -10)], "SPY", -4, [("adjust", "SPY", OrderSide.BUY, 6)]),
        # crossing through zero is two legs
        ([position("SPY", 10)], "SPY", -5,
         [("close", "SPY", OrderSide.SELL, 10), ("open", "SPY", OrderSide.SELL, 5)]),
        ([position("SPY", 10)], "SPY", 0, [("close", "SPY", OrderSide.SELL, 10)]),
        ([position("TLT", -3)], "SPY", 2,
         [("close", "TLT", OrderSide.BUY, 3), ("open", "SPY", OrderSide.BUY, 2)]),
        ([position("TLT", 3)], None, 0, [("close", "TLT", OrderSide.SELL, 3)]),
    ],
)
def test_legs_to_target(held: list[Position], symbol: str | None, target: int,
                        expected: list[tuple[str, str, OrderSide, int]]) -> None:
    legs = legs_to_target(held, symbol, target)
    assert [(leg.name, leg.symbol, leg.side, leg.qty) for leg in legs] == expected


def test_labels_are_neutral_shuffled_per_seed_and_complete() -> None:
    ideas = [f"w:pm-{i}" for i in range(4)]
    first = label_map(ideas, "w:pm-a")
    assert list(first) == ["Pitch A", "Pitch B", "Pitch C", "Pitch D"]
    assert sorted(first.values()) == sorted(ideas)
    assert label_map(list(reversed(ideas)), "w:pm-a") == first  # input order reveals nothing
    assert len({tuple(label_map(ideas, f"w:pm-{i}").values()) for i in range(10)}) > 1


def _review(label_map_: dict[str, str], scores: dict[str, int]) -> PeerReview:
    def pitch_review(score: int) -> PitchReview:
        return PitchReview(scores=PitchScores(**dict.fromkeys(PitchScores.model_fields, score)),
                           best_argument_against="x", one_flip_condition="y", suggested_fix="z")

    return PeerReview(week_id="w", reviewer_account="r", reviewer_model="m", label_map=label_map_,
                      reviews={label: pitch_review(score) for label, score in scores.items()},
                      timestamp=datetime(2026, 1, 1, tzinfo=UTC))


def test_scores_aggregate_per_idea_across_reviewers_best_first() -> None:
    reviews = [_review({"A": "i1", "B": "i2"}, {"A": 8, "B": 4}),
               _review({"A": "i2", "B": "i3"}, {"A": 6, "B": 9})]
    result = aggregate(["i1", "i2", "i3", "i4"], reviews)
    assert [(a.idea_id, a.reviews, a.overall) for a in result] == [
        ("i3", 1, 9.0), ("i1", 1, 8.0), ("i2", 2, 5.0), ("i4", 0, 0.0)]


def indicator(role: str, comparison: str = ">", threshold: float = 1.0,
              measure: str = "week_return_pct") -> Indicator:
    return Indicator(name=f"{role} {comparison} {threshold}", measure=measure, instrument="SPY",
                     comparison=comparison, threshold=threshold, role=role)


def test_indicators_measure_price_and_week_return() -> None:
    assert read(indicator("confirms"), Decimal("102"), Decimal("100")).model_dump(
        include={"value", "fired"}) == {"value": 2.0, "fired": True}
    assert read(indicator("confirms", "<", 101.5, "price"), Decimal("102"),
                Decimal("100")).fired is False


def facts(conviction: int, readings: list[IndicatorReading], pl_pct: float) -> CheckpointFacts:
    """A checkpoint holding SPY on the conviction's side, `pl_pct` % from its $10,000 entry."""
    qty = 100 if conviction > 0 else -100
    held = None if conviction == 0 else Position(
        symbol="SPY", qty=qty, avg_entry_price=Decimal(100),
        market_value=Decimal(qty * 100) + Decimal(str(pl_pct * 100)), unrealized_pl=Decimal(0))
    return CheckpointFacts(conviction=conviction, weekly_conviction=conviction, instrument="SPY",
                           readings=tuple(readings), position=held,
                           week_entry_price=Decimal(100), short_borrowable=True,
                           stop_loss_pct=3.0, reduce_loss_pct=1.5)


def acted(checkpoint: CheckpointFacts) -> tuple[str, int]:
    decision = decide(checkpoint)
    return decision.action, decision.conviction_after


def test_checkpoint_rules() -> None:
    fired_invalidation = [read(indicator("invalidates", "<", -1.0), Decimal("97"), Decimal("100"))]
    assert acted(facts(2, fired_invalidation, 0.5)) == ("EXIT", 0)
    assert acted(facts(-2, [], -3.5)) == ("EXIT", 0)
    assert acted(facts(2, [], -2.0)) == ("REDUCE", 1)
    assert acted(facts(-2, [], -2.0)) == ("REDUCE", -1)
    confirming = [read(indicator("confirms"), Decimal("102"), Decimal("100"))]
    assert acted(facts(2, confirming, -2.0)) == ("STAY", 2)
    assert acted(facts(0, fired_invalidation, -9)) == ("STAY", 0)
    assert decide(facts(-2, [], -3.5)).reason == "stop loss: -3.50% <= -3.0%"
    assert decide(facts(2, [], -2.0)).reason == "losing -2.00% with no confirming indicator"
