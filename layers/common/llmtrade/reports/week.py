"""The week's report, built from the week's events alone.

Equity curves: the account's `week_open` snapshot equity at the run (exact), then at each checkpoint
an estimate from events: that equity + the P/L realized by the fills recorded so far (positions held
at the run are marked at the snapshot's value) + the checkpoint's unrealized P/L of the week's
position; last, the postmortem's `equity_end` at the settlement (exact, the broker's). FLAT never trades.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from llmtrade.config import Settings
from llmtrade.domain.calendar import ET
from llmtrade.domain.reviews import aggregate
from llmtrade.ports import EventStore
from llmtrade.reports.render import account_names, colors, render
from llmtrade.reports.svg import FLAT_COLOR, Series, bar_chart, line_chart
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    ChairmanDecision,
    CheckpointSkipped,
    CheckpointUpdate,
    Event,
    EventKind,
    LLMCallRecord,
    ModelFailure,
    OrderEvent,
    OrderFinal,
    OrderSide,
    PeerReview,
    Pitch,
    PitchScores,
    PositionSnapshot,
    Postmortem,
    ResearchCall,
    ResearchFailure,
    ResearchPack,
    WeekPostmortem,
    WeekSummary,
)


@dataclass
class HeatCell:
    score: float | None  # None: the reviewer did not review this pitch (its own, or a failure)
    detail: str = ""  # per-criterion scores, shown on hover


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
    cells: list[tuple[int | None, str]] = field(default_factory=list)  # (conviction, action) per moment


def _of(events: list[Event], kind: EventKind) -> list[Event]:
    return [e for e in events if e.kind is kind]


def _et(moment: datetime, pattern: str = "%a %m-%d %H:%M") -> str:
    return moment.astimezone(ET).strftime(pattern)


def heatmap(reviews: list[PeerReview], pitch_account: dict[str, str]) -> tuple[list[str], list[list[HeatCell]]]:
    """Reviewer rows by pitch columns (both account ids), each review's mean score; labels mapped back."""
    columns = list(pitch_account.values())
    rows = []
    for review in reviews:
        by_account: dict[str, PitchScores] = {}
        for label, pitch_review in review.reviews.items():
            if (account := pitch_account.get(review.label_map.get(label, ""))) is not None:
                by_account[account] = pitch_review.scores
        rows.append([HeatCell(round(s.mean(), 1), ", ".join(f"{k.replace('_', ' ')} {v}"
                                                              for k, v in s.model_dump().items()))
                     if (s := by_account.get(column)) else HeatCell(None) for column in columns])
    return columns, rows


def _orders(events: list[Event], names: dict[str, str]) -> list[OrderRow]:
    finals = {e.subject: OrderFinal.model_validate(e.payload).broker_order for e in _of(events, EventKind.ORDER_FINAL)}
    rows = []
    for event in _of(events, EventKind.ORDER):
        order = OrderEvent.model_validate(event.payload)
        placed = finals.get(event.subject) or order.broker_order
        fill = ""
        if placed is not None and placed.filled_avg_price is not None:
            fill = f"{placed.filled_qty} @ {placed.filled_avg_price}"
            fill += f", {_et(placed.filled_at)} ET" if placed.filled_at else ""
        rows.append(OrderRow(
            account=names.get(order.account_id, order.account_id), leg=order.leg,
            order=f"{order.request.side.value} {order.request.qty} {order.request.symbol}",
            submitted=_et(placed.submitted_at) + " ET" if placed else "-",
            status="rejected" if order.rejected else placed.status if placed else "deferred",
            fill=fill, note=order.rejected or ""))
    return rows


def _realized(snapshot: PositionSnapshot, fills: list[OrderFinal], until: datetime) -> Decimal:
    """P/L realized by the fills before `until`, against the positions' value at the run (or the fill price)."""
    held = {p.symbol: (p.qty, p.market_value / p.qty if p.qty else Decimal(0)) for p in snapshot.positions}
    realized = Decimal(0)
    for final in fills:
        placed = final.broker_order
        # a checkpoint reads its P/L before it trades: a fill at that very moment counts from the next one
        if placed.filled_at is None or placed.filled_at >= until or placed.filled_avg_price is None:
            continue
        qty, basis = held.get(placed.symbol, (0, Decimal(0)))
        delta = placed.filled_qty * (1 if placed.side is OrderSide.BUY else -1)
        price = placed.filled_avg_price
        if qty and (qty > 0) != (delta > 0):  # reducing or crossing: realize on the closed shares
            closed = min(abs(delta), abs(qty)) * (1 if qty > 0 else -1)
            realized += (price - basis) * closed
            remaining = qty + delta
            held[placed.symbol] = (remaining, basis if (remaining > 0) == (qty > 0) else price)
        else:
            total = qty + delta
            held[placed.symbol] = (total, (basis * qty + price * delta) / total if total else Decimal(0))
    return realized


def equity_curves(events: list[Event], moments: list[datetime], flat_ids: set[str]
                  ) -> dict[str, list[tuple[int, Decimal]]]:
    """Account → (moment index, equity) points (see the module docstring for where each comes from)."""
    index = {m: i for i, m in enumerate(moments)}
    curves: dict[str, list[tuple[int, Decimal]]] = {}
    for event in _of(events, EventKind.POSITION_SNAPSHOT):
        if event.subject != "week_open":
            continue
        snapshot = PositionSnapshot.model_validate(event.payload)
        account = snapshot.account_id
        ended = next((Postmortem.model_validate(e.payload) for e in _of(events, EventKind.POSTMORTEM)
                      if e.account_id == account), None)
        if account in flat_ids:
            end = ended.equity_end if ended else snapshot.equity
            curves[account] = [(i, snapshot.equity if i == 0 else end) for i in range(len(moments))]
            continue
        fills = sorted((OrderFinal.model_validate(e.payload) for e in _of(events, EventKind.ORDER_FINAL)
                        if e.account_id == account),
                       key=lambda f: f.broker_order.filled_at or f.seen_at)
        points = [(index[snapshot.at], snapshot.equity)]
        updates = sorted((CheckpointUpdate.model_validate(e.payload) for e in _of(events, EventKind.CHECKPOINT_UPDATE)
                          if e.account_id == account), key=lambda u: u.at)
        points += [(index[u.at], snapshot.equity + _realized(snapshot, fills, u.at) + u.unrealized_pl)
                   for u in updates if u.at in index]
        if ended is not None:
            points.append((index[ended.settled_at], ended.equity_end))
        curves[account] = points
    return curves


def _day_spans(moments: list[datetime]) -> list[tuple[str, int]]:
    """(day label, how many of the moments fall on it), for a header row over the times."""
    spans: list[tuple[str, int]] = []
    for moment in moments:
        day = _et(moment, "%a %m-%d")
        if spans and spans[-1][0] == day:
            spans[-1] = (day, spans[-1][1] + 1)
        else:
            spans.append((day, 1))
    return spans


def build_week(store: EventStore, settings: Settings, week_id: str) -> dict[str, object]:
    """Everything the week template shows. Raises LookupError when the store has no such week."""
    events = store.list_week(week_id)
    if not events:
        raise LookupError(f"no events for week {week_id}")
    names = account_names(settings)
    palette = colors(settings)
    shared = [e for e in events if e.account_id == SHARED_ACCOUNT]

    packs = [ResearchPack.model_validate(e.payload) for e in _of(shared, EventKind.RESEARCH_PACK)]
    research_failures = [ResearchFailure.model_validate(e.payload) for e in _of(shared, EventKind.RESEARCH_FAILURE)]
    pitches = {e.account_id: Pitch.model_validate(e.payload) for e in _of(events, EventKind.PITCH)}
    failures = [ModelFailure.model_validate(e.payload) for e in _of(events, EventKind.MODEL_FAILURE)]
    reviews = [PeerReview.model_validate(e.payload) for e in _of(events, EventKind.PEER_REVIEW)]
    decision_event = next(iter(_of(events, EventKind.CHAIRMAN_DECISION)), None)
    decision = ChairmanDecision.model_validate(decision_event.payload) if decision_event else None
    pitch_account = {p.idea_id: account for account, p in pitches.items()}
    scores = {pitch_account[a.idea_id]: a for a in aggregate(list(pitch_account), reviews) if a.reviews}
    columns, heat_rows = heatmap(reviews, pitch_account)

    # the moments of the week: its run, every checkpoint that ran, and the settlement
    summary_event = next(iter(_of(shared, EventKind.WEEK_SUMMARY)), None)
    summary = WeekSummary.model_validate(summary_event.payload) if summary_event else None
    snapshots = {e.account_id: PositionSnapshot.model_validate(e.payload)
                 for e in _of(events, EventKind.POSITION_SNAPSHOT) if e.subject == "week_open"}
    updates = [CheckpointUpdate.model_validate(e.payload) for e in _of(events, EventKind.CHECKPOINT_UPDATE)]
    skipped = [CheckpointSkipped.model_validate(e.payload) for e in _of(shared, EventKind.CHECKPOINT_SKIPPED)]
    postmortems = {e.account_id: Postmortem.model_validate(e.payload) for e in _of(events, EventKind.POSTMORTEM)}
    week_pm_event = next(iter(_of(shared, EventKind.WEEK_POSTMORTEM)), None)
    week_pm = WeekPostmortem.model_validate(week_pm_event.payload) if week_pm_event else None
    run_at = min((s.at for s in snapshots.values()), default=summary.asof_et if summary else None)
    moments = sorted({*(u.at for u in updates), *([run_at] if run_at else []),
                      *(p.settled_at for p in postmortems.values())})

    flat_ids = {a.id for a in settings.accounts.accounts if a.kind == "flat"}
    curves = equity_curves(events, moments, flat_ids)
    day_labels: list[tuple[float, str]] = []
    for i, moment in enumerate(moments):
        day = _et(moment, "%a %m-%d")
        if not day_labels or day_labels[-1][1] != day:
            day_labels.append((i, day))
    series = [Series(names.get(a, a), [(i, float(v)) for i, v in points],
                     FLAT_COLOR if a in flat_ids else palette.get(a, FLAT_COLOR), dashed=a in flat_ids)
              for a, points in curves.items()]
    equity_svg = line_chart(series, day_labels, y_format=lambda v: f"${v:,.0f}",
                            title="Equity per account: at the run, each checkpoint and the settlement")

    skipped_at = {s.at for s in skipped}
    timeline_moments = sorted({u.at for u in updates} | skipped_at)
    by_account_moment = {(u.account_id, u.at): u for u in updates}
    timeline = []
    for account in settings.trading_accounts:
        row = TimelineRow(names.get(account.id, account.id), palette.get(account.id, FLAT_COLOR))
        opened = snapshots.get(account.id)
        row.cells.append((opened.conviction if opened else None, "run"))
        for moment in timeline_moments:
            update = by_account_moment.get((account.id, moment))
            row.cells.append((update.conviction_after, update.action.value) if update
                             else (None, "closed" if moment in skipped_at else ""))
        timeline.append(row)

    calls = [LLMCallRecord.model_validate(e.payload) for e in _of(events, EventKind.LLM_CALL)]
    by_model: dict[str, list[LLMCallRecord]] = defaultdict(list)
    for call in calls:
        by_model[call.model_requested].append(call)
    cost_rows = sorted(((model, len(group), sum(c.prompt_tokens for c in group),
                         sum(c.completion_tokens for c in group), sum((c.cost_usd for c in group), Decimal(0)))
                        for model, group in by_model.items()), key=lambda r: (-r[4], -r[2] - r[3], r[0]))
    total_cost = sum((r[4] for r in cost_rows), Decimal(0))
    if total_cost:
        cost_svg = bar_chart([(r[0], float(r[4])) for r in cost_rows], value_format=lambda v: f"${v:.4f}",
                             title="LLM cost per model (USD)")
    else:  # offline calls cost nothing: the tokens still show who did the work
        cost_svg = bar_chart([(r[0], float(r[2] + r[3])) for r in cost_rows], value_format=lambda v: f"{v:,.0f} tok",
                             title="LLM tokens per model (no cost recorded)")
    research_cost = sum((ResearchCall.model_validate(e.payload).cost_usd for e in _of(shared, EventKind.RESEARCH_CALL)),
                        Decimal(0))

    results = sorted(postmortems.values(), key=lambda p: (-p.pnl, p.account_id))
    return {
        "week_id": week_id, "names": names, "colors": palette, "summary": summary, "offline": summary.offline
        if summary else any(c.offline for c in calls), "packs": packs, "research_failures": research_failures,
        "pitches": [(a, pitches[a]) for a in names if a in pitches], "failures": failures, "scores": scores,
        "decision": decision, "pitch_account": pitch_account, "heat_columns": columns,
        "heat_rows": list(zip([r.reviewer_account for r in reviews], heat_rows, strict=True)),
        "orders": _orders(events, names), "timeline_days": _day_spans(timeline_moments),
        "timeline_times": [_et(m, "%H:%M") for m in timeline_moments],
        "timeline": timeline, "equity_svg": equity_svg, "cost_svg": cost_svg, "cost_rows": cost_rows,
        "total_cost": total_cost, "research_cost": research_cost, "calls": len(calls), "results": results,
        "week_postmortem": week_pm, "run_at": _et(run_at, "%Y-%m-%d %H:%M") if run_at else None,
    }


def week_report_html(store: EventStore, settings: Settings, week_id: str) -> str:
    """One self-contained HTML page for the week (inline CSS and SVG; links only to research sources)."""
    return render("week.html.j2", **build_week(store, settings, week_id))

