"""What an event says happened, in a few words, for `llmtrade events`: an order's side, quantity,
status and fill, a checkpoint's action, conviction and P/L, a call's cost."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from llmtrade.events import Week
from llmtrade.schemas import (
    BrokerOrder,
    ChairmanDecision,
    CheckpointSkipped,
    CheckpointUpdate,
    LLMCallRecord,
    ModelFailure,
    OrderEvent,
    OrderFinal,
    Pitch,
    PositionSnapshot,
    Postmortem,
    ResearchCall,
    ResearchFailure,
    ResearchPack,
    WeekPostmortem,
)


def _fill(order: BrokerOrder) -> str:
    if order.filled_avg_price is None or not order.filled_qty:
        return order.status
    return f"{order.status}, {order.filled_qty} @ {order.filled_avg_price:.2f}"


def _order(o: OrderEvent) -> str:
    asked = f"{o.request.side.value} {o.request.qty} {o.request.symbol}"
    if o.rejected:
        return f"{asked}: rejected: {o.rejected}"
    return f"{asked}: {_fill(o.broker_order)}" if o.broker_order else asked


def _final(o: OrderFinal) -> str:
    b = o.broker_order
    return f"{b.side.value} {b.qty} {b.symbol}: {_fill(b)}"


def _update(u: CheckpointUpdate) -> str:
    return (f"{u.action.value}, conviction {u.conviction_before:+d} -> {u.conviction_after:+d}, "
            f"P/L {u.unrealized_pl:+,.2f}")


def _snapshot(s: PositionSnapshot) -> str:
    held = ", ".join(f"{p.qty} {p.symbol}" for p in s.positions) or "no position"
    return f"equity {s.equity:,.2f}, {held}"


def _call(c: LLMCallRecord) -> str:
    valid = "valid" if c.valid else f"invalid: {c.error or ''}".rstrip(": ")
    return f"{c.model_answered}, attempt {c.attempt}, {valid}, ${c.cost_usd:.4f}"


def _research(c: ResearchCall) -> str:
    return f"{c.call} {c.state}, ${c.cost_usd:.4f}" + (f": {c.error}" if c.error else "")


_SAY: list[tuple[type[Any], Callable[[Any], str]]] = [
    (OrderEvent, _order),
    (OrderFinal, _final),
    (CheckpointUpdate, _update),
    (CheckpointSkipped, lambda s: f"skipped: {s.reason}"),
    (PositionSnapshot, _snapshot),
    (Pitch, lambda p: f"{p.direction.value} {p.instrument}, conviction {p.conviction:+d}"),
    (ChairmanDecision, lambda d: f"{d.selected_trade.direction.value} "
                                 f"{d.selected_trade.instrument}, conviction {d.conviction:+d}"),
    (ModelFailure, lambda f: f"{f.stage} failed: {f.reason}"),
    (LLMCallRecord, _call),
    (ResearchCall, _research),
    (ResearchPack, lambda p: f"from {p.research_source}"),
    (ResearchFailure, lambda f: f"failed: {f.reason}"),
    (Postmortem, lambda p: f"P/L {p.pnl:+,.2f} ({p.pnl_pct * 100:+.2f}%)"),
    (WeekPostmortem, lambda w: f"best {w.ranking[0]}" if w.ranking else "settled"),
]


def _said(week: Week) -> Iterator[tuple[str, str]]:
    for payload_type, say in _SAY:
        for entry in week.entries(payload_type):
            yield entry.event_id, say(entry.payload)


def what_happened(week: Week) -> dict[str, str]:
    """event id -> a few words on what it records; kinds with nothing to add are absent."""
    return dict(_said(week))

