"""The simulated broker brought forward reports what a fresh one computes from the ledger.

SimBroker keeps each account's book (sim_book: open orders re-evaluated, positions folded as fills
come) and how far resting stops were watched (sim_orders) instead of recomputing them from the
whole ledger at every call. What it reports must be what a new process (a cold start, a rerun)
computes from the same ledger at the same clock. Hypothesis drives one long-lived broker through
the Broker port: market orders, `oto` entries with their stops, resting stops, reused ids,
cancels (of orders and of legs), orders placed by another process and by another broker of the
same process over the same ledger object at another clock (as the offline run makes one per step
and moment: they share what is derived from the ledger), the clock moving on by seconds to days
and sometimes back, two accounts, under the fill models the simulator offers (at once, `new` then
filled in parts, rejected later). Every write is also made by a fresh broker over a twin ledger
opened anew (the answers and the two ledgers must agree), and after every step every read of the
long-lived brokers is compared with a fresh broker's over a new connection to the same ledger,
whose positions and cash must be its orders' fills added up and whose open orders its orders that
are open (a book built from scratch is checked as well). The explicit examples are the paths
found or broken on purpose: each fails when the book is.
"""

from __future__ import annotations

import tempfile
from contextlib import closing
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from hypothesis import example, given, settings
from hypothesis import strategies as st
from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.broker.sim_broker import IMMEDIATE, REALISTIC, FillModel, SimBroker
from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.adapters.broker.sim_orders import OPEN
from llmtrade.config import load_settings
from llmtrade.domain.calendar import ET
from llmtrade.schemas import AccountState, BrokerOrder, OrderRequest, OrderSide, Position

from tests.conftest import REPO

PROPERTIES = settings(max_examples=40, deadline=None, derandomize=True, database=None)
MARKET = SimMarket(load_settings(REPO / "config").assets)
# the ledgers' files where a memory-backed folder exists: their syncs to disk would take most of
# the time
IN_MEMORY = Path("/dev/shm")
ACCOUNTS = ("a", "b")
STARTING_EQUITY = 20_000
SYMBOLS = ("SPY", "USO", "TLT")  # the oil fund moves most: its stops trigger within hours
STARTS = (datetime(2026, 11, 23, 9, 29, 50, tzinfo=ET),  # a Monday, just before the open
          datetime(2026, 11, 23, 11, 0, tzinfo=ET),  # in its session
          datetime(2026, 11, 25, 15, 58, tzinfo=ET),  # before Thanksgiving's closed day
          datetime(2026, 11, 27, 12, 55, tzinfo=ET),  # a half day, minutes before its close
          datetime(2026, 11, 28, 10, 0, tzinfo=ET))  # a Saturday


def _lots_of_three(order: BrokerOrder) -> bool:
    return order.qty % 3 == 0


FILL_MODELS = (IMMEDIATE, REALISTIC,
               FillModel(latency=timedelta(seconds=3), partial=0.3, rejects=_lots_of_three),
               FillModel(latency=timedelta(minutes=20), partial=0.5, rejects=_lots_of_three))


# ---------------------------------------------------------------------------------- the steps
@dataclass(frozen=True)
class Submit:
    account: int
    symbol: str
    qty: int
    side: OrderSide
    kind: Literal["market", "oto", "stop"]
    stop_bps: int  # the stop's distance from the price, in basis points
    reuse: int | None  # an earlier client_order_id of the account (by index), else a new one
    # None: placed by the process watched; else by another one over the same ledger, at a moment
    # this share of the way from the account's latest order to the clock (it may be behind)
    elsewhere: float | None
    # with `elsewhere`: by another broker of the process watched (the same ledger object)
    beside: bool = False


@dataclass(frozen=True)
class Cancel:
    account: int
    pick: int  # one of the account's client_order_ids (legs included), by index
    elsewhere: float | None
    beside: bool = False


@dataclass(frozen=True)
class Move:
    seconds: int  # negative: the clock goes back


Step = Submit | Cancel | Move

elsewhere = st.sampled_from((None, None, 1.0, 0.0, 0.5, 0.9))
submits = st.builds(Submit, account=st.integers(0, len(ACCOUNTS) - 1),
                    symbol=st.sampled_from(SYMBOLS), qty=st.integers(1, 40),
                    side=st.sampled_from(OrderSide),
                    kind=st.sampled_from(("market", "market", "oto", "stop")),
                    stop_bps=st.sampled_from((3, 10, 40)),
                    reuse=st.sampled_from((None, None, None, None, 0, 1, 2, 3, 5, 8)),
                    elsewhere=elsewhere, beside=st.booleans())
cancels = st.builds(Cancel, account=st.integers(0, len(ACCOUNTS) - 1), pick=st.integers(0, 40),
                    elsewhere=elsewhere, beside=st.booleans())
forward = st.sampled_from((1, 2, 3, 5, 60, 60, 300, 600, 1800, 3600, 4 * 3600, 86_400,
                           3 * 86_400))
ahead = st.builds(Move, forward)
back = st.builds(Move, forward.map(lambda seconds: -seconds))
steps = st.lists(st.one_of(submits, submits, submits, cancels, ahead, ahead, ahead, back),
                 min_size=10, max_size=40)


# ---------------------------------------------------------------------------------- the brokers
class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _broker(ledger: SqliteOrderLedger, clock: Clock, fills: FillModel) -> SimBroker:
    return SimBroker(MARKET, ledger, starting_equity=STARTING_EQUITY, min_equity_for_short=2000,
                     clock=clock, fills=fills)


def _request(step: Submit, client_order_id: str, now: datetime) -> OrderRequest:
    price = MARKET.price(step.symbol, now)
    # a stop sells below the price (buys above); an entry's stop sits on the other side of it
    below = (step.side is OrderSide.SELL) == (step.kind == "stop")
    stop = (price * (1 + (-1 if below else 1) * Decimal(step.stop_bps) / 10_000)).quantize(
        Decimal("0.01"))
    if step.kind == "stop":
        return OrderRequest.stop(step.symbol, step.qty, step.side, stop, client_order_id)
    return OrderRequest(symbol=step.symbol, qty=step.qty, side=step.side,
                        client_order_id=client_order_id,
                        **({"time_in_force": "gtc", "stop_loss": stop} if step.kind == "oto"
                           else {}))


def _write(broker: SimBroker, step: Submit | Cancel, account: str, client_order_id: str,
           now: datetime) -> object:
    """The broker's answer to the write: the order it returns, or what it raised."""
    try:
        if isinstance(step, Cancel):
            broker.cancel_order(account, client_order_id)
            return None
        return broker.submit_order(account, _request(step, client_order_id, now))
    except RuntimeError as error:  # BrokerRejected, or the refusal to go back in time
        return type(error).__name__, str(error)


@dataclass(frozen=True)
class View:
    """Everything the Broker port reports about one account at the clock."""

    orders: list[BrokerOrder]
    open_orders: list[BrokerOrder]
    positions: list[Position]
    account: AccountState
    latest_order_at: datetime | None
    by_client_id: dict[str, BrokerOrder | None]


def _views(broker: SimBroker, client_ids: dict[str, list[str]]) -> dict[str, View]:
    return {account: View(broker.orders(account), broker.open_orders(account),
                          broker.positions(account), broker.account(account),
                          broker.latest_order_at(account),
                          {cid: broker.order_by_client_id(account, cid)
                           for cid in [*client_ids[account], "never-used"]})
            for account in ACCOUNTS}


def _differences(kept: dict[str, View], fresh: dict[str, View]) -> list[str]:
    return [f"{account} {what}: kept {getattr(kept[account], what)!r}"
            f" != fresh {getattr(fresh[account], what)!r}"
            for account in ACCOUNTS for what in (field.name for field in fields(View))
            if getattr(kept[account], what) != getattr(fresh[account], what)]


def _not_its_fills(view: View) -> list[str]:
    """Where the positions and cash are not the orders' fills added up in their order (as the
    broker computed them before it kept a book): the book folded from scratch is checked too."""
    held: dict[str, tuple[int, Decimal]] = {}  # symbol -> (signed qty, cost of the open qty)
    cash = Decimal(STARTING_EQUITY)
    for order in view.orders:
        if not order.filled_qty or order.filled_avg_price is None:
            continue
        delta = order.filled_qty if order.side is OrderSide.BUY else -order.filled_qty
        cash -= delta * order.filled_avg_price
        qty, cost = held.get(order.symbol, (0, Decimal(0)))
        if qty == 0 or (qty > 0) == (delta > 0):
            held[order.symbol] = qty + delta, cost + delta * order.filled_avg_price
        else:  # reducing: the remaining shares keep their average entry
            remaining = qty + delta
            held[order.symbol] = remaining, (cost * remaining / qty if remaining else Decimal(0))
    expected = [(symbol, qty, (cost / qty).quantize(Decimal("0.0001")))
                for symbol, (qty, cost) in sorted(held.items()) if qty]
    shown = [(p.symbol, p.qty, p.avg_entry_price) for p in view.positions]
    still_open = [order for order in view.orders if order.status in OPEN]
    return ([f"positions {shown} != {expected} from the fills"] * (shown != expected)
            + [f"cash {view.account.cash} != {cash} from the fills"]
            * (view.account.cash != cash.quantize(Decimal("0.01")))
            + [f"open orders {view.open_orders} != {still_open}"]
            * (view.open_orders != still_open))


# ---------------------------------------------------------------------------------- the property
MONDAY_1100 = STARTS[1]
BUY = OrderSide.BUY


@PROPERTIES
@given(start=st.sampled_from(STARTS), fills=st.sampled_from(FILL_MODELS), script=steps)
# an entry filled at once, its stop resting from then and trading through minutes later
@example(start=MONDAY_1100, fills=IMMEDIATE,
         script=[Submit(0, "SPY", 5, BUY, "oto", 3, None, None), *[Move(60)] * 8])
# another process, its clock behind, cancels an order that was open then and is filled now
@example(start=STARTS[0], fills=IMMEDIATE,
         script=[Submit(0, "SPY", 5, BUY, "market", 3, None, None), Move(60),
                 Cancel(0, 0, 0.0)])
# a broker of the same process at an earlier clock reads the shared book back, then a stop
# resting since rests on
@example(start=MONDAY_1100, fills=IMMEDIATE,
         script=[Submit(0, "USO", 5, BUY, "oto", 10, None, None), Move(4 * 3600),
                 Submit(0, "SPY", 5, BUY, "market", 3, None, 0.5, True), Move(86_400), Move(60)])
# an order given an entry's stop's client_order_id (refused: the leg holds it), then a cancel by
# that id
@example(start=STARTS[0], fills=IMMEDIATE,
         script=[Submit(0, "SPY", 5, BUY, "oto", 3, None, None),
                 Submit(0, "SPY", 5, BUY, "market", 3, None, None), Move(60),
                 Submit(0, "SPY", 5, OrderSide.SELL, "market", 3, 1, None), Cancel(0, 1, None)])
# an earlier order's second fill after a later one's first; the clock goes back and on again
@example(start=MONDAY_1100, fills=REALISTIC,
         script=[Submit(0, "SPY", 10, BUY, "market", 3, None, None), Move(1),
                 Submit(0, "SPY", 10, BUY, "market", 3, None, None), Move(2), Move(1), Move(1),
                 Move(-3), Move(5)])
def test_a_broker_brought_forward_reports_what_a_fresh_one_computes(
        start: datetime, fills: FillModel, script: list[Step]) -> None:
    with tempfile.TemporaryDirectory(dir=IN_MEMORY if IN_MEMORY.is_dir() else None) as folder:
        ledger_path, twin_path = Path(folder) / "ledger.sqlite", Path(folder) / "twin.sqlite"
        clock, other_clock = Clock(start), Clock(start)
        # the process watched, and another one that stays up (a warm function) over the same
        # ledger: each follows the other's orders too
        with closing(SqliteOrderLedger(ledger_path)) as here, \
                closing(SqliteOrderLedger(ledger_path)) as there, \
                closing(SqliteOrderLedger(twin_path)) as twin:
            kept = (_broker(here, clock, fills), _broker(there, other_clock, fills),
                    _broker(here, other_clock, fills))
            client_ids: dict[str, list[str]] = {account: [] for account in ACCOUNTS}
            for number, step in enumerate(script):
                where = f"after step {number} of {script} (clock {clock.now.isoformat()})"
                if isinstance(step, Move):
                    clock.now += timedelta(seconds=step.seconds)
                elif step.elsewhere is None:
                    _both_write(kept[0], clock, twin_path, step, number, fills, client_ids, where)
                else:
                    latest = kept[0].latest_order_at(ACCOUNTS[step.account]) or clock.now
                    other_clock.now = (clock.now if latest > clock.now
                                       else latest + (clock.now - latest) * step.elsewhere)
                    _both_write(kept[2 if step.beside else 1], other_clock, twin_path, step,
                                number, fills, client_ids, where)
                other_clock.now = clock.now
                # a new process's view: its own connection to the ledger, nothing kept
                with closing(SqliteOrderLedger(ledger_path, read_only=True)) as records:
                    expected = _views(_broker(records, clock, fills), client_ids)
                    unfolded = [f"{account} {problem}" for account, view in expected.items()
                                for problem in _not_its_fills(view)]
                    assert not unfolded, "\n".join([where, *unfolded])
                    for broker in kept:
                        differences = _differences(_views(broker, client_ids), expected)
                        assert not differences, "\n".join([where, *differences])
                    assert all(records.orders(account) == twin.orders(account)
                               for account in ACCOUNTS), where


def _both_write(broker: SimBroker, clock: Clock, twin_path: Path, step: Submit | Cancel,
                number: int, fills: FillModel, client_ids: dict[str, list[str]],
                where: str) -> None:
    """The write by a kept broker and by a new one over the twin ledger (a new connection: nothing
    derived from it is kept): the same answer."""
    account = ACCOUNTS[step.account]
    known = client_ids[account]
    if isinstance(step, Submit):
        cid = (known[step.reuse % len(known)] if step.reuse is not None and known
               else f"{account}-{number}")
    else:
        cid = known[step.pick % len(known)] if known else "never-used"
    answer = _write(broker, step, account, cid, clock.now)
    with closing(SqliteOrderLedger(twin_path)) as twin:
        assert answer == _write(_broker(twin, clock, fills), step, account, cid, clock.now), where
    if isinstance(answer, BrokerOrder):
        known += [cid, *(leg.client_order_id for leg in answer.legs)]
