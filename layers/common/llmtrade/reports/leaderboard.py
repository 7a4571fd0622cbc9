"""The cross-week page: cumulative return per model and council, the leaderboard, peer score vs
outcome."""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup

from llmtrade.config import Settings
from llmtrade.domain.leaderboard import (
    COUNCIL,
    FLAT,
    LeaderboardRow,
    leaderboard,
    weekly_return,
)
from llmtrade.events import EventLog
from llmtrade.ports import EventStore
from llmtrade.reports.render import account_names, colors, render
from llmtrade.reports.svg import FLAT_COLOR, Dot, Series, line_chart, scatter
from llmtrade.schemas import SHARED_ACCOUNT, AccountKind, Postmortem, WeekPostmortem


def _row_name(week: Postmortem, names: dict[str, str]) -> str:
    """The leaderboard's row for a settled account week (its grouping: PMs by model, council,
    FLAT)."""
    if week.kind is AccountKind.FLAT:
        return FLAT
    if week.kind is AccountKind.COUNCIL:
        return COUNCIL
    return names.get(week.model or "", week.model or week.account_id)


def build_leaderboard(store: EventStore, settings: Settings) -> dict[str, object]:
    log = EventLog(store)
    settled = log.history(Postmortem, [a.id for a in settings.accounts.accounts])
    names = model_names(settings)
    rows = leaderboard(settled, names)
    palette = colors(settings)
    color_of_row = {_row_name(p, names): palette.get(p.account_id, FLAT_COLOR) for p in settled}
    account_label = account_names(settings)
    week_records = log.history(WeekPostmortem, SHARED_ACCOUNT)
    legend = sorted({(account_label.get(p.account_id, p.account_id),
                      palette.get(p.account_id, FLAT_COLOR))
                     for p in settled if p.kind is AccountKind.PM})
    return {"rows": rows, "weeks": sorted(week_records, key=lambda w: w.week_id),
            "curves_svg": _curves(rows, settled, names, color_of_row),
            "scatter_svg": _scatter(settled, account_label, palette), "names": account_label,
            "legend": legend, "row_colors": color_of_row}


def _curves(rows: list[LeaderboardRow], settled: list[Postmortem], names: dict[str, str],
            color_of_row: dict[str, str]) -> Markup:
    """Cumulative return per row after each week, compounded like the leaderboard's, from 0 %
    before the first."""
    weeks = sorted({p.week_id for p in settled})
    series = []
    for row in rows:
        by_week = {p.week_id: p for p in settled if _row_name(p, names) == row.name}
        value, points = 1.0, [(0.0, 0.0)]
        for i, week in enumerate(weeks, 1):
            if week in by_week:
                value *= 1 + weekly_return(by_week[week])
                points.append((float(i), (value - 1) * 100))
        series.append(Series(row.name, points, color_of_row.get(row.name, FLAT_COLOR),
                             dashed=row.name == FLAT))
    return line_chart(series, [(0, "start"), *((float(i), w) for i, w in enumerate(weeks, 1))],
                      y_format=lambda v: f"{v:+.2f}%",
                      title="Cumulative return per model and council")


def _scatter(settled: list[Postmortem], account_label: dict[str, str],
             palette: dict[str, str]) -> Markup:
    """One dot per PM week with a peer score: the score against the week's P/L."""
    dots = [Dot(p.review_score, p.pnl_pct,
                f"{p.week_id} {account_label.get(p.account_id, p.account_id)}: "
                f"peer score {p.review_score:.2f}, P/L {p.pnl_pct:+.2f}%",
                palette.get(p.account_id, FLAT_COLOR))
            for p in settled if p.kind is AccountKind.PM and p.review_score is not None]
    return scatter(dots, x_title="peer-review score of the pitch (1-10)", y_title="week P/L %",
                   x_format=lambda v: f"{v:.1f}", y_format=lambda v: f"{v:+.2f}%",
                   title="Peer-review score vs the week's P/L, per PM and week")


def leaderboard_report_html(store: EventStore, settings: Settings) -> str:
    """One self-contained HTML page over every settled week in the store."""
    return render("leaderboard.html.j2", **build_leaderboard(store, settings))


def postmortems(store: EventStore, account_ids: Iterable[str]) -> list[Postmortem]:
    """Every settled week of these accounts, oldest first (account by account)."""
    return EventLog(store).history(Postmortem, account_ids)


def model_names(settings: Settings) -> dict[str, str]:
    """OpenRouter model id → the PM's configured name, for the leaderboard's rows."""
    return {pm.openrouter_model: pm.name for pm in settings.models.pms}
