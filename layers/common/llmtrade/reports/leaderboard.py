"""The cross-week page: cumulative return per model and council, the leaderboard, peer score vs outcome."""

from __future__ import annotations

from collections.abc import Iterable

from llmtrade.config import Settings
from llmtrade.domain.leaderboard import COUNCIL, FLAT, leaderboard, weekly_return
from llmtrade.ports import EventStore
from llmtrade.reports.render import account_names, colors, render
from llmtrade.reports.svg import FLAT_COLOR, Dot, Series, line_chart, scatter
from llmtrade.schemas import SHARED_ACCOUNT, EventKind, Postmortem, WeekPostmortem


def _row_name(week: Postmortem, names: dict[str, str]) -> str:
    """The leaderboard's row for a settled account week (its grouping: PMs by model, council, FLAT)."""
    if week.kind == "flat":
        return FLAT
    if week.kind == "council":
        return COUNCIL
    return names.get(week.model or "", week.model or week.account_id)


def build_leaderboard(store: EventStore, settings: Settings) -> dict[str, object]:
    settled = postmortems(store, [a.id for a in settings.accounts.accounts])
    names = model_names(settings)
    rows = leaderboard(settled, names)
    weeks = sorted({p.week_id for p in settled})
    palette = colors(settings)
    color_of_row = {_row_name(p, names): palette.get(p.account_id, FLAT_COLOR) for p in settled}

    # cumulative return per row after each week, compounded like the leaderboard's, from 0 % before the first
    series = []
    for row in rows:
        by_week = {p.week_id: p for p in settled if _row_name(p, names) == row.name}
        value, points = 1.0, [(0.0, 0.0)]
        for i, week in enumerate(weeks, 1):
            if week in by_week:
                value *= 1 + weekly_return(by_week[week])
                points.append((float(i), (value - 1) * 100))
        series.append(Series(row.name, points, color_of_row.get(row.name, FLAT_COLOR), dashed=row.name == FLAT))
    curves_svg = line_chart(series, [(0, "start"), *((float(i), w) for i, w in enumerate(weeks, 1))],
                            y_format=lambda v: f"{v:+.2f}%", title="Cumulative return per model and council")

    account_label = account_names(settings)
    dots = [Dot(p.review_score, p.pnl_pct, f"{p.week_id} {account_label.get(p.account_id, p.account_id)}: "
                f"peer score {p.review_score:.2f}, P/L {p.pnl_pct:+.2f}%", palette.get(p.account_id, FLAT_COLOR))
            for p in settled if p.kind == "pm" and p.review_score is not None]
    scatter_svg = scatter(dots, x_title="peer-review score of the pitch (1-10)", y_title="week P/L %",
                          x_format=lambda v: f"{v:.1f}", y_format=lambda v: f"{v:+.2f}%",
                          title="Peer-review score vs the week's P/L, per PM and week")
    week_records = [WeekPostmortem.model_validate(e.payload)
                    for e in store.list_account(SHARED_ACCOUNT, EventKind.WEEK_POSTMORTEM)]
    legend = sorted({(account_label.get(p.account_id, p.account_id), palette.get(p.account_id, FLAT_COLOR))
                     for p in settled if p.kind == "pm"})
    return {"rows": rows, "weeks": sorted(week_records, key=lambda w: w.week_id), "curves_svg": curves_svg,
            "scatter_svg": scatter_svg, "names": account_label, "legend": legend, "row_colors": color_of_row}


def leaderboard_report_html(store: EventStore, settings: Settings) -> str:
    """One self-contained HTML page over every settled week in the store."""
    return render("leaderboard.html.j2", **build_leaderboard(store, settings))


def postmortems(store: EventStore, account_ids: Iterable[str]) -> list[Postmortem]:
    """Every settled week of these accounts, oldest first."""
    return [Postmortem.model_validate(e.payload) for account_id in account_ids
            for e in store.list_account(account_id, EventKind.POSTMORTEM)]


def model_names(settings: Settings) -> dict[str, str]:
    """OpenRouter model id → the PM's configured name, for the leaderboard's rows."""
    return {pm.openrouter_model: pm.name for pm in settings.models.pms}
