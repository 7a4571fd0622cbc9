"""The week report's trading sections: equity per account, conviction at each checkpoint, orders
and fills.

Equity curves: the account's `week_open` snapshot equity at the run (exact), then at each checkpoint
cash + shares x price from events: that equity + the P/L realized by the fills recorded so far +
the checkpoint's P/L of the week's position, both measured from the week's entry (positions held at
the run count from the snapshot's marks, `domain.week_pl`), so a carried position's earlier P/L,
already in the week-open equity, is never added again; last, the postmortem's `equity_end` at the
settlement (exact, the broker's). FLAT never trades.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from llmtrade.config import Settings
from llmtrade.domain.week_pl import Book, carried
from llmtrade.events import Week
from llmtrade.reports.render import in_et
from llmtrade.reports.svg import FLAT_COLOR, Series, line_chart
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    AccountKind,
    BrokerOrder,
    CheckpointSkipped,
    CheckpointUpdate,
    OrderEvent,
    OrderFinal,
    OrderSide,
    PositionSnapshot,
    Postmortem,
)

Curve = list[tuple[int, Decimal]]  # (moment index, equity)


@dataclass
class OrderRow:
    account: str
    leg: str
    order: str
    submitted: str
    status: str
    fill: str
    note: str


@dataclass
class TimelineRow:
    account: str
    color: str
    # (conviction, action) per moment
    cells: list[tuple[int | None, str]] = field(default_factory=list)


# -------------------------------------------------------------------- the moments of the week
def run_moment(week: Week, summary_asof: datetime | None) -> datetime | None:
    """When the weekly run traded: its earliest `week_open` snapshot, else the summary's as-of
    time."""
    snapshots = week.by_account(PositionSnapshot, subject="week_open")
    return min((s.at for s in snapshots.values()), default=summary_asof)


def moments(week: Week, run_at: datetime | None) -> list[datetime]:
    """The moments of the week: its run, every checkpoint that ran, and the settlement."""
    return sorted({*(u.at for u in week.all(CheckpointUpdate)), *([run_at] if run_at else []),
                   *(p.settled_at for p in week.by_account(Postmortem).values())})


def _day_spans(moments_: list[datetime]) -> list[tuple[str, int]]:
    """(day label, how many of the moments fall on it), for a header row over the times."""
    spans: list[tuple[str, int]] = []
    for moment in moments_:
        day = in_et(moment, "%a %m-%d")
        if spans and spans[-1][0] == day:
            spans[-1] = (day, spans[-1][1] + 1)
        else:
            spans.append((day, 1))
    return spans


def _day_labels(moments_: list[datetime]) -> list[tuple[float, str]]:
    """(index of a day's first moment, day label): the equity chart's x axis."""
    labels: list[tuple[float, str]] = []
    first = 0
    for day, count in _day_spans(moments_):
        labels.append((first, day))
        first += count
    return labels


# -------------------------------------------------------------------- equity per account
def _realized(snapshot: PositionSnapshot, fills: list[OrderFinal], until: datetime) -> Decimal:
    """P/L realized by the week's fills before `until` (domain.week_pl: positions held at the run
    count from the snapshot's marks)."""
    books = {p.symbol: carried(p.qty, p.market_value / p.qty) for p in snapshot.positions if p.qty}
    for final in fills:
        placed = final.broker_order
        # a checkpoint reads its P/L before it trades: a fill at that very moment counts from the
        # next one; one at the snapshot or before is in its positions already
        if (placed.filled_at is None or not snapshot.at < placed.filled_at < until
                or placed.filled_avg_price is None):
            continue
        delta = placed.filled_qty * (1 if placed.side is OrderSide.BUY else -1)
        books[placed.symbol] = books.get(placed.symbol, Book()).booked(delta,
                                                                       placed.filled_avg_price)
    return sum((book.realized for book in books.values()), Decimal(0))


def checkpoint_equity(week: Week, update: CheckpointUpdate) -> Decimal | None:
    """The account's equity as its checkpoint saw it, before trading: the week-open equity, the P/L
    the week's fills realized and the position's P/L this week (cash + shares x price, nothing
    counted twice). None without the week's run."""
    snapshot = week.get(PositionSnapshot, update.account_id, "week_open")
    if snapshot is None:
        return None
    fills = sorted(week.all(OrderFinal, update.account_id),
                   key=lambda f: f.broker_order.filled_at or f.seen_at)
    return snapshot.equity + _realized(snapshot, fills, update.at) + update.unrealized_pl


def _trading_curve(week: Week, snapshot: PositionSnapshot, settled: Postmortem | None,
                   index: dict[datetime, int]) -> Curve:
    updates = sorted(week.all(CheckpointUpdate, snapshot.account_id), key=lambda u: u.at)
    points = [(index[snapshot.at], snapshot.equity)]
    points += [(index[u.at], equity) for u in updates
               if u.at in index and (equity := checkpoint_equity(week, u)) is not None]
    if settled is not None:
        points.append((index[settled.settled_at], settled.equity_end))
    return points


def _flat_curve(snapshot: PositionSnapshot, settled: Postmortem | None,
                moments_: list[datetime]) -> Curve:
    end = settled.equity_end if settled else snapshot.equity
    return [(i, snapshot.equity if i == 0 else end) for i in range(len(moments_))]


def equity_curves(week: Week, moments_: list[datetime], flat_ids: set[str]) -> dict[str, Curve]:
    """Account → (moment index, equity) points (see the module docstring for where each comes
    from)."""
    index = {m: i for i, m in enumerate(moments_)}
    settled = week.by_account(Postmortem)
    return {account: _flat_curve(snapshot, settled.get(account), moments_) if account in flat_ids
            else _trading_curve(week, snapshot, settled.get(account), index)
            for account, snapshot in week.by_account(PositionSnapshot, subject="week_open").items()}


def equity_section(week: Week, moments_: list[datetime], settings: Settings, names: dict[str, str],
                   palette: dict[str, str]) -> dict[str, object]:
    flat_ids = {a.id for a in settings.accounts.accounts if a.kind is AccountKind.FLAT}
    series = [Series(names.get(a, a), [(i, float(v)) for i, v in points],
                     FLAT_COLOR if a in flat_ids else palette.get(a, FLAT_COLOR),
                     dashed=a in flat_ids)
              for a, points in equity_curves(week, moments_, flat_ids).items()]
    return {"equity_svg": line_chart(series, _day_labels(moments_),
                                     y_format=lambda v: f"${v:,.0f}",
                                     title="Equity per account: at the run, each checkpoint "
                                           "and the settlement")}


# -------------------------------------------------------------------- conviction at each checkpoint
def _cell(update: CheckpointUpdate | None, closed: bool) -> tuple[int | None, str]:
    if update is not None:
        return update.conviction_after, update.action.value
    return None, "closed" if closed else ""


def timeline_section(week: Week, settings: Settings, names: dict[str, str],
                     palette: dict[str, str]) -> dict[str, object]:
    """A row per trading account: its conviction at the run, then at every checkpoint (or the
    market closed)."""
    updates = week.all(CheckpointUpdate)
    skipped_at = {s.at for s in week.all(CheckpointSkipped, SHARED_ACCOUNT)}
    checkpoints = sorted({u.at for u in updates} | skipped_at)
    update_at = {(u.account_id, u.at): u for u in updates}
    opened = week.by_account(PositionSnapshot, subject="week_open")
    timeline = [TimelineRow(names.get(a.id, a.id), palette.get(a.id, FLAT_COLOR), [
        (opened[a.id].conviction if a.id in opened else None, "run"),
        *(_cell(update_at.get((a.id, moment)), moment in skipped_at) for moment in checkpoints)])
        for a in settings.trading_accounts]
    return {"timeline_days": _day_spans(checkpoints),
            "timeline_times": [in_et(m, "%H:%M") for m in checkpoints], "timeline": timeline}


# -------------------------------------------------------------------- orders and fills
def _fill(placed: BrokerOrder | None) -> str:
    if placed is None or placed.filled_avg_price is None:
        return ""
    when = f", {in_et(placed.filled_at)} ET" if placed.filled_at else ""
    return f"{placed.filled_qty} @ {placed.filled_avg_price}{when}"


def _order_row(order: OrderEvent, placed: BrokerOrder | None, names: dict[str, str]) -> OrderRow:
    return OrderRow(
        account=names.get(order.account_id, order.account_id), leg=order.leg,
        order=f"{order.request.side.value} {order.request.qty} {order.request.symbol}",
        submitted=in_et(placed.submitted_at) + " ET" if placed else "-",
        status="rejected" if order.rejected else placed.status if placed else "deferred",
        fill=_fill(placed), note=order.rejected or "")


def orders_section(week: Week, names: dict[str, str]) -> dict[str, object]:
    """Every order of the week as it ended (its final state when a later step saw it end)."""
    finals = {subject: final.broker_order for subject, final in week.by_subject(OrderFinal).items()}
    return {"orders": [_order_row(e.payload, finals.get(e.subject) or e.payload.broker_order, names)
                       for e in week.entries(OrderEvent)]}
