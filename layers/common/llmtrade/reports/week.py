"""The week's report, built from one read of the week's events, a section of the page at a time.

Each section function returns its part of the template's context: the headline and results here,
the council's (`week_council`) and the trading ones (`week_trading`: equity, conviction timeline,
orders).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from markupsafe import Markup

from llmtrade.config import Settings
from llmtrade.events import EventLog, Week
from llmtrade.ports import EventStore
from llmtrade.reports.render import account_names, colors, in_et, render
from llmtrade.reports.svg import bar_chart
from llmtrade.reports.week_council import council_section
from llmtrade.reports.week_trading import (
    equity_section,
    moments,
    orders_section,
    run_moment,
    timeline_section,
)
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    LLMCallRecord,
    Postmortem,
    ResearchCall,
    ResearchFailure,
    ResearchPack,
    WeekPostmortem,
    WeekSummary,
)

CostRow = tuple[str, int, int, int, Decimal]  # model, calls, prompt tokens, completion tokens, cost


def build_week(store: EventStore, settings: Settings, week_id: str) -> dict[str, object]:
    """Everything the week template shows. Raises LookupError when the store has no such week."""
    week = EventLog(store).week(week_id)
    if not week.events:
        raise LookupError(f"no events for week {week_id}")
    names, palette = account_names(settings), colors(settings)
    summary = week.get(WeekSummary, SHARED_ACCOUNT)
    run_at = run_moment(week, summary.asof_et if summary else None)
    return {
        "week_id": week_id, "names": names, "colors": palette,
        **headline_section(week, summary, run_at), **council_section(week, names),
        **equity_section(week, moments(week, run_at), settings, names, palette),
        **timeline_section(week, settings, names, palette), **orders_section(week, names),
        **cost_section(week), **research_section(week),
    }


def headline_section(week: Week, summary: WeekSummary | None,
                     run_at: datetime | None) -> dict[str, object]:
    """When the week ran and settled, whether offline, and its results (best first) or else its
    positions."""
    return {
        "summary": summary, "week_postmortem": week.get(WeekPostmortem, SHARED_ACCOUNT),
        "offline": summary.offline if summary else any(c.offline for c in week.all(LLMCallRecord)),
        "results": sorted(week.by_account(Postmortem).values(),
                          key=lambda p: (-p.pnl, p.account_id)),
        "run_at": in_et(run_at, "%Y-%m-%d %H:%M") if run_at else None,
    }


def _cost_rows(calls: list[LLMCallRecord]) -> list[CostRow]:
    """Per model asked: calls, tokens and cost, the most expensive first."""
    by_model: dict[str, list[LLMCallRecord]] = defaultdict(list)
    for call in calls:
        by_model[call.model_requested].append(call)
    return sorted(((model, len(group), sum(c.prompt_tokens for c in group),
                    sum(c.completion_tokens for c in group),
                    sum((c.cost_usd for c in group), Decimal(0)))
                   for model, group in by_model.items()),
                  key=lambda r: (-r[4], -r[2] - r[3], r[0]))


def _cost_chart(rows: list[CostRow], total: Decimal) -> Markup:
    if total:
        return bar_chart([(r[0], float(r[4])) for r in rows], value_format=lambda v: f"${v:.4f}",
                         title="LLM cost per model (USD)")
    # offline calls cost nothing: the tokens still show who did the work
    return bar_chart([(r[0], float(r[2] + r[3])) for r in rows],
                     value_format=lambda v: f"{v:,.0f} tok",
                     title="LLM tokens per model (no cost recorded)")


def cost_section(week: Week) -> dict[str, object]:
    calls = week.all(LLMCallRecord)
    rows = _cost_rows(calls)
    total = sum((r[4] for r in rows), Decimal(0))
    return {"cost_svg": _cost_chart(rows, total), "cost_rows": rows, "total_cost": total,
            "calls": len(calls),
            "research_cost": sum((c.cost_usd for c in week.all(ResearchCall, SHARED_ACCOUNT)),
                                 Decimal(0))}


def research_section(week: Week) -> dict[str, object]:
    return {"packs": week.all(ResearchPack, SHARED_ACCOUNT),
            "research_failures": week.all(ResearchFailure, SHARED_ACCOUNT)}


def week_report_html(store: EventStore, settings: Settings, week_id: str) -> str:
    """One self-contained HTML page for the week (inline CSS and SVG; links only to research
    sources)."""
    return render("week.html.j2", **build_week(store, settings, week_id))
