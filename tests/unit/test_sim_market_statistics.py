"""The simulated market does not flatter the rules it tests: what happened by noon says nothing
about the afternoon, overnight gaps carry a plausible share of the variance, nothing drifts by
default, and every fill pays the spread.

Statistics over the first 420 trading days (2024-01-03 to 2025-09) of the default seed."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.broker.sim_broker import SimBroker
from llmtrade.adapters.broker.sim_market import EPOCH, SimMarket
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.config import AssetsConfig, Settings
from llmtrade.domain.calendar import ET
from llmtrade.ports import BrokerRejected
from llmtrade.schemas import OrderRequest, OrderSide
from llmtrade.wiring import offline_services
from pydantic import ValidationError

DAYS = 420
CORRELATION_SYMBOLS = ("SPY", "TLT", "GLD", "USO")  # one per distinct kind of sleeve
# The overnight share of close-to-close variance each sleeve must show (sim_market's docstring
# says why): equities mostly trade in the cash session; rates, the dollar, gold and oil trade
# through the US night.
OVERNIGHT_BAND = {"risk_on_equity": (0.20, 0.35), "duration": (0.30, 0.50), "credit": (0.25, 0.45),
                  "usd": (0.35, 0.60), "gold": (0.35, 0.60), "oil": (0.35, 0.60)}
NOON = datetime(2025, 3, 12, 12, 0, tzinfo=ET)  # a Wednesday


def trading_days(market: SimMarket) -> list[date]:
    days: list[date] = []
    day = EPOCH + timedelta(days=1)
    while len(days) < DAYS:
        if market.session(day):
            days.append(day)
        day += timedelta(days=1)
    return days


Returns = dict[str, list[tuple[float, float, float]]]


@pytest.fixture(scope="module")
def returns(settings: Settings) -> Returns:
    """Per symbol, per day: log returns previous close -> open, -> 12:00, -> close."""
    market = SimMarket(settings.assets)
    out: Returns = {}
    for symbol in market.symbols:
        rows = []
        for day in trading_days(market):
            session = market.session(day)
            assert session is not None
            before = float(market.price(symbol, session.open - timedelta(minutes=1)))
            noon = datetime.combine(day, time(12), tzinfo=ET)
            gap, to_noon, to_close = (math.log(float(market.price(symbol, at)) / before)
                                      for at in (session.open, noon, session.close))
            rows.append((gap, to_noon, to_close))
        out[symbol] = rows
    return out


def test_the_move_to_noon_does_not_predict_the_move_after_it(returns: Returns) -> None:
    # pooled over the four symbols, each standardized by its own volatility
    before, after = [], []
    for symbol in CORRELATION_SYMBOLS:
        vol = statistics.pstdev(close for _, _, close in returns[symbol])
        before += [noon / vol for _, noon, _ in returns[symbol]]
        after += [(close - noon) / vol for _, noon, close in returns[symbol]]
    assert len(before) >= 400 * 4
    assert abs(statistics.correlation(before, after)) < 0.1


def test_overnight_gaps_carry_a_plausible_share_of_the_variance(settings: Settings,
                                                                returns: Returns) -> None:
    by_sleeve: dict[str, list[str]] = defaultdict(list)
    for asset in settings.assets.assets:
        by_sleeve[asset.sleeve].append(asset.symbol)
    assert set(by_sleeve) == set(OVERNIGHT_BAND)
    for sleeve, symbols in by_sleeve.items():
        gaps = sum(statistics.pvariance([gap for gap, _, _ in returns[s]]) for s in symbols)
        total = sum(statistics.pvariance([close for _, _, close in returns[s]]) for s in symbols)
        low, high = OVERNIGHT_BAND[sleeve]
        assert low < gaps / total < high, (sleeve, gaps / total)


def test_nothing_drifts_by_default(returns: Returns) -> None:
    # the mean daily simple return in units of each symbol's daily vol, pooled over the 12 symbols:
    # its standard error is 1/sqrt(12 x 420) = 0.014, so 0.06 holds with margin
    scaled = []
    for rows in returns.values():
        simple = [math.expm1(close) for _, _, close in rows]
        vol = statistics.pstdev(simple)
        scaled += [r / vol for r in simple]
    assert abs(statistics.fmean(scaled)) < 0.06


def test_a_configured_drift_shows(settings: Settings) -> None:
    assets = settings.assets.model_copy(update={"assets": [
        a.model_copy(update={"drift_annual_pct": 40.0}) if a.symbol == "HYG" else a
        for a in settings.assets.assets]})
    market = SimMarket(assets)
    days = trading_days(market)
    start, end = (float(market.price("HYG", datetime.combine(d, time(16), tzinfo=ET)))
                  for d in (days[0], days[-1]))
    yearly = (end / start) ** (252 / (len(days) - 1)) - 1
    # HYG's annual vol is 0.3 % x sqrt(252) = 4.8 %: 420 days pin the drift to a few %
    assert 0.30 < yearly < 0.50


def test_a_round_trip_at_one_moment_loses_the_spread(settings: Settings, tmp_path: Path) -> None:
    market = SimMarket(settings.assets)
    broker = SimBroker(market, SqliteOrderLedger(tmp_path / "ledger.sqlite"),
                       starting_equity=100_000, min_equity_for_short=2000, clock=lambda: NOON)
    for symbol in ("SPY", "BNO"):
        bid, ask = market.quote(symbol, NOON)
        mid = market.price(symbol, NOON)
        assert bid < mid < ask
        bought = broker.submit_order("a", OrderRequest(symbol=symbol, qty=100, side=OrderSide.BUY,
                                                       client_order_id=f"buy-{symbol}"))
        assert bought.filled_avg_price == ask
        [position] = [p for p in broker.positions("a") if p.symbol == symbol]
        assert position.market_value == 100 * mid  # marked at the mid
        sold = broker.submit_order("a", OrderRequest(symbol=symbol, qty=100, side=OrderSide.SELL,
                                                     client_order_id=f"sell-{symbol}"))
        assert sold.filled_avg_price == bid
    quotes = [market.quote(s, NOON) for s in ("SPY", "BNO")]
    spread_paid = sum(100 * (ask - bid) for bid, ask in quotes)
    assert spread_paid > 0
    assert broker.account("a").equity == Decimal(100_000) - spread_paid


def test_the_hard_to_borrow_list_reaches_the_offline_broker(settings: Settings,
                                                            tmp_path: Path) -> None:
    assets = settings.assets.model_copy(update={"hard_to_borrow": ("BNO",)})
    services = offline_services(settings.model_copy(update={"assets": assets}),
                                SqliteEventStore(tmp_path / "events.sqlite"),
                                SqliteOrderLedger(tmp_path / "ledger.sqlite"))
    broker = services.broker_at(NOON)
    bno, uso = broker.asset("a", "BNO"), broker.asset("a", "USO")
    # as Alpaca shows it: still a shortable security, but not available to borrow now
    assert (bno.shortable, bno.easy_to_borrow) == (True, False)
    assert (uso.shortable, uso.easy_to_borrow) == (True, True)
    with pytest.raises(BrokerRejected) as refused:
        broker.submit_order("a", OrderRequest(symbol="BNO", qty=10, side=OrderSide.SELL,
                                              client_order_id="short-bno"))
    assert refused.value.status == 403
    broker.submit_order("a", OrderRequest(symbol="USO", qty=10, side=OrderSide.SELL,
                                          client_order_id="short-uso"))


@pytest.mark.parametrize("change", [{"drift_annual_pct": math.inf}, {"drift_annual_pct": math.nan},
                                    {"drift_annual_pct": 80}, {"drift_annual_pct": -80}])
def test_a_drift_must_be_finite_and_bounded(settings: Settings, change: dict[str, float]) -> None:
    spy = settings.assets.assets[0].model_dump()
    with pytest.raises(ValidationError):
        AssetsConfig.model_validate({"assets": [{**spy, **change}]})


def test_the_hard_to_borrow_list_names_only_the_universe(settings: Settings) -> None:
    assets = [a.model_dump() for a in settings.assets.assets]
    assert AssetsConfig.model_validate({"assets": assets}).hard_to_borrow == ()
    with pytest.raises(ValidationError, match="ZZZ"):
        AssetsConfig.model_validate({"assets": assets, "hard_to_borrow": ["ZZZ"]})
