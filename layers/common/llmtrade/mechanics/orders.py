"""Order mechanics the trading steps share: submitting legs under deterministic client ids and
waiting (bounded) for them to fill, cancelling, recording how orders ended, and sizing a target
within what the broker allows.

A client_order_id (`ClientOrderId`) is (account, week, symbol, leg) plus the checkpoint suffix of
the decision that placed it: before submitting, the broker is asked for that id, so a rerun never
sends an order twice. Brokers and stored events hold these strings: their format never changes
(a `stop` leg, the protective stop, was added to it).

Time within a step is a `StepClock`: the broker is asked at the step's moment plus what the step
has waited, so waiting for a fill advances the simulator's clock (and sleeps for real live only).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from llmtrade.domain.calendar import ET
from llmtrade.domain.sizing import Leg, fit_to_buying_power, target_shares
from llmtrade.events import Week
from llmtrade.ports import Broker, BrokerRejected
from llmtrade.schemas import BrokerOrder, OrderEvent, OrderFinal, OrderRequest, Position
from llmtrade.schemas.broker import FINAL_STATUSES
from llmtrade.services import Services

_CLIENT_ID = re.compile(r"(?P<account>.+)-(?P<week>\d{4}-\d{2}-\d{2})-(?P<symbol>.+)"
                        r"-(?P<leg>close|adjust|open|stop)(?:-cp(?P<stamp>\d{8}))?")


@dataclass(frozen=True)
class ClientOrderId:
    """`{account}-{week}-{symbol}-{leg}`, with `-cp{MMDDHHMM}` (ET) when a checkpoint's decision
    placed it (none: the weekly run's). Build with `str()`, read back with `parse`."""

    account_id: str
    week_id: str
    symbol: str
    leg: str
    checkpoint: datetime | None = None  # the checkpoint whose decision placed it (to the minute)

    def __str__(self) -> str:
        return (f"{self.account_id}-{self.week_id}-{self.symbol}-{self.leg}"
                f"{_suffix(self.checkpoint)}")

    @classmethod
    def parse(cls, text: str) -> ClientOrderId | None:
        """The id's parts, or None for an order this system did not place."""
        if (match := _CLIENT_ID.fullmatch(text)) is None:
            return None
        week_id, stamp = match["week"], match["stamp"]
        return cls(match["account"], week_id, match["symbol"], match["leg"],
                   _checkpoint_moment(week_id, stamp) if stamp else None)



def placed_by(client_order_id: str, account_id: str, week_id: str,
              checkpoint: datetime | None) -> bool:
    """Whether an order (any id, ours or not) was placed for this account and week by that decision
    (a checkpoint's moment, to the minute; None: the weekly run's)."""
    parsed = ClientOrderId.parse(client_order_id)
    return parsed is not None and (
        (parsed.account_id, parsed.week_id, _suffix(parsed.checkpoint))
        == (account_id, week_id, _suffix(checkpoint)))


def placed_since(client_order_id: str, account_id: str, week_id: str,
                 decision: datetime | None) -> bool:
    """Whether an order was placed for this account and week by the decision at `decision` (None:
    the weekly run's) or by a checkpoint after it (a retry of that decision's leg, a stop)."""
    parsed = ClientOrderId.parse(client_order_id)
    if parsed is None or (parsed.account_id, parsed.week_id) != (account_id, week_id):
        return False
    return decision is None or (parsed.checkpoint is not None
                                and parsed.checkpoint >= decision.replace(second=0, microsecond=0))


def _suffix(checkpoint: datetime | None) -> str:
    return f"-cp{checkpoint.astimezone(ET):%m%d%H%M}" if checkpoint else ""


def _checkpoint_moment(week_id: str, stamp: str) -> datetime:
    """The moment of a `MMDDHHMM` stamp: a week's checkpoints follow its weekly run, maybe into
    January."""
    start = date.fromisoformat(week_id)
    month, day, hour, minute = (int(stamp[i:i + 2]) for i in range(0, 8, 2))
    year = start.year + (1 if (month, day) < (start.month, start.day) else 0)
    return datetime(year, month, day, hour, minute, tzinfo=ET)


@dataclass
class StepClock:
    """A step's time: its moment plus what it has waited. `broker()` is the broker then (live the
    same Alpaca client whatever the moment; offline the simulator at that moment); `wait` sleeps
    (for real only live) and moves the moment on."""

    services: Services
    now: datetime
    deadline: datetime = field(init=False)

    def __post_init__(self) -> None:
        wait = self.services.settings.risk.orders.fill_wait_seconds
        self.deadline = self.now + timedelta(seconds=wait)

    def broker(self) -> Broker:
        return self.services.broker_at(self.now)

    def can_wait(self) -> bool:
        """Whether a poll fits before the deadline and the market is open (closed, an order only
        fills at the next open: waiting would be in vain)."""
        poll = timedelta(seconds=self.services.settings.risk.orders.fill_poll_seconds)
        session = self.services.market.session(self.now.astimezone(ET).date())
        return (self.now + poll <= self.deadline and session is not None
                and session.open <= self.now < session.close)

    def wait(self) -> None:
        seconds = self.services.settings.risk.orders.fill_poll_seconds
        self.services.sleep(seconds)
        self.now += timedelta(seconds=seconds)

    def until_final(self, account_id: str, order: BrokerOrder) -> BrokerOrder:
        """The order once it is final (filled, rejected, ...) or the wait is over."""
        while order.is_open and self.can_wait():
            self.wait()
            order = self.broker().order_by_client_id(account_id, order.client_order_id) or order
        return order


EntryStop = Callable[[Leg], Decimal | None] | None  # the stop price attached to a leg


@dataclass(frozen=True)
class Legs:
    """Legs worked toward a target: the client ids used, a note on what could not complete (a
    rejection, a leg waiting for a close); legs still open are the broker's to fill."""

    ids: list[str]
    note: str


def submit_legs(services: Services, clock: StepClock, week_id: str, account_id: str,
                legs: list[Leg], checkpoint: datetime | None = None,
                retries: Sequence[datetime] = (), entry_stop: EntryStop = None) -> Legs:
    """Submit legs in order, recording an order event each, and wait (bounded: the clock's
    deadline) for each to fill; stop at a rejection, or at a close that has not filled when the
    next leg reopens the same symbol on the other side (the broker accepts that only once the
    close has filled): the note says so and the next checkpoint places that leg.
    `checkpoint`: the moment of the decision placing them (None: the weekly run); a leg whose
    order under that id ended without the position reaching its target (rejected, cancelled) goes
    in again under the id of the checkpoint placing it now, the last of `retries` (the
    checkpoints since the decision: an earlier one's retry still open is the leg's order).
    `entry_stop`: the stop price to attach to a leg (an `oto` order), None for none."""
    ids: list[str] = []
    stamps = [checkpoint, *(r for r in retries if r != checkpoint)]
    for index, leg in enumerate(legs):
        stop_loss = entry_stop(leg) if entry_stop else None
        client_id, placed, rejected = _place(services, clock.broker(), week_id, account_id, leg,
                                             stamps, stop_loss)
        ids.append(client_id)
        if rejected:
            return Legs(ids, f"{leg.name} {leg.symbol} rejected: {rejected}")
        assert placed is not None
        reopens = index + 1 < len(legs) and legs[index + 1].symbol == leg.symbol
        if why := _unfinished(leg, clock.until_final(account_id, placed), reopens):
            return Legs(ids, why)
    return Legs(ids, "")


def _unfinished(leg: Leg, placed: BrokerOrder, reopens: bool) -> str:
    """Why the legs after this one wait for the next checkpoint ("" when they go on): it ended
    unfilled, or it is a close still open that the next leg would reopen on the other side."""
    if placed.status == "filled":
        return ""
    if not placed.is_open:
        return (f"{leg.name} {leg.symbol} {placed.status} at the broker"
                " (the next checkpoint places it again)")
    if reopens:
        return (f"the opening {leg.symbol} leg waits for the close to fill"
                f" ({placed.status}: {placed.filled_qty} of {placed.qty}; next checkpoint)")
    return ""


def _place(services: Services, broker: Broker, week_id: str, account_id: str, leg: Leg,
           stamps: list[datetime | None],
           stop_loss: Decimal | None) -> tuple[str, BrokerOrder | None, str | None]:
    """(client id, the order, why it was refused): the id whose order is open; else the decision's
    id (the first) or this checkpoint's (the last) when never used, submitted now; an order that
    ended (rejected, cancelled) under an id leaves the leg to the next."""
    rejected = None
    for index, stamp in enumerate(stamps):
        client_id = str(ClientOrderId(account_id, week_id, leg.symbol, leg.name, stamp))
        placed = broker.order_by_client_id(account_id, client_id)
        if placed is not None and not placed.is_open:
            rejected = f"{placed.status} at the broker; the next checkpoint places it again"
            continue
        if placed is None and 0 < index < len(stamps) - 1:
            continue  # that checkpoint placed no retry
        # an attached stop's leg inherits the order's time in force: gtc, so it outlasts the day
        request = OrderRequest(symbol=leg.symbol, qty=leg.qty, side=leg.side,
                               time_in_force="day" if stop_loss is None else "gtc",
                               stop_loss=stop_loss, client_order_id=client_id)
        rejected = None
        if placed is None:
            try:
                placed = broker.submit_order(account_id, request)
            except BrokerRejected as exc:
                # a concurrent rerun may have placed it in between: then it is ours
                placed = broker.order_by_client_id(account_id, client_id)
                rejected = None if placed else str(exc)
        event = OrderEvent(week_id=week_id, account_id=account_id, leg=leg.name, request=request,
                           broker_order=placed, rejected=rejected)
        services.events.record(event, week_id=week_id, account_id=account_id, subject=client_id)
        return client_id, placed, rejected
    return client_id, None, rejected


def cancel_if_open(broker: Broker, account_id: str, client_order_id: str) -> bool:
    """Cancel an open order; one that filled or was cancelled since it was listed (Alpaca answers
    422/404) is no longer in the way, so that is not an error: the legs are computed from
    positions afterwards."""
    try:
        broker.cancel_order(account_id, client_order_id)
    except BrokerRejected as exc:
        if exc.status in (404, 422):
            return False
        raise
    return True


def reconcile_orders(services: Services, broker: Broker, week_id: str, account_id: str,
                     at: datetime, week: Week) -> int:
    """Record how the week's orders ended (fill price and quantity) once the broker says they did;
    an order event holds only what the broker said at submission. Idempotent: one `order_final` per
    order. `week`: the account's week as the caller knows it, its own orders included (an order
    another writer placed since is reconciled at the next checkpoint)."""
    recorded = week.subjects(OrderFinal)
    added = 0
    for entry in week.entries(OrderEvent):
        if entry.subject in recorded or entry.payload.broker_order is None:
            continue
        order = broker.order_by_client_id(account_id, entry.subject)
        if order is not None and order.status in FINAL_STATUSES:
            final = OrderFinal(week_id=week_id, account_id=account_id, broker_order=order,
                               seen_at=at)
            added += services.events.record(final, week_id=week_id, account_id=account_id,
                                            subject=entry.subject).new
    return added


def size_target(services: Services, broker: Broker, account_id: str, instrument: str,
                conviction: int, positions: list[Position], at: datetime) -> tuple[int, str]:
    """Signed target shares for a conviction (risk.yaml), within what the broker allows: a short
    only in an easy-to-borrow name, and no more exposure than the buying power covers. Returns
    (shares, why it shrank)."""
    price = services.market.price(instrument, at)
    wanted = target_shares(conviction, services.settings.risk.risk_budget_usd, price)
    if wanted < 0:
        asset = broker.asset(account_id, instrument)
        if not (asset.shortable and asset.easy_to_borrow):
            return 0, f"{instrument} is not easy to borrow: cannot short it, FLAT instead"
    held = next((p.qty for p in positions if p.symbol == instrument), 0)
    fitted = fit_to_buying_power(wanted, held, price, broker.account(account_id).buying_power)
    if fitted != wanted:
        return fitted, f"sized down from {wanted:+d} to {fitted:+d} shares to fit the buying power"
    return wanted, ""
