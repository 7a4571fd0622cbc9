"""Properties of the checkpoint decision (domain.checkpoint_rules.decide) over any facts, and of
the client order ids the decisions place orders under."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from llmtrade.domain.calendar import ET
from llmtrade.domain.checkpoint_rules import CheckpointFacts, Decision, decide
from llmtrade.mechanics.orders import ClientOrderId, placed_by
from llmtrade.schemas import CheckpointAction, Indicator, IndicatorReading, Position

PROPERTIES = settings(max_examples=300, deadline=None, derandomize=True, database=None)

readings = st.lists(st.builds(
    lambda role, fired, n: IndicatorReading(
        indicator=Indicator(name=f"{role} {n}", measure="week_return_pct", instrument="SPY",
                            comparison=">", threshold=1.0, role=role),
        value=2.0 if fired else 0.0, fired=fired),
    st.sampled_from(["confirms", "invalidates", "flips"]), st.booleans(), st.integers(0, 9)),
    max_size=5)
positions = st.none() | st.builds(
    lambda qty, price, lifetime_entry, lifetime_pl: Position(
        symbol="SPY", qty=qty, avg_entry_price=Decimal(lifetime_entry),
        market_value=qty * Decimal(price), unrealized_pl=Decimal(lifetime_pl)),
    st.integers(-500, 500).filter(bool), st.integers(1, 1000), st.integers(1, 1000),
    st.integers(-50_000, 50_000))


stop_fills = st.decimals(Decimal("0.01"), Decimal(1000), places=3)
NOT_STOPPED: st.SearchStrategy[Decimal | None] = st.none()


@st.composite
def checkpoint_facts(draw: st.DrawFn,
                     stopped_out_at: st.SearchStrategy[Decimal | None] = NOT_STOPPED,
                     ) -> CheckpointFacts:
    """Any facts; by default the decision's protective stop has not filled."""
    stop = draw(st.floats(0.5, 10.0))
    return CheckpointFacts(
        conviction=draw(st.integers(-2, 2)), weekly_conviction=draw(st.integers(-2, 2)),
        instrument=draw(st.sampled_from(["SPY", None])), readings=tuple(draw(readings)),
        position=draw(positions), week_entry_price=Decimal(draw(st.integers(1, 1000))),
        short_borrowable=draw(st.sampled_from([True, False, None])), stop_loss_pct=stop,
        reduce_loss_pct=draw(st.floats(0.1, stop)), stopped_out_at=draw(stopped_out_at))


def fired(facts: CheckpointFacts, role: str) -> bool:
    return any(r.fired and r.indicator.role == role for r in facts.readings)


def waiting(facts: CheckpointFacts) -> bool:
    """The previous week's opposite position is still closing."""
    return facts.conviction != 0 and facts.position is not None and \
        (facts.position.qty > 0) != (facts.conviction > 0)


@PROPERTIES
@given(checkpoint_facts(st.none() | stop_fills))
def test_the_conviction_after_follows_the_action(facts: CheckpointFacts) -> None:
    decision = decide(facts)
    before, after = facts.conviction, decision.conviction_after
    assert -2 <= after <= 2 and decision.reason
    if decision.action is CheckpointAction.STAY:
        assert after == before
    elif decision.action is CheckpointAction.EXIT:
        assert after == 0 and before != 0
    elif decision.action is CheckpointAction.FLIP:
        assert abs(after) == 1 and after * before < 0
    else:  # REDUCE: one step toward flat, never across it
        assert abs(after) == abs(before) - 1 and after * before > 0


@PROPERTIES
@given(checkpoint_facts(st.none() | stop_fills))
def test_a_flat_account_always_stays(facts: CheckpointFacts) -> None:
    if facts.conviction == 0:
        decision = decide(facts)
        assert (decision.action, decision.conviction_after, decision.reason) == (
            CheckpointAction.STAY, 0, "flat: nothing to manage")


@PROPERTIES
@given(checkpoint_facts())
def test_while_the_opposite_position_closes_nothing_changes_and_its_pl_is_not_counted(
        facts: CheckpointFacts) -> None:
    decision = decide(facts)
    if waiting(facts):
        assert decision.action is CheckpointAction.STAY and decision.unrealized_pl == 0
        assert decision.reason == "waiting for the opposite position to close"
    elif facts.position is None:
        assert decision.unrealized_pl == 0
    else:  # this week's: the marked value against this week's cost
        held = facts.position
        assert decision.unrealized_pl == held.market_value - held.qty * facts.week_entry_price


@PROPERTIES
@given(checkpoint_facts(), positions)
def test_the_brokers_lifetime_entry_and_pl_never_change_the_decision(
        facts: CheckpointFacts, lifetime: Position | None) -> None:
    if facts.position is None or lifetime is None:
        return
    blended = facts.position.model_copy(update={"avg_entry_price": lifetime.avg_entry_price,
                                                "unrealized_pl": lifetime.unrealized_pl})
    assert decide(dataclasses.replace(facts, position=blended)) == decide(facts)


@PROPERTIES
@given(checkpoint_facts())
def test_after_a_flip_the_theses_indicators_no_longer_count(facts: CheckpointFacts) -> None:
    """Whatever the flipped-away thesis's indicators say (confirms, invalidates, flips), the
    flipped position is managed by the stop alone (REDUCE needs |2|, a flip holds |1|)."""
    if facts.conviction * facts.weekly_conviction >= 0 or waiting(facts):
        return
    decision = decide(facts)
    assert decision == decide(dataclasses.replace(facts, readings=()))
    stopped = facts.pl_pct <= -facts.stop_loss_pct
    assert decision.action is (CheckpointAction.EXIT if stopped else CheckpointAction.STAY)


@PROPERTIES
@given(checkpoint_facts())
def test_a_flip_never_flips_back(facts: CheckpointFacts) -> None:
    if facts.conviction * facts.weekly_conviction < 0:  # a checkpoint flipped the week's side
        assert decide(facts).action is not CheckpointAction.FLIP


@PROPERTIES
@given(checkpoint_facts())
def test_a_fired_flip_condition_flips_unless_the_short_cannot_be_borrowed(
        facts: CheckpointFacts) -> None:
    if waiting(facts) or facts.conviction == 0 or facts.conviction * facts.weekly_conviction < 0 \
            or not fired(facts, "flips"):
        return
    decision = decide(facts)
    to_short = facts.conviction > 0
    if to_short and facts.instrument is not None and not facts.short_borrowable:
        assert (decision.action, decision.conviction_after) == (CheckpointAction.EXIT, 0)
        assert decision.reason.endswith("SPY is not easy to borrow, so EXIT instead of a short")
    else:
        assert (decision.action is CheckpointAction.FLIP
                and decision.reason.startswith("flip condition met: "))


@PROPERTIES
@given(checkpoint_facts())
def test_an_invalidation_or_the_stop_loss_exits_before_any_reduce(facts: CheckpointFacts) -> None:
    flipped = facts.conviction * facts.weekly_conviction < 0  # the thesis's indicators retired
    if waiting(facts) or facts.conviction == 0 or (fired(facts, "flips") and not flipped):
        return
    decision = decide(facts)
    if fired(facts, "invalidates") and not flipped:
        assert (decision.action is CheckpointAction.EXIT
                and decision.reason.startswith("invalidated by "))
    elif facts.pl_pct <= -facts.stop_loss_pct:
        assert (decision.action is CheckpointAction.EXIT
                and decision.reason.startswith("stop loss: "))
    elif decision.action is CheckpointAction.REDUCE:
        assert facts.pl_pct <= -facts.reduce_loss_pct
        assert flipped or not fired(facts, "confirms")
    else:
        assert decision.action is CheckpointAction.STAY


@PROPERTIES
@given(checkpoint_facts(stop_fills), readings, positions)
def test_a_filled_protective_stop_exits_whatever_else_the_facts_say(
        facts: CheckpointFacts, other_readings: list[IndicatorReading],
        other_position: Position | None) -> None:
    """The stop at the broker ended the position: the record says EXIT at conviction 0, at the
    stop's fill price, whatever the indicators, the P/L or a position left over say."""
    if facts.conviction == 0:
        return
    decision = decide(facts)
    assert (decision.action, decision.conviction_after, decision.reason) == (
        CheckpointAction.EXIT, 0, f"stopped out at the broker at {facts.stopped_out_at}")
    other = decide(dataclasses.replace(facts, readings=tuple(other_readings),
                                       position=other_position))
    assert (other.action, other.conviction_after, other.reason) == (
        decision.action, decision.conviction_after, decision.reason)


def test_a_stopped_out_long_exits_with_the_fill_price_as_its_reason() -> None:
    # long at conviction 2, its stop filled on a gap at 95.125 overnight: the account is flat now
    facts = CheckpointFacts(conviction=2, weekly_conviction=2, instrument="SPY", readings=(),
                            position=None, week_entry_price=Decimal(0), short_borrowable=True,
                            stop_loss_pct=3.0, reduce_loss_pct=1.5,
                            stopped_out_at=Decimal("95.125"))
    assert decide(facts) == Decision(CheckpointAction.EXIT, 0,
                                     "stopped out at the broker at 95.125", Decimal(0))
    # without the stop's fill the same flat facts would STAY at 2 (the defect)
    stayed = decide(dataclasses.replace(facts, stopped_out_at=None))
    assert (stayed.action, stayed.conviction_after) == (CheckpointAction.STAY, 2)


def test_the_reduce_rule_with_its_reason() -> None:
    # short 10 at 100 this week (the broker's lifetime entry, 90, is a week older), now 102
    held = Position(symbol="SPY", qty=-10, avg_entry_price=Decimal(90),
                    market_value=Decimal(-1020), unrealized_pl=Decimal(-120))
    facts = CheckpointFacts(conviction=-2, weekly_conviction=-2, instrument="SPY", readings=(),
                            position=held, week_entry_price=Decimal(100), short_borrowable=None,
                            stop_loss_pct=3.0, reduce_loss_pct=1.5)
    decision = decide(facts)
    assert (decision.action, decision.conviction_after) == (CheckpointAction.REDUCE, -1)
    assert (decision.reason == "losing -2.00% with no confirming indicator"
            and decision.unrealized_pl == -20)


# --------------------------------------------------------------------------- client order ids
accounts = st.sampled_from(["pm-gpt", "pm-claude", "council", "pm-x-ai-grok"])
symbols = st.sampled_from(["SPY", "QQQ", "BRK.B", "TLT"])
legs = st.sampled_from(["close", "adjust", "open"])


@st.composite
def order_ids(draw: st.DrawFn) -> ClientOrderId:
    week = date(2026, 1, 7) + timedelta(weeks=draw(st.integers(0, 60)))
    checkpoint = None
    if draw(st.booleans()):  # a checkpoint of the week: Wednesday to Tuesday, maybe into January
        day = week + timedelta(days=draw(st.integers(0, 6)))
        checkpoint = datetime.combine(day, time(draw(st.integers(9, 15)), draw(st.integers(0, 59))),
                                      ET)
    return ClientOrderId(draw(accounts), week.isoformat(), draw(symbols), draw(legs), checkpoint)


@PROPERTIES
@given(order_ids())
def test_a_client_order_id_keeps_its_format_and_reads_back(order_id: ClientOrderId) -> None:
    text = str(order_id)
    stamp = f"-cp{order_id.checkpoint:%m%d%H%M}" if order_id.checkpoint else ""
    assert text == (f"{order_id.account_id}-{order_id.week_id}-{order_id.symbol}-{order_id.leg}"
                    f"{stamp}")
    assert ClientOrderId.parse(text) == order_id
    assert placed_by(text, order_id.account_id, order_id.week_id, order_id.checkpoint)
    assert not placed_by(text, order_id.account_id, order_id.week_id,
                         None if order_id.checkpoint else datetime(2026, 11, 25, 12, 0, tzinfo=ET))
    assert not placed_by(text, "pm-other", order_id.week_id, order_id.checkpoint)


def test_ids_this_system_did_not_place_are_not_ours() -> None:
    assert ClientOrderId.parse("left-over") is None
    assert ClientOrderId.parse("pm-gpt-2026-11-25-SPY-sell") is None
    assert not placed_by("left-over", "pm-gpt", "2026-11-25", None)
    cp = ClientOrderId.parse("pm-gpt-2026-11-25-QQQ-open-cp11251200")
    assert cp == ClientOrderId("pm-gpt", "2026-11-25", "QQQ", "open",
                               datetime(2026, 11, 25, 12, 0, tzinfo=ET))
