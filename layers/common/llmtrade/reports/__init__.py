"""Reports people look at: self-contained HTML pages (inline CSS and SVG) built from the event
log."""

from llmtrade.reports.leaderboard import leaderboard_report_html
from llmtrade.reports.week import week_report_html

__all__ = ["leaderboard_report_html", "week_report_html"]
