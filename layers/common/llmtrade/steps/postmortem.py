"""Settling a week: per-account postmortems and the week's one (SPEC §3.1, §5).

A week is settled at the next weekly run (Wednesday 08:00 ET, before that run trades): its P/L is
the broker's equity change from the week's own run to then, so consecutive weeks chain exactly and
their sum is the account's whole equity change. The last week of a local replay is settled by the
CLI at the following Wednesday with `settle_week`. Event ids are (week, account, kind): a rerun
finds the stored postmortems and stores nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from llmtrade.config import Account
from llmtrade.domain.attribution import (
    carry_pnl,
    equity_at,
    fills_of,
    gross_usd,
    held_after,
    traded_usd,
)
from llmtrade.domain.calendar import parse_week_id
from llmtrade.domain.reviews import aggregate
from llmtrade.domain.shadows import VIRTUAL_ACCOUNTS, legs_of
from llmtrade.domain.sizing import target_shares
from llmtrade.domain.statistics import spearman
from llmtrade.domain.virtual_book import Leg, Moments, Rules, run_week
from llmtrade.events import Week
from llmtrade.mechanics.orders import placed_by
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    AccountKind,
    BrokerOrder,
    ChairmanDecision,
    CheckpointAction,
    CheckpointUpdate,
    LLMCallRecord,
    OrderEvent,
    OrderFinal,
    PeerReview,
    Pitch,
    PositionSnapshot,
    Postmortem,
    ResearchCall,
    ReviewAggregate,
    VirtualLeg,
    VirtualWeek,
    WeekPostmortem,
)
from llmtrade.services import Services

CENT = Decimal("0.01")


def settle_previous_week(services: Services, run: WeekRun) -> dict[str, Any]:
    """The weekly run's first step: settle the week before this one, if it had a weekly run."""
    previous = (parse_week_id(run.week_id) - timedelta(days=7)).isoformat()
    return settle_week(services, previous, run.asof)


def settle_week(services: Services, week_id: str, at: datetime) -> dict[str, Any]:
    """Postmortems of `week_id`'s accounts at `at`, and the week's; none if the week had no run."""
    week = services.events.week(week_id)
    snapshots = week.by_account(PositionSnapshot, subject="week_open")
    accounts = [a for a in services.settings.accounts.accounts if a.id in snapshots]
    if not accounts:
        return {"week_id": week_id, "settled": []}
    if at < (opened_at := max(s.at for s in snapshots.values())):
        raise ValueError(f"week {week_id} cannot be settled at {at.isoformat()}, "
                         f"before its run at {opened_at.isoformat()}")
    stored = week.by_account(Postmortem)
    settled = week.find(WeekPostmortem, SHARED_ACCOUNT)
    _settle_virtual(services, week_id, week, snapshots, at)
    if settled is None or any(a.id not in stored for a in accounts):
        _settle_accounts(services, week_id, week, accounts, snapshots, stored, at)
        if settled is None:
            settled = services.events.record(
                _week_postmortem(week_id, at, list(stored.values()), week),
                week_id=week_id, account_id=SHARED_ACCOUNT)
    return {"week_id": week_id, "settled": sorted(stored), "event_id": settled.event_id}


def _settle_accounts(services: Services, week_id: str, week: Week, accounts: list[Account],
                     snapshots: dict[str, PositionSnapshot], stored: dict[str, Postmortem],
                     at: datetime) -> None:
    """Record the postmortems not stored yet (into `stored` too), each P/L also against FLAT's."""
    outcomes = {a.id: stored.get(a.id)
                or _settle_account(services, week, snapshots[a.id], a.kind, at)
                for a in accounts}
    flat_pnl = next((o.pnl for o in outcomes.values() if o.kind is AccountKind.FLAT), Decimal(0))
    for account_id, outcome in outcomes.items():
        if account_id not in stored:
            outcome = outcome.model_copy(update={"pnl_vs_flat": outcome.pnl - flat_pnl})
            stored[account_id] = outcome
            services.events.record(outcome, week_id=week_id, account_id=account_id)


def _settle_account(services: Services, week: Week, opened: PositionSnapshot, kind: AccountKind,
                    at: datetime) -> Postmortem:
    settings, account_id = services.settings, opened.account_id
    equity_end = _equity_end(services, account_id, kind, at)
    updates = _checkpoints(week, account_id, at)
    pitch = week.get(Pitch, account_id)
    pnl = equity_end - opened.equity
    split = {} if kind is AccountKind.FLAT else _attribution(services, week, opened, updates, at)
    return Postmortem(
        week_id=opened.week_id, account_id=account_id, kind=kind,
        model=pitch.model if pitch else settings.model_of(account_id), settled_at=at,
        equity_start=opened.equity, equity_end=equity_end, pnl=pnl,
        pnl_pct=_pnl_pct(pnl, opened.equity),
        pnl_vs_flat=pnl,  # made relative once FLAT's P/L is known
        instrument=opened.target_instrument, direction=opened.target_direction,
        conviction=opened.conviction,
        final_conviction=updates[-1].conviction_after if updates else opened.conviction,
        thesis_played_out=_played_out(services, opened, at),
        review_score=_review_score(week, account_id, kind),
        llm_cost_usd=_cost(week.all(LLMCallRecord, account_id)),
        notes=opened.note, **_checkpoint_signals(updates), **split,
    )


def _equity_end(services: Services, account_id: str, kind: AccountKind, at: datetime) -> Decimal:
    """The account's equity at `at`: the broker's, but FLAT never trades: its starting cash."""
    if kind is AccountKind.FLAT:
        return Decimal(str(services.settings.risk.starting_equity_usd)).quantize(CENT)
    return services.broker_at(at).account(account_id).equity


def _pnl_pct(pnl: Decimal, equity_start: Decimal) -> float:
    return round(float(pnl / equity_start * 100), 4) if equity_start else 0.0


def _checkpoint_signals(updates: list[CheckpointUpdate]) -> dict[str, Any]:
    """What the week's checkpoints saw: the indicators that fired (first-fired order), whether an
    invalidating one did, and whether the position was flipped."""
    fired = [r for u in updates for r in u.indicators if r.fired]
    return {"indicators_fired": list(dict.fromkeys(r.indicator.name for r in fired)),
            "invalidation_fired": any(r.indicator.role == "invalidates" for r in fired),
            "flipped": any(u.action is CheckpointAction.FLIP for u in updates)}


def _attribution(services: Services, week: Week, opened: PositionSnapshot,
                 updates: list[CheckpointUpdate], at: datetime) -> dict[str, Any]:
    """Carry P/L (decision P/L is the rest), the checkpoint equity marks, turnover and the
    position's gross value at entry, from the week's fills and market prices."""
    run_orders, later_orders = _orders(services, week, opened.account_id, at)
    opening = [f for f in fills_of(run_orders) if f.at <= at]
    fills = sorted(opening + [f for f in fills_of(later_orders) if f.at <= at], key=lambda f: f.at)
    entry = min((f.at for f in opening), default=None) or services.market.next_open(opened.at)

    def price_at(moment: datetime) -> Callable[[str], Decimal]:
        return lambda symbol: services.market.price(symbol, moment)

    marks = [equity_at(opened.cash, opened.positions, [f for f in fills if f.at < u.at],
                       price_at(u.at)) for u in updates]
    return {"carry_pnl": carry_pnl(opened.positions, opening, price_at(entry)),
            "checkpoint_equity": marks, "traded_usd": traded_usd(fills),
            "gross_exposure_usd": gross_usd(held_after(opened.positions, opening),
                                            price_at(entry))}


def _orders(services: Services, week: Week, account_id: str,
            at: datetime) -> tuple[list[BrokerOrder], list[BrokerOrder]]:
    """The week's orders as they ended (the recorded final state, else the broker's answer): the
    weekly run's, then the checkpoints'."""
    finals = week.by_subject(OrderFinal, account_id)
    broker = services.broker_at(at)
    run: list[BrokerOrder] = []
    later: list[BrokerOrder] = []
    for entry in week.entries(OrderEvent, account_id):
        if entry.payload.broker_order is None:
            continue
        final = finals.get(entry.subject)
        order = (final.broker_order if final
                 else broker.order_by_client_id(account_id, entry.subject))
        if order is not None:
            by_run = placed_by(entry.subject, account_id, entry.payload.week_id, None)
            (run if by_run else later).append(order)
    return run, later


def _settle_virtual(services: Services, week_id: str, week: Week,
                    snapshots: dict[str, PositionSnapshot], at: datetime) -> None:
    """The benchmarks' and shadows' weeks not recorded yet (labelled virtual, never traded)."""
    missing = [a for a in VIRTUAL_ACCOUNTS if week.find(VirtualWeek, a) is None]
    if not missing:
        return
    market, settings = services.market, services.settings
    run = max(s.at for s in snapshots.values())
    moments = Moments(run=run, entry=market.next_open(run), settlement=at,
                      checkpoints=tuple(sorted({u.at for u in week.all(CheckpointUpdate)})))
    price = _asked_once(market.price)
    pitches = sorted(week.all(Pitch), key=lambda p: p.idea_id)
    overall = {a.idea_id: a.overall
               for a in aggregate([p.idea_id for p in pitches], week.all(PeerReview))}
    gross = _average_gross(_pm_runs(services, snapshots), lambda symbol: price(symbol, run))
    evaluation = settings.risk.evaluation
    rules = Rules(settings.risk.checkpoint.stop_loss_pct, settings.risk.checkpoint.reduce_loss_pct)
    for account_id in missing:
        legs = legs_of(account_id, pitches, overall, symbols=settings.assets.symbols,
                       gross_usd=gross, budget_usd=settings.risk.risk_budget_usd,
                       seed=evaluation.random_seed, week_id=week_id,
                       entry_price=lambda symbol: price(symbol, moments.entry))
        start = _virtual_start(services, week_id, account_id)
        interest = (_tbill_interest(start, Decimal(str(evaluation.tbill_rate_pct)), run, at)
                    if account_id == "bench-tbill" else Decimal(0))
        book = run_week(legs, start, moments, price, rules, interest)
        kind, description = VIRTUAL_ACCOUNTS[account_id]
        services.events.record(VirtualWeek(
            week_id=week_id, account_id=account_id, kind=kind, description=description,
            settled_at=at, entry_at=moments.entry, equity_start=start,
            equity_end=book.equity_end, pnl=book.equity_end - start,
            legs=_virtual_legs(legs, lambda symbol: price(symbol, run)),
            checkpoint_equity=book.marks, traded_usd=book.traded_usd,
            gross_exposure_usd=book.gross_usd), week_id=week_id, account_id=account_id)


def _asked_once(
        price: Callable[[str, datetime], Decimal]) -> Callable[[str, datetime], Decimal]:
    """`price`, asked once per (symbol, moment)."""
    prices: dict[tuple[str, datetime], Decimal] = {}

    def cached(symbol: str, moment: datetime) -> Decimal:
        if (symbol, moment) not in prices:
            prices[(symbol, moment)] = price(symbol, moment)
        return prices[(symbol, moment)]

    return cached


def _pm_runs(services: Services,
             snapshots: dict[str, PositionSnapshot]) -> list[PositionSnapshot]:
    """The PM accounts' snapshots at the week's run."""
    return [s for a, s in snapshots.items()
            if services.settings.account_by_id[a].kind is AccountKind.PM]


def _tbill_interest(start: Decimal, rate_pct: Decimal, run: datetime, at: datetime) -> Decimal:
    """Simple interest on `start` at `rate_pct` a year (of 365 days) from `run` to `at`."""
    return start * rate_pct / 100 * Decimal((at - run).total_seconds()) / (365 * 86400)


def _virtual_legs(legs: list[Leg], price_at_run: Callable[[str], Decimal]) -> list[VirtualLeg]:
    """The legs as recorded: a leg's shares at entry, else those its conviction aims for at the
    run's price."""
    return [VirtualLeg(symbol=leg.symbol, conviction=leg.conviction,
                       shares_at_entry=leg.shares or target_shares(
                           leg.conviction, leg.budget_usd, price_at_run(leg.symbol)))
            for leg in legs]


def _average_gross(pm_runs: list[PositionSnapshot],
                   price: Callable[[str], Decimal]) -> Decimal:
    """The PM accounts' mean position value aimed for at the run (a FLAT PM counts as 0)."""
    values = [abs(s.target_qty) * price(s.target_instrument) if s.target_instrument else Decimal(0)
              for s in pm_runs]
    return sum(values, Decimal(0)) / len(values) if values else Decimal(0)


def _virtual_start(services: Services, week_id: str, account_id: str) -> Decimal:
    """Where last week's virtual week ended, else the configured starting equity."""
    previous = (parse_week_id(week_id) - timedelta(days=7)).isoformat()
    before = services.events.get(VirtualWeek, previous, account_id)
    return before.equity_end if before else Decimal(
        str(services.settings.risk.starting_equity_usd)).quantize(CENT)


def _checkpoints(week: Week, account_id: str, at: datetime) -> list[CheckpointUpdate]:
    """The account's checkpoint updates up to `at`, in market time."""
    return [u for u in sorted(week.all(CheckpointUpdate, account_id), key=lambda u: u.at)
            if u.at <= at]


def _cost(calls: list[LLMCallRecord] | list[ResearchCall]) -> Decimal:
    return sum((call.cost_usd for call in calls), Decimal(0))


def _played_out(services: Services, opened: PositionSnapshot, at: datetime) -> bool | None:
    """Did the instrument move the position's way between the week's entry (the open after its
    run) and the settlement?"""
    if opened.target_instrument is None or opened.conviction == 0:
        return None
    entry = services.market.next_open(opened.at)
    move = (services.market.price(opened.target_instrument, at)
            - services.market.price(opened.target_instrument, entry))
    return move * opened.conviction > 0


def _review_score(week: Week, account_id: str, kind: AccountKind) -> float | None:
    """The peer-review overall of the account's pitch; for the council, of the best-scored pitch on
    the trade the chairman picked (the idea it backed). None without a reviewed pitch."""
    pitches = week.by_account(Pitch)
    scored = [a for a in aggregate([p.idea_id for p in pitches.values()], week.all(PeerReview))
              if a.reviews]
    if kind is AccountKind.PM:
        idea = pitches[account_id].idea_id if account_id in pitches else None
        return next((a.overall for a in scored if a.idea_id == idea), None)
    if kind is AccountKind.COUNCIL:
        return _backed_score(week.get(ChairmanDecision, account_id), pitches, scored)
    return None


def _backed_score(decision: ChairmanDecision | None, pitches: dict[str, Pitch],
                  scored: list[ReviewAggregate]) -> float | None:
    if decision is None:
        return None
    trade = decision.selected_trade
    picked = (trade.instrument, trade.direction)
    backing = {p.idea_id for p in pitches.values() if (p.instrument, p.direction) == picked}
    return next((a.overall for a in scored if a.idea_id in backing), None)  # best first


def _week_postmortem(week_id: str, at: datetime, outcomes: list[Postmortem],
                     week: Week) -> WeekPostmortem:
    ranked = sorted(outcomes, key=lambda o: (-o.decision_pnl, o.account_id))
    decision = {o.account_id: o.decision_pnl for o in ranked}
    scores = {o.account_id: o.review_score for o in outcomes
              if o.kind is AccountKind.PM and o.review_score is not None}
    return WeekPostmortem(
        week_id=week_id, settled_at=at, ranking=list(decision),
        pnl_by_account={o.account_id: o.pnl for o in ranked}, decision_pnl_by_account=decision,
        review_scores=scores,
        score_pnl_spearman=spearman(list(scores.values()),
                                    [float(decision[account]) for account in scores]),
        llm_cost_usd=_cost(week.all(LLMCallRecord)),
        research_cost_usd=_cost(week.all(ResearchCall)),
    )
