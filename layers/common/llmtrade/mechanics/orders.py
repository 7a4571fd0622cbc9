"""Order mechanics the trading steps share: submitting legs under deterministic client ids,
cancelling, recording how orders ended, and sizing a target within what the broker allows.

A client_order_id (`ClientOrderId`) is (account, week, symbol, leg) plus the checkpoint suffix of
the decision that placed it: before submitting, the broker is asked for that id, so a rerun never
sends an order twice. Brokers and stored events hold these strings: their format never changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from llmtrade.domain.calendar import ET
from llmtrade.domain.sizing import Leg, fit_to_buying_power, target_shares
from llmtrade.ports import Broker, BrokerRejected
from llmtrade.schemas import OrderEvent, OrderFinal, OrderRequest, Position
from llmtrade.services import Services

_CLIENT_ID = re.compile(r"(?P<account>.+)-(?P<week>\d{4}-\d{2}-\d{2})-(?P<symbol>.+)"
                        r"-(?P<leg>close|adjust|open)(?:-cp(?P<stamp>\d{8}))?")


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


def _suffix(checkpoint: datetime | None) -> str:
    return f"-cp{checkpoint.astimezone(ET):%m%d%H%M}" if checkpoint else ""


def _checkpoint_moment(week_id: str, stamp: str) -> datetime:
    """The moment of a `MMDDHHMM` stamp: a week's checkpoints follow its weekly run, maybe into
    January."""
    start = date.fromisoformat(week_id)
    month, day, hour, minute = (int(stamp[i:i + 2]) for i in range(0, 8, 2))
    year = start.year + (1 if (month, day) < (start.month, start.day) else 0)
    return datetime(year, month, day, hour, minute, tzinfo=ET)


def submit_legs(services: Services, broker: Broker, week_id: str, account_id: str, legs: list[Leg],
                checkpoint: datetime | None = None) -> tuple[list[str], str]:
    """Submit legs in order, recording an order event each; stop at a rejection, or after a close
    that has not filled when the next leg reopens the same symbol on the other side (the broker
    accepts that only once the close has filled). `checkpoint`: the moment of the decision placing
    them (None: the weekly run). Returns (client ids, note)."""
    ids: list[str] = []
    for index, leg in enumerate(legs):
        client_id = str(ClientOrderId(account_id, week_id, leg.symbol, leg.name, checkpoint))
        request = OrderRequest(symbol=leg.symbol, qty=leg.qty, side=leg.side,
                               client_order_id=client_id)
        rejected = None
        placed = broker.order_by_client_id(account_id, client_id)
        if placed is None:
            try:
                placed = broker.submit_order(account_id, request)
            except BrokerRejected as exc:
                # a concurrent rerun may have placed it in between: then it is ours, not a rejection
                placed = broker.order_by_client_id(account_id, client_id)
                rejected = None if placed else str(exc)
        event = OrderEvent(week_id=week_id, account_id=account_id, leg=leg.name, request=request,
                           broker_order=placed, rejected=rejected)
        services.events.record(event, week_id=week_id, account_id=account_id, subject=client_id)
        ids.append(client_id)
        if rejected:
            return ids, f"{leg.name} {leg.symbol} rejected: {rejected}"
        crossing = index + 1 < len(legs) and legs[index + 1].symbol == leg.symbol
        if crossing and placed and placed.status != "filled":
            return ids, (f"the opening {leg.symbol} leg waits for the close to fill "
                         "(next checkpoint)")
    return ids, ""


FINAL_STATUSES = frozenset({"filled", "canceled", "expired", "rejected", "done_for_day",
                            "replaced"})


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
                     at: datetime) -> int:
    """Record how the week's orders ended (fill price and quantity) once the broker says they did;
    an order event holds only what the broker said at submission. Idempotent: one `order_final` per
    order."""
    week = services.events.week(week_id, account_id)
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
