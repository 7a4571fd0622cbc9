"""Views: what a week looks like, derived from its events, never a decision of its own.

`WeekSummary` is projected from the week's events by the week step (`steps.week.project_week`) and
recorded as the week's last event, which marks the weekly run complete; projecting the same events
again gives the same summary. `AccountWeek` is one account's row of it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from llmtrade.schemas.basics import AccountKind, Direction, Strict


class AccountWeek(Strict):
    account_id: str
    kind: AccountKind
    model: str | None
    instrument: str | None
    direction: Direction
    conviction: int
    conviction_now: int | None = Field(default=None,
                                       description="after the latest checkpoint, when one ran")
    last_checkpoint: str | None = Field(default=None, description="its time, action and reason")
    order_statuses: list[str] = Field(
        description="each order as last known: queued, filled at a price, rejected")
    equity: Decimal | None = Field(
        description="at the weekly run, from the account's week_open snapshot")
    holdings: list[str] = Field(description="positions held at the weekly run, e.g. 'SPY +54'")
    llm_cost_usd: Decimal
    note: str = ""


class WeekSummary(Strict):
    week_id: str
    asof_et: datetime
    offline: bool
    accounts: list[AccountWeek]
    llm_cost_usd: Decimal
    llm_calls: int
    research_cost_usd: Decimal = Decimal(0)
    # a research pack was produced after the run's moment + grace: kept, shown, never counted
    late: bool = False
