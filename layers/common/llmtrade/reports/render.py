"""The HTML templates' environment: autoescaped (model output is untrusted HTML), strict, with a few
filters."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from llmtrade import __version__
from llmtrade.config import Settings
from llmtrade.domain.calendar import ET
from llmtrade.reports.svg import FLAT_COLOR, PALETTE
from llmtrade.schemas import AccountKind


def account_names(settings: Settings) -> dict[str, str]:
    """Account id → what a person calls it: the PM's model name, the council, FLAT (in config
    order)."""
    pm_names = {pm.id: pm.name for pm in settings.models.pms}
    other = {AccountKind.COUNCIL: "Council", AccountKind.FLAT: "FLAT"}
    return {a.id: pm_names[a.pm or ""] if a.kind is AccountKind.PM else other[a.kind]
            for a in settings.accounts.accounts}


def colors(settings: Settings) -> dict[str, str]:
    """One stable color per account, FLAT grey, so every chart and table of a page agrees."""
    trading = [a.id for a in settings.trading_accounts]
    return {account: PALETTE[i % len(PALETTE)] for i, account in enumerate(trading)} | {
        a.id: FLAT_COLOR for a in settings.accounts.accounts if a.kind is AccountKind.FLAT}


def in_et(moment: datetime, pattern: str = "%a %m-%d %H:%M") -> str:
    """A moment as the page shows it: market time (ET)."""
    return moment.astimezone(ET).strftime(pattern)


def safe_url(url: str) -> str | None:
    """A research source's URL when it is a plain web link; never `javascript:` or `data:` from a
    model."""
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def money(value: Decimal | float | None, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+,.2f}" if sign else f"{value:,.2f}"


def conviction(value: int | None) -> str:
    return "-" if value is None else f"{value:+d}"


def tone(value: float | Decimal | int | None) -> str:
    """A CSS class for a signed number: up, down or even."""
    if value is None or value == 0:
        return "even"
    return "up" if value > 0 else "down"


def heat(score: float | None) -> str:
    """Background of a 1-10 score: red through yellow to green."""
    if score is None:
        return "#f3f4f6"
    hue = max(0.0, min(1.0, (score - 1) / 9)) * 120
    return f"hsl({hue:.0f} 70% 82%)"


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("llmtrade.reports", "templates"),
                      undefined=StrictUndefined,
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=money, conviction=conviction, tone=tone, heat=heat, safe_url=safe_url)
    env.globals["version"] = __version__
    return env


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)
