"""The simulated broker brought forward reports what a fresh one computes from the ledger.

SimBroker keeps each account's book (sim_book: open orders re-evaluated, positions folded as fills
come) and how far resting stops were watched (sim_orders) instead of recomputing them from the
whole ledger at every call. What it reports must be what a new process (a cold start, a rerun)
computes from the same ledger at the same clock. Hypothesis drives one long-lived broker through
the Broker port: market orders, `oto` entries with their stops, resting stops, reused ids,
cancels (of orders and of legs), orders placed by another process, the clock moving on by seconds
to days and sometimes back, two accounts, under the fill models the simulator offers (at once,
`new` then filled in parts, rejected later). Every write is also made by a fresh broker over a
twin ledger (the answers and the two ledgers must agree), and after every step every read of the
long-lived broker is compared with a fresh broker's over the same ledger.
"""

from __future__ import annotations

import tempfile
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st
from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.broker.sim_broker import IMMEDIATE, REALISTIC, FillModel, SimBroker
from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.config import load_settings
from llmtrade.domain.calendar import ET
from llmtrade.schemas import BrokerOrder, OrderRequest, OrderSide

from tests.conftest import REPO

PROPERTIES = settings(max_examples=40, deadline=None, derandomize=True, database=None)
MARKET = SimMarket(load_settings(REPO / "config").assets)
# the ledgers' files where a memory-backed folder exists: their syncs to disk would take most of
# the time
IN_MEMORY = Path("/dev/shm")
ACCOUNTS = ("a", "b")
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
    # None: placed by the process watched; else by another one over the same ledger, its clock
    # that many seconds behind
    elsewhere: int | None


@dataclass(frozen=True)
class Cancel:
    account: int
    pick: int  # one of the account's client_order_ids (legs included), by index
    elsewhere: int | None


@dataclass(frozen=True)
class Move:
    seconds: int  # negative: the clock goes back


Step = Submit | Cancel | Move

lags = st.none() | st.sampled_from((0, 0, 1, 30, 600))
submits = st.builds(Submit, account=st.integers(0, len(ACCOUNTS) - 1),
                    symbol=st.sampled_from(SYMBOLS), qty=st.integers(1, 40),
                    side=st.sampled_from(OrderSide),
                    kind=st.sampled_from(("market", "market", "oto", "stop")),
                    stop_bps=st.sampled_from((3, 10, 40)),
                    reuse=st.none() | st.integers(0, 20), elsewhere=lags)
cancels = st.builds(Cancel, account=st.integers(0, len(ACCOUNTS) - 1), pick=st.integers(0, 40),
                    elsewhere=lags)
forward = st.sampled_from((1, 2, 3, 5, 60, 600, 1800, 3600, 4 * 3600, 86_400, 3 * 86_400))
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
    return SimBroker(MARKET, ledger, starting_equity=20_000, min_equity_for_short=2000,
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


Reads = dict[str, dict[str, object]]  # account -> what -> the broker's answer


def _reads(broker: SimBroker, client_ids: dict[str, list[str]]) -> Reads:
    """Everything the Broker port reports about the accounts at the clock."""
    return {account: {"orders": broker.orders(account),
                      "open": broker.open_orders(account),
                      "positions": broker.positions(account),
                      "account": broker.account(account),
                      "latest": broker.latest_order_at(account),
                      "by id": {cid: broker.order_by_client_id(account, cid)
                                for cid in [*client_ids[account], "never-used"]}}
            for account in ACCOUNTS}


def _differences(kept: Reads, fresh: Reads) -> list[str]:
    return [f"{account} {what}: kept {value!r} != fresh {fresh[account][what]!r}"
            for account in ACCOUNTS for what, value in kept[account].items()
            if value != fresh[account][what]]


# ---------------------------------------------------------------------------------- the property
@PROPERTIES
@given(start=st.sampled_from(STARTS), fills=st.sampled_from(FILL_MODELS), script=steps)
def test_a_broker_brought_forward_reports_what_a_fresh_one_computes(
        start: datetime, fills: FillModel, script: list[Step]) -> None:
    with tempfile.TemporaryDirectory(dir=IN_MEMORY if IN_MEMORY.is_dir() else None) as folder:
        ledger_path = Path(folder) / "ledger.sqlite"
        clock, other_clock = Clock(start), Clock(start)
        # the process watched, and another one that stays up (a warm function) over the same
        # ledger: each follows the other's orders too
        with closing(SqliteOrderLedger(ledger_path)) as here, \
                closing(SqliteOrderLedger(ledger_path)) as there, \
                closing(SqliteOrderLedger(Path(folder) / "twin.sqlite")) as twin:
            kept = _broker(here, clock, fills), _broker(there, other_clock, fills)
            client_ids: dict[str, list[str]] = {account: [] for account in ACCOUNTS}
            for number, step in enumerate(script):
                where = f"after step {number} of {script} (clock {clock.now.isoformat()})"
                if isinstance(step, Move):
                    clock.now += timedelta(seconds=step.seconds)
                elif step.elsewhere is None:
                    _both_write(kept[0], clock, twin, step, number, fills, client_ids, where)
                else:
                    other_clock.now = clock.now - timedelta(seconds=step.elsewhere)
                    _both_write(kept[1], other_clock, twin, step, number, fills, client_ids,
                                where)
                other_clock.now = clock.now
                # a new process's view: its own connection to the ledger, nothing kept
                with closing(SqliteOrderLedger(ledger_path, read_only=True)) as records:
                    expected = _reads(_broker(records, clock, fills), client_ids)
                    for broker in kept:
                        differences = _differences(_reads(broker, client_ids), expected)
                        assert not differences, "\n".join([where, *differences])
                    assert all(records.orders(account) == twin.orders(account)
                               for account in ACCOUNTS), where


def _both_write(broker: SimBroker, clock: Clock, twin: SqliteOrderLedger, step: Submit | Cancel,
                number: int, fills: FillModel, client_ids: dict[str, list[str]],
                where: str) -> None:
    """The write by a kept broker and by a new one over the twin ledger: the same answer."""
    account = ACCOUNTS[step.account]
    known = client_ids[account]
    if isinstance(step, Submit):
        cid = (known[step.reuse % len(known)] if step.reuse is not None and known
               else f"{account}-{number}")
    else:
        cid = known[step.pick % len(known)] if known else "never-used"
    answer = _write(broker, step, account, cid, clock.now)
    assert answer == _write(_broker(twin, clock, fills), step, account, cid, clock.now), where
    if isinstance(answer, BrokerOrder):
        known += [cid, *(leg.client_order_id for leg in answer.legs)]
