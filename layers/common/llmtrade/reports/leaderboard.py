"""The cross-week page: cumulative return per model and council, the leaderboard, peer score vs
outcome."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from markupsafe import Markup

from llmtrade.config import Settings
from llmtrade.domain.calibration import OVERALL, Sample, calibrate
from llmtrade.domain.evaluation import LATE, Board, evaluate
from llmtrade.domain.leaderboard import (
    COUNCIL,
    FLAT,
    LeaderboardRow,
    Outcome,
    outcome_of,
    virtual_outcome,
)
from llmtrade.domain.reviews import aggregate
from llmtrade.domain.shadows import VIRTUAL_ACCOUNTS
from llmtrade.events import EventLog
from llmtrade.ports import EventStore
from llmtrade.reports.render import account_names, colors, render
from llmtrade.reports.svg import FLAT_COLOR, Dot, Series, line_chart, scatter
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    AccountKind,
    PeerReview,
    Pitch,
    Postmortem,
    VirtualWeek,
    WeekPostmortem,
    WeekSummary,
)


def _row_name(week: Postmortem, names: dict[str, str]) -> str:
    """The leaderboard's row for a settled account week (its grouping: PMs by model, council,
    FLAT)."""
    if week.kind is AccountKind.FLAT:
        return FLAT
    if week.kind is AccountKind.COUNCIL:
        return COUNCIL
    return names.get(week.model or "", week.model or week.account_id)


def _charged(week: Postmortem, totals: WeekPostmortem | None) -> Decimal:
    """What a row's week cost: a PM its own calls, the council every call of the week (it needs
    the pitches and reviews too), each of them the week's shared research; FLAT nothing."""
    if week.kind is AccountKind.FLAT:
        return Decimal(0)
    research = totals.research_cost_usd if totals else Decimal(0)
    own = totals.llm_cost_usd if totals and week.kind is AccountKind.COUNCIL else week.llm_cost_usd
    return own + research


def _one_kind(log: EventLog, settings: Settings) -> tuple[list[Postmortem], bool, dict[str, str]]:
    """The settled weeks of one kind that count: the live ones if there are any, else the offline
    ones (a week is offline when its summary says so), none of them late; with whether they are
    offline and the settled weeks left out, with why (the other kind is never pooled)."""
    settled = log.history(Postmortem, [a.id for a in settings.accounts.accounts])
    summaries = log.history(WeekSummary, SHARED_ACCOUNT)
    offline_weeks = {s.week_id for s in summaries if s.offline}
    late_weeks = {s.week_id for s in summaries if s.late}
    live = any(p.week_id not in offline_weeks for p in settled)
    of_kind = [p for p in settled if (p.week_id not in offline_weeks) == live]
    other = "offline" if live else "live"
    excluded = {w: f"{other} week: never pooled with {'live' if live else 'offline'} ones"
                for w in {p.week_id for p in settled} - {p.week_id for p in of_kind}}
    excluded |= {w: LATE for w in {p.week_id for p in of_kind} & late_weeks}
    return [p for p in of_kind if p.week_id not in late_weeks], not live, excluded


def _outcomes(log: EventLog, settings: Settings) -> tuple[list[Outcome], list[Postmortem], Board]:
    """The real and virtual account-weeks that count, the real ones, and their board."""
    settled, offline, excluded = _one_kind(log, settings)
    chosen = {p.week_id for p in settled}
    totals = {w.week_id: w for w in log.history(WeekPostmortem, SHARED_ACCOUNT)}
    outcomes = [outcome_of(p, _charged(p, totals.get(p.week_id))) for p in settled]
    outcomes += [virtual_outcome(v) for v in log.history(VirtualWeek, list(VIRTUAL_ACCOUNTS))
                 if v.week_id in chosen]
    result = evaluate(outcomes, model_names(settings), offline=offline, excluded=excluded,
                      calibration=calibrate(_samples(log, settled)))
    return outcomes, settled, result


def _samples(log: EventLog, settled: list[Postmortem]) -> list[Sample]:
    """A calibration sample per PM or council week: its conviction, decision return and, for a
    PM, its pitch's peer-review scores (each week's events read once)."""
    samples = []
    for week_id in sorted({p.week_id for p in settled}):
        week = log.week(week_id)
        pitches = week.by_account(Pitch)
        reviewed = {a.idea_id: {OVERALL: a.overall, **a.mean_scores}
                    for a in aggregate([p.idea_id for p in pitches.values()],
                                       week.all(PeerReview)) if a.reviews}
        for p in settled:
            if p.week_id != week_id or p.kind is AccountKind.FLAT or not p.equity_start:
                continue
            idea = pitches[p.account_id].idea_id if p.account_id in pitches else None
            scores = reviewed.get(idea, {}) if p.kind is AccountKind.PM and idea else {}
            samples.append(Sample(p.conviction, float(p.decision_pnl / p.equity_start), scores))
    return samples


def board(store: EventStore, settings: Settings) -> Board:
    """The leaderboard, its comparisons and verdict over the settled weeks of one kind."""
    return _outcomes(EventLog(store), settings)[2]


def build_leaderboard(store: EventStore, settings: Settings) -> dict[str, object]:
    log = EventLog(store)
    outcomes, settled, result = _outcomes(log, settings)
    rows = result.rows
    names = model_names(settings)
    chosen_weeks = {p.week_id for p in settled}
    palette = colors(settings)
    color_of_row = {_row_name(p, names): palette.get(p.account_id, FLAT_COLOR) for p in settled}
    account_label = account_names(settings)
    week_records = [w for w in log.history(WeekPostmortem, SHARED_ACCOUNT)
                    if w.week_id in chosen_weeks]
    legend = sorted({(account_label.get(p.account_id, p.account_id),
                      palette.get(p.account_id, FLAT_COLOR))
                     for p in settled if p.kind is AccountKind.PM})
    return {"board": result, "rows": rows,
            "weeks": sorted(week_records, key=lambda w: w.week_id),
            "curves_svg": _curves(rows, outcomes, names, color_of_row),
            "scatter_svg": _scatter(settled, account_label, palette), "names": account_label,
            "legend": legend, "row_colors": color_of_row, "interval_bars": _bars(rows)}


def _bars(rows: list[LeaderboardRow]) -> dict[str, dict[str, float]]:
    """Where each row's interval, mean and zero sit on one shared scale, in % of the bar."""
    ends = [v for r in rows if r.ci95 for v in r.ci95] + [0.0]
    low, high = min(ends), max(ends)
    span = (high - low) or 1.0

    def at(value: float) -> float:
        return round((value - low) / span * 100, 2)

    return {r.name: {"left": at(r.ci95[0]), "width": round(at(r.ci95[1]) - at(r.ci95[0]), 2),
                     "mean": at(r.mean_weekly_return or 0.0), "zero": at(0.0)}
            for r in rows if r.ci95}


def _curves(rows: list[LeaderboardRow], outcomes: list[Outcome], names: dict[str, str],
            color_of_row: dict[str, str]) -> Markup:
    """Cumulative return per row after each week, compounded like the leaderboard's, from 0 %
    before the first; FLAT and the virtual rows dashed."""
    weeks = sorted({o.week_id for o in outcomes})
    series = []
    for row in rows:
        by_week = {o.week_id: o for o in outcomes if names.get(o.group, o.group) == row.name}
        value, points = 1.0, [(0.0, 0.0)]
        for i, week in enumerate(weeks, 1):
            if week in by_week and by_week[week].equity_start:
                value *= 1 + float(by_week[week].pnl / by_week[week].equity_start)
                points.append((float(i), (value - 1) * 100))
        series.append(Series(row.name, points, color_of_row.get(row.name, FLAT_COLOR),
                             dashed=row.name == FLAT or row.virtual))
    return line_chart(series, [(0, "start"), *((float(i), w) for i, w in enumerate(weeks, 1))],
                      y_format=lambda v: f"{v:+.2f}%",
                      title="Cumulative return per model and council")


def _scatter(settled: list[Postmortem], account_label: dict[str, str],
             palette: dict[str, str]) -> Markup:
    """One dot per PM week with a peer score: the score against the week's decision return."""
    dots = [Dot(p.review_score, _decision_pct(p),
                f"{p.week_id} {account_label.get(p.account_id, p.account_id)}: "
                f"peer score {p.review_score:.2f}, decision P/L {_decision_pct(p):+.2f}%",
                palette.get(p.account_id, FLAT_COLOR))
            for p in settled if p.kind is AccountKind.PM and p.review_score is not None]
    return scatter(dots, x_title="peer-review score of the pitch (1-10)",
                   y_title="week decision P/L %",
                   x_format=lambda v: f"{v:.1f}", y_format=lambda v: f"{v:+.2f}%",
                   title="Peer-review score vs the week's decision P/L, per PM and week")


def _decision_pct(week: Postmortem) -> float:
    return float(week.decision_pnl / week.equity_start * 100) if week.equity_start else 0.0


def leaderboard_report_html(store: EventStore, settings: Settings) -> str:
    """One self-contained HTML page over every settled week in the store."""
    return render("leaderboard.html.j2", **build_leaderboard(store, settings))


def postmortems(store: EventStore, account_ids: Iterable[str]) -> list[Postmortem]:
    """Every settled week of these accounts, oldest first (account by account)."""
    return EventLog(store).history(Postmortem, account_ids)


def model_names(settings: Settings) -> dict[str, str]:
    """OpenRouter model id → the PM's configured name, for the leaderboard's rows."""
    return {pm.openrouter_model: pm.name for pm in settings.models.pms}
