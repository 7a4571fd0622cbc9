"""Reports people look at: self-contained HTML pages (inline CSS and SVG) built from the event log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmtrade.reports.leaderboard import leaderboard_report_html
from llmtrade.reports.week import week_report_html

if TYPE_CHECKING:
    from llmtrade.adapters.report_store import ReportStore
    from llmtrade.services import Services


def publish_week_report(services: Services, week_id: str, reports: ReportStore) -> str:
    """Render the week's page from its events, store it, and return the URL to open it (presigned on S3)."""
    return reports.publish(f"weeks/{week_id}.html", week_report_html(services.store, services.settings, week_id))


def publish_leaderboard(services: Services, reports: ReportStore) -> str:
    """The cross-week page, under one key (each publication replaces the last)."""
    return reports.publish("leaderboard.html", leaderboard_report_html(services.store, services.settings))


__all__ = ["leaderboard_report_html", "publish_leaderboard", "publish_week_report", "week_report_html"]
